//! What a push provider does: send a batch of messages and say, per message, whether
//! the service took it; and, for services that report outcomes later (Expo), look up
//! the receipts of messages sent earlier. Expo, FCM and APNs each implement it;
//! [`crate::route::Routed`] hands each message to its device's service.

use async_trait::async_trait;
use scooter_core::notification::PushService;
use serde::Serialize;
use std::collections::HashMap;

/// One message to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The device's token.
    pub to: String,
    /// The push service the token belongs to.
    pub service: PushService,
    /// Title line.
    pub title: String,
    /// Body text.
    pub body: String,
    /// What the app needs to deep-link: notification id, type, post id.
    pub data: PushData,
    /// The app icon's badge: the recipient's unread notifications, this one included.
    pub badge: u32,
    /// The notification category (iOS actions), named after the notification type.
    pub category: Option<String>,
    /// How the message is shown and kept: sound, priority, time to live, channel.
    pub options: MessageOptions,
}

/// The delivery options every message of a deployment carries (configured once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageOptions {
    /// The sound to play (`"default"`), or none for a silent message.
    pub sound: Option<String>,
    /// Delivery priority.
    pub priority: Priority,
    /// Seconds the service keeps trying an offline device; `None`: the service's default.
    pub ttl_secs: Option<u32>,
    /// The Android notification channel.
    pub channel_id: String,
    /// Lets an iOS notification service extension change the message before it shows.
    pub mutable_content: bool,
}

impl Default for MessageOptions {
    fn default() -> Self {
        Self {
            sound: Some("default".into()),
            priority: Priority::High,
            ttl_secs: None,
            channel_id: ANDROID_CHANNEL.into(),
            mutable_content: false,
        }
    }
}

/// Delivery priority, as Expo names it (FCM and APNs map it onto theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The service's default.
    Default,
    /// May be delayed to save battery.
    Normal,
    /// Delivered at once, waking the device.
    High,
}

impl Priority {
    /// APNs' `apns-priority` (also set by FCM for iOS): 10 delivers at once, 5 when it
    /// suits the device.
    pub(crate) fn apns_header(self) -> &'static str {
        if self == Self::Normal { "5" } else { "10" }
    }

    /// Expo's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }

    /// Parses `default`, `normal` or `high`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Default, Self::Normal, Self::High]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// The Android notification channel messages are posted to by default. Android 8+
/// shows nothing on a channel the app never created; the app creates this one
/// (documented in the README), and Expo's own default channel has the same id.
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

/// What became of one message when it was handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    /// Accepted. With Expo, the outcome comes later in the receipt this id names.
    Accepted {
        /// The receipt to ask for later, if the service has receipts.
        receipt_id: Option<String>,
    },
    /// Not delivered.
    Failed(Failure),
}

/// Why one message was not (or will not be) delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The device is no longer registered (app uninstalled, token expired): forget it.
    DeviceGone,
    /// The message is larger than the service takes; retrying will not help.
    TooBig,
    /// Too many messages to this device: back off before sending it more.
    RateExceeded,
    /// The project's push credentials are wrong: an operator must fix them.
    BadCredentials,
    /// The service is down or throttling for this message (HTTP 429 or 5xx): send it
    /// again after a back-off.
    Unavailable(String),
    /// Anything else (the service's error code only: its text can quote the token).
    Other(String),
}

/// Why a whole request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PushError {
    /// The service is down or throttling: try again later.
    #[error("push service unavailable: {0}")]
    Unavailable(String),
    /// The request itself is wrong (credentials, format): retrying will not help.
    #[error("push request refused: {0}")]
    Refused(String),
}

/// A receipt: the outcome of a message sent earlier.
pub type Receipt = Result<(), Failure>;

/// A push service.
#[async_trait]
pub trait PushProvider: Send + Sync {
    /// Sends messages; returns one ticket per message, in order. Messages of one call
    /// go out in one request when they fit, so a failed request fails the whole call
    /// and a retry of the call sends nothing twice.
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError>;

    /// The receipts of earlier tickets, by receipt id; ids without a receipt yet are
    /// absent. A service without receipts has none.
    async fn receipts(&self, _ids: &[String]) -> Result<HashMap<String, Receipt>, PushError> {
        Ok(HashMap::new())
    }
}

/// Seconds since the Unix epoch, for the providers' signed tokens and expiry headers.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
