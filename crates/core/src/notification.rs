//! In-app notifications, push devices, and background jobs.

use crate::post::ReactionType;
use crate::{Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Why a notification was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationType {
    /// Someone followed me.
    Follow,
    /// Someone commented on my post.
    Comment,
    /// Someone reacted to my post.
    Reaction,
    /// Someone mentioned me in a post or comment.
    Mention,
}

impl NotificationType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Follow => "follow",
            Self::Comment => "comment",
            Self::Reaction => "reaction",
            Self::Mention => "mention",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Follow, Self::Comment, Self::Reaction, Self::Mention]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A notification to write, decided by the domain (preferences and blocks already
/// applied). `dedupe` makes a repeat of the same event write nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// UUIDv7.
    pub id: String,
    /// Who is told.
    pub recipient: UserId,
    /// What happened.
    pub kind: NotificationType,
    /// Who did it.
    pub actor: UserId,
    /// The post concerned.
    pub post_id: Option<String>,
    /// The comment concerned.
    pub comment_id: Option<String>,
    /// The reaction, for reaction notifications.
    pub reaction: Option<ReactionType>,
    /// One notification per recipient and key.
    pub dedupe: String,
    /// When.
    pub created_at: Timestamp,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// UUIDv7.
    pub id: String,
    /// Who is told.
    pub recipient: UserId,
    /// What happened.
    pub kind: NotificationType,
    /// Who did it.
    pub actor: UserId,
    /// The post concerned.
    pub post_id: Option<String>,
    /// The comment concerned.
    pub comment_id: Option<String>,
    /// The reaction, for reaction notifications.
    pub reaction: Option<ReactionType>,
    /// When.
    pub created_at: Timestamp,
    /// When the recipient read it.
    pub read_at: Option<Timestamp>,
    /// When it was handed to the push service.
    pub pushed_at: Option<Timestamp>,
}

/// A phone's operating system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// iPhone.
    Ios,
    /// Android.
    Android,
}

impl Platform {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::Android => "android",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Ios, Self::Android]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// The push service a device's token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushService {
    /// Expo's push service (`ExponentPushToken[…]`).
    Expo,
    /// Firebase Cloud Messaging, directly (an FCM registration token).
    Fcm,
    /// Apple Push Notification service, directly (a hex device token).
    Apns,
}

impl PushService {
    /// Every service.
    pub const ALL: [Self; 3] = [Self::Expo, Self::Fcm, Self::Apns];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expo => "expo",
            Self::Fcm => "fcm",
            Self::Apns => "apns",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether `token` has the shape of this service's device tokens.
    pub fn accepts_token(self, token: &str) -> bool {
        match self {
            Self::Expo => is_expo_token(token),
            // FCM tokens are opaque (about 160 characters today; Google gives no bound):
            // visible ASCII, kept below what every backend's key takes.
            Self::Fcm => {
                (1..=MAX_NATIVE_TOKEN).contains(&token.len())
                    && token.bytes().all(|b| b.is_ascii_graphic())
            }
            // 32 bytes in hex today; Apple warns the length may grow.
            Self::Apns => {
                (64..=MAX_NATIVE_TOKEN).contains(&token.len())
                    && token.len().is_multiple_of(2)
                    && token.bytes().all(|b| b.is_ascii_hexdigit())
            }
        }
    }
}

/// The longest FCM or APNs token taken: DynamoDB's sort keys hold 1,024 bytes, and a
/// device's key is the token behind a short prefix (tokens are ASCII, so bytes are
/// characters).
pub const MAX_NATIVE_TOKEN: usize = 1000;

/// A device registered for push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDevice {
    /// The provider's token for the device.
    pub token: String,
    /// Whose device.
    pub user: UserId,
    /// Its operating system.
    pub platform: Platform,
    /// The push service its token belongs to.
    pub service: PushService,
}

/// Checks an Expo push token: `ExponentPushToken[…]` or `ExpoPushToken[…]`, at most 255
/// characters of visible ASCII.
pub fn is_expo_token(token: &str) -> bool {
    let inner = token
        .strip_prefix("ExponentPushToken[")
        .or_else(|| token.strip_prefix("ExpoPushToken["))
        .and_then(|t| t.strip_suffix(']'));
    token.len() <= 255
        && inner
            .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_graphic() && b != b']'))
}

/// The job kind that delivers one notification by push (its payload is the
/// notification id).
pub const PUSH_JOB_KIND: &str = "push";

/// A job to run after the response, written in the same transaction as its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// UUIDv7.
    pub id: String,
    /// Which handler runs it (`push`, …).
    pub kind: String,
    /// The handler's input (usually an id).
    pub payload: String,
    /// At most one job per key: enqueuing the same work twice makes one job.
    pub dedupe: Option<String>,
    /// Not before.
    pub run_at: Timestamp,
}

/// A job as claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// UUIDv7.
    pub id: String,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expo_tokens_are_recognised() {
        assert!(is_expo_token("ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"));
        assert!(is_expo_token("ExpoPushToken[abc]"));
        for bad in [
            "",
            "abc",
            "ExponentPushToken[]",
            "ExponentPushToken[a b]",
            "fcm:abc",
        ] {
            assert!(!is_expo_token(bad), "{bad}");
        }
    }

    #[test]
    fn native_tokens_are_checked_by_their_service() {
        let apns = "a".repeat(64);
        assert!(PushService::Apns.accepts_token(&apns));
        assert!(!PushService::Apns.accepts_token(&"a".repeat(63)));
        assert!(!PushService::Apns.accepts_token(&"g".repeat(64)));
        assert!(PushService::Fcm.accepts_token("dGVzdA:APA91bH-x_y"));
        assert!(!PushService::Fcm.accepts_token(""));
        assert!(!PushService::Fcm.accepts_token("has space"));
        assert!(!PushService::Fcm.accepts_token(&"x".repeat(MAX_NATIVE_TOKEN + 1)));
        assert!(!PushService::Expo.accepts_token(&apns));
        for s in PushService::ALL {
            assert_eq!(PushService::from_stored(s.as_str()), Some(s));
        }
    }
}
