//! Access patterns of in-app notifications. Notifications are written by the use case
//! that causes them (a follow, a comment, …) in the same transaction, together with the
//! push job that delivers them when the recipient wants push.

use crate::StoreResult;
use scooter_core::notification::Notification;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};

/// A notification as the list shows it, read in one statement: with its actor and a
/// preview of the post and comment it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedNotification {
    /// The notification.
    pub notification: Notification,
    /// Who did it.
    pub actor: User,
    /// The post's text, when it is about a post.
    pub post_text: Option<String>,
    /// The key of the thumbnail of the post's first media, if it has any.
    pub post_thumb_key: Option<String>,
    /// The comment's text, when it is about a comment.
    pub comment_text: Option<String>,
}

/// In-app notifications.
#[async_trait::async_trait]
pub trait NotificationStore: Send + Sync {
    /// A user's notifications with their actors and previews, newest first, before the
    /// id `before`, without those whose actor is suspended or has a block either way
    /// with the user.
    async fn list_notifications(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ListedNotification>>;

    /// How many of those are unread.
    async fn unread_count(&self, user: &UserId) -> StoreResult<i64>;

    /// Marks these of the user's notifications read; ids of others' are ignored.
    async fn mark_read(&self, user: &UserId, ids: &[String], at: Timestamp) -> StoreResult<u64>;

    /// Marks all of the user's notifications read.
    async fn mark_all_read(&self, user: &UserId, at: Timestamp) -> StoreResult<u64>;

    /// One notification (for delivery).
    async fn get_notification(&self, id: &str) -> StoreResult<Option<Notification>>;

    /// Records that it was handed to the push service; `false` if it already was (so a
    /// job that runs twice sends once).
    async fn mark_pushed(&self, id: &str, at: Timestamp) -> StoreResult<bool>;
}
