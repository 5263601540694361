//! User search: handle prefix and display-name word prefix, best match first.

use crate::error::UsersError;
use scooter_core::UserId;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::search::normalize_query;
use scooter_core::user::User;
use scooter_store::{SearchKey, Store};

/// One page of users matching `q`, as `viewer` may see them.
pub async fn search(
    store: &dyn Store,
    viewer: &UserId,
    q: &str,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<User>, UsersError> {
    let prefix = normalize_query(q)?;
    let after: Option<SearchKey> = cursor.map(decode_cursor).transpose()?;
    let hits = store
        .search_users(viewer, &prefix, after.as_ref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(hits, limit, |h| h.key.clone()).map(|h| h.user))
}
