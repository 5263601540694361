//! What a push provider does: send a batch of messages and say, per message, whether
//! the device took it.

use async_trait::async_trait;
use serde::Serialize;

/// One message to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The device's token.
    pub to: String,
    /// Title line.
    pub title: String,
    /// Body text.
    pub body: String,
    /// What the app needs to deep-link: notification id, type, post id.
    pub data: PushData,
    /// The app icon's badge: the recipient's unread notifications, this one included.
    pub badge: u32,
}

/// The Android notification channel messages are posted to. Android 8+ shows nothing
/// on a channel the app never created; the app creates this one (documented in the
/// README), and Expo's own default channel has the same id.
pub const ANDROID_CHANNEL: &str = "default";

/// The payload the app reads when the user taps the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushData {
    /// The notification's id.
    pub notification_id: String,
    /// follow, comment, reaction or mention.
    #[serde(rename = "type")]
    pub kind: String,
    /// The post concerned, if any.
    pub post_id: Option<String>,
    /// The comment concerned (comments and mentions in comments).
    pub comment_id: Option<String>,
    /// Who did it: a follow opens their profile.
    pub actor_id: String,
    /// Their handle, for a screen that shows it before loading.
    pub actor_handle: Option<String>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    /// Accepted.
    Ok,
    /// The device is no longer registered: forget its token.
    DeviceNotRegistered,
    /// Refused for another reason (logged; not retried).
    Refused(String),
}

/// Why a whole batch failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The service is down or throttling: try again later.
    #[error("push service unavailable: {0}")]
    Unavailable(String),
    /// The request itself is wrong (credentials, format): retrying will not help.
    #[error("push request refused: {0}")]
    Refused(String),
}

/// A push service.
#[async_trait]
pub trait PushProvider: Send + Sync {
    /// Sends messages; returns one ticket per message, in order.
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError>;
}
