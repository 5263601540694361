//! Request and response bodies of the notifications service.

use scooter_core::Timestamp;
use scooter_core::notification::{Notification, NotificationType, Platform};
use scooter_core::post::ReactionType;
use scooter_http::UserSummary;
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
}

impl NotificationView {
    /// Renders a notification with its actor.
    pub fn new(n: &Notification, actor: UserSummary) -> Self {
        Self {
            id: n.id.clone(),
            kind: n.kind,
            actor,
            post_id: n.post_id.clone(),
            comment_id: n.comment_id.clone(),
            reaction: n.reaction,
            created_at: n.created_at,
            read_at: n.read_at,
        }
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

/// The push services we deliver through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushProviderName {
    /// Expo's push service.
    Expo,
}

/// `POST /push/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    /// The device's Expo push token.
    pub token: String,
    /// ios or android.
    pub platform: Platform,
    /// expo.
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
    /// expo.
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
