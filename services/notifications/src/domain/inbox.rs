//! My notifications: the list, the unread count, marking read.

use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::{Timestamp, UserId, ValidationError};
use scooter_store::{ListedNotification, Store, StoreError};

/// Most ids one `POST /notifications/read` may name.
pub const MAX_READ_IDS: usize = 100;

/// Why an inbox call failed.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// My notifications with their actors and previews, newest first.
pub async fn list(
    store: &dyn Store,
    me: &UserId,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<ListedNotification>, InboxError> {
    let before: Option<String> = cursor.map(decode_cursor).transpose()?;
    let rows = store
        .list_notifications(me, before.as_deref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(rows, limit, |l| l.notification.id.clone()))
}

/// Marks some of my notifications read; others' ids change nothing.
pub async fn read(store: &dyn Store, me: &UserId, ids: &[String]) -> Result<u64, InboxError> {
    if ids.len() > MAX_READ_IDS {
        return Err(
            ValidationError::new("ids", format!("at most {MAX_READ_IDS} ids at a time")).into(),
        );
    }
    Ok(store.mark_read(me, ids, Timestamp::now()).await?)
}
