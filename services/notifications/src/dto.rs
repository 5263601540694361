//! Request and response bodies of the notifications service.

use scooter_core::Timestamp;
use scooter_core::notification::{NotificationType, Platform};
use scooter_core::post::ReactionType;
use scooter_http::UserSummary;
use scooter_http::views::file_url;
use scooter_store::ListedNotification;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    /// Notification id.
    pub id: String,
    /// follow, comment, reaction or mention.
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// Who did it.
    pub actor: UserSummary,
    /// The post concerned.
    pub post_id: Option<String>,
    /// The comment concerned.
    pub comment_id: Option<String>,
    /// The reaction, for reaction notifications.
    pub reaction: Option<ReactionType>,
    /// When.
    pub created_at: Timestamp,
    /// When I read it; `null` while unread.
    pub read_at: Option<Timestamp>,
    /// The post it is about, as the list shows it; `null` for follows.
    pub post: Option<PostPreview>,
    /// The comment it is about, for comments and mentions in comments.
    pub comment: Option<CommentPreview>,
}

/// The start of a post, enough for a line in the notification list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostPreview {
    /// Post id.
    pub id: String,
    /// The first 100 characters of its text (an ellipsis marks a cut).
    pub text: String,
    /// The thumbnail of its first photo or video, if it has any.
    pub thumbnail_url: Option<String>,
}

/// The start of a comment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentPreview {
    /// Comment id.
    pub id: String,
    /// The first 100 characters of its text.
    pub text: String,
}

/// Characters of text a preview keeps.
pub const SNIPPET_CHARS: usize = 100;

/// The first [`SNIPPET_CHARS`] characters of `text`, with `…` when cut.
pub fn snippet(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

impl NotificationView {
    /// Renders a listed notification with its actor and previews.
    pub fn new(listed: &ListedNotification) -> Self {
        let n = &listed.notification;
        let post = n
            .post_id
            .as_ref()
            .zip(listed.post_text.as_deref())
            .map(|(id, text)| PostPreview {
                id: id.clone(),
                text: snippet(text),
                thumbnail_url: listed.post_thumb_key.as_deref().map(file_url),
            });
        let comment = n
            .comment_id
            .as_ref()
            .zip(listed.comment_text.as_deref())
            .map(|(id, text)| CommentPreview {
                id: id.clone(),
                text: snippet(text),
            });
        Self {
            id: n.id.clone(),
            kind: n.kind,
            actor: UserSummary::from(&listed.actor),
            post_id: n.post_id.clone(),
            comment_id: n.comment_id.clone(),
            reaction: n.reaction,
            created_at: n.created_at,
            read_at: n.read_at,
            post,
            comment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_cut_at_characters_not_bytes() {
        assert_eq!(snippet("short"), "short");
        let long = "🛴".repeat(150);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(snippet(&"a".repeat(100)), "a".repeat(100));
    }
}

/// `GET /notifications/unread-count`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Unread notifications.
    pub count: i64,
}

/// `POST /notifications/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    /// Notification ids (at most 100); ids that are not mine are ignored.
    pub ids: Vec<String>,
}

/// How many notifications a read call changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResult {
    /// Newly marked read.
    pub updated: u64,
}

/// The push service a device's token belongs to: `expo`, `fcm` or `apns`.
pub use scooter_core::notification::PushService as PushProviderName;

/// `POST /push/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"token": "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]", "platform": "ios", "provider": "expo"}))]
pub struct RegisterRequest {
    /// The device's push token: an Expo push token (`ExponentPushToken[…]`), an FCM
    /// registration token, or an APNs device token in hex; visible ASCII, at most 1,000
    /// characters.
    #[schema(max_length = 1000, pattern = r"^[!-~]{1,1000}$")]
    pub token: String,
    /// ios or android.
    pub platform: Platform,
    /// The service the token belongs to: expo, fcm or apns.
    pub provider: PushProviderName,
}

/// A registered device.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// The token.
    pub token: String,
    /// ios or android.
    pub platform: Platform,
    /// expo, fcm or apns.
    pub provider: PushProviderName,
}

/// `GET /push/devices`: every device of mine that push goes to (at most 20).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceList {
    /// The devices.
    pub items: Vec<DeviceView>,
}

/// `DELETE /push/unregister`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnregisterRequest {
    /// The token to forget.
    pub token: String,
}
