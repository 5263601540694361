//! What the push jobs share: the store, the provider, the message options, the
//! per-device back-off after `MessageRateExceeded`, the counters, and what to do with
//! each kind of failure (whether a ticket or a receipt reported it).

use crate::provider::{Failure, MessageOptions, PushData, PushMessage, PushProvider};
use scooter_core::Timestamp;
use scooter_core::notification::{NewJob, Notification, NotificationType, PushDevice};
use scooter_jobs::JobError;
use scooter_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The job kind that sends one notification again to one device after a back-off.
pub const RETRY_KIND: &str = "push_device";

/// Retries of one message to a throttled device before it is given up.
pub const MAX_DEVICE_TRIES: u32 = 5;

/// First back-off after `MessageRateExceeded`; doubles each time, up to an hour.
const BACKOFF_BASE: Duration = Duration::from_secs(60);
const BACKOFF_MAX: Duration = Duration::from_secs(3600);

/// Devices remembered in back-off at most (expired ones are dropped first).
const BACKOFF_KEEP: usize = 10_000;

/// Delivery tuning.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Options every message carries.
    pub options: MessageOptions,
    /// How long after sending receipts are asked for (`EXPO_RECEIPT_DELAY_SECS`).
    pub receipt_delay: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            options: MessageOptions::default(),
            receipt_delay: Duration::from_secs(900),
        }
    }
}

/// Running totals of what became of messages, for logs and tests.
#[derive(Debug, Default)]
pub struct PushStats {
    /// Messages the service accepted.
    pub accepted: AtomicU64,
    /// Receipts that said delivered.
    pub delivered: AtomicU64,
    /// Devices forgotten because the service said they are gone.
    pub devices_forgotten: AtomicU64,
    /// Messages too big to send.
    pub too_big: AtomicU64,
    /// Messages refused for the project's credentials.
    pub bad_credentials: AtomicU64,
    /// Messages deferred because their device was throttled or the service was busy.
    pub rate_limited: AtomicU64,
    /// Messages refused for any other reason.
    pub other_failures: AtomicU64,
    /// Receipts still missing a day after sending, given up.
    pub receipts_given_up: AtomicU64,
}

/// The input of a [`RETRY_KIND`] job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRetry {
    /// The notification to send.
    pub notification: String,
    /// The device to send it to.
    pub to: String,
    /// Times this message was throttled so far.
    pub tries: u32,
}

/// The shared state of the push jobs.
pub struct Delivery {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) provider: Arc<dyn PushProvider>,
    pub(crate) settings: DeliverySettings,
    backoff: Mutex<HashMap<String, (Timestamp, u32)>>,
    credentials_reported: AtomicBool,
    stats: PushStats,
}

/// A notification ready to push: who gets it and the message, `to` and `service` left
/// to fill in per device.
pub(crate) struct Prepared {
    pub(crate) notification: Notification,
    pub(crate) devices: Vec<PushDevice>,
    pub(crate) message: PushMessage,
}

pub(crate) fn store_err(e: scooter_store::StoreError) -> JobError {
    JobError::Retry(e.to_string())
}

/// The text of a notification's message.
fn text(n: &Notification, actor: &str) -> String {
    match n.kind {
        NotificationType::Follow => format!("@{actor} followed you"),
        NotificationType::Comment => format!("@{actor} commented on your post"),
        NotificationType::Reaction => format!("@{actor} reacted to your post"),
        NotificationType::Mention => format!("@{actor} mentioned you"),
    }
}

fn later(delay: Duration) -> Timestamp {
    let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millis(Timestamp::now().millis().saturating_add(ms))
}

impl Delivery {
    /// Push delivery through `provider`.
    pub fn new(
        store: Arc<dyn Store>,
        provider: Arc<dyn PushProvider>,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            store,
            provider,
            settings,
            backoff: Mutex::new(HashMap::new()),
            credentials_reported: AtomicBool::new(false),
            stats: PushStats::default(),
        }
    }

    /// The running totals.
    pub fn stats(&self) -> &PushStats {
        &self.stats
    }

    /// Loads notification `id` and decides whether it may still be pushed now: the
    /// recipient's preferences, a suspension or a block since it was written silence
    /// it (as the in-app list hides it). `None`: nothing to send.
    pub(crate) async fn prepare(&self, id: &str) -> Result<Option<Prepared>, JobError> {
        let store = self.store.as_ref();
        let Some(n) = store.get_notification(id).await.map_err(store_err)? else {
            return Ok(None);
        };
        let Some(recipient) = store.get_user(&n.recipient).await.map_err(store_err)? else {
            return Ok(None);
        };
        let wants_type = match n.kind {
            NotificationType::Follow => recipient.prefs.follow,
            NotificationType::Comment => recipient.prefs.comment,
            NotificationType::Reaction => recipient.prefs.reaction,
            NotificationType::Mention => recipient.prefs.mention,
        };
        if !recipient.prefs.push || !wants_type || recipient.is_suspended() {
            return Ok(None);
        }
        let actor = store.get_user(&n.actor).await.map_err(store_err)?;
        let Some(actor) = actor.filter(|a| !a.is_suspended()) else {
            return Ok(None);
        };
        if store
            .relationship(&recipient.id, &actor.id)
            .await
            .map_err(store_err)?
            .blocked_either_way()
        {
            return Ok(None);
        }
        let devices = store.devices_of(&recipient.id).await.map_err(store_err)?;
        if devices.is_empty() {
            return Ok(None);
        }
        let handle = actor.handle.as_ref().map(ToString::to_string);
        let data = PushData {
            notification_id: n.id.clone(),
            kind: n.kind.as_str().to_owned(),
            post_id: n.post_id.clone(),
            comment_id: n.comment_id.clone(),
            actor_id: actor.id.to_string(),
            actor_handle: handle.clone(),
        };
        let body = text(&n, handle.as_deref().unwrap_or("someone"));
        // Read after this notification was written, so it counts it.
        let unread = store.unread_count(&recipient.id).await.map_err(store_err)?;
        let message = PushMessage {
            to: String::new(),
            service: scooter_core::notification::PushService::Expo,
            title: "ScooterBooter".into(),
            body,
            data,
            badge: u32::try_from(unread.max(0)).unwrap_or(u32::MAX),
            category: Some(n.kind.as_str().to_owned()),
            options: self.settings.options.clone(),
        };
        Ok(Some(Prepared {
            notification: n,
            devices,
            message,
        }))
    }

    /// Until when `token` is in back-off, if it is.
    pub(crate) fn backing_off(&self, token: &str) -> Option<Timestamp> {
        let now = Timestamp::now();
        self.backoff
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .map(|(until, _)| *until)
            .filter(|until| *until > now)
    }

    /// A message reached `token`: its back-off, if any, is over.
    pub(crate) fn delivered(&self, token: &str) {
        self.stats.delivered.fetch_add(1, Ordering::Relaxed);
        self.backoff
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token);
    }

    /// `token` was throttled: doubles its back-off and says until when.
    fn throttled(&self, token: &str) -> Timestamp {
        let mut map = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= BACKOFF_KEEP {
            let now = Timestamp::now();
            map.retain(|_, (until, _)| *until > now);
            // Still full: the back-off ending soonest makes room, so memory stays bounded
            // however many devices are throttled (that one may be sent to a little early).
            if map.len() >= BACKOFF_KEEP && !map.contains_key(token) {
                let soonest = map
                    .iter()
                    .min_by_key(|(_, (until, _))| *until)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    map.remove(&k);
                }
            }
        }
        let level = map.get(token).map_or(0, |(_, l)| *l).saturating_add(1);
        let wait = BACKOFF_BASE
            .saturating_mul(1 << level.saturating_sub(1).min(10))
            .min(BACKOFF_MAX);
        let until = later(wait);
        map.insert(token.to_owned(), (until, level));
        until
    }

    /// Counts an accepted message.
    pub(crate) fn accepted(&self) {
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts receipts given up on.
    pub(crate) fn gave_up(&self, n: u64) {
        self.stats.receipts_given_up.fetch_add(n, Ordering::Relaxed);
    }

    /// Queues notification `id` for `token` again at `at` (after a back-off).
    pub(crate) async fn retry_later(
        &self,
        id: &str,
        token: &str,
        tries: u32,
        at: Timestamp,
    ) -> Result<(), JobError> {
        let retry = DeviceRetry {
            notification: id.to_owned(),
            to: token.to_owned(),
            tries,
        };
        let payload = serde_json::to_string(&retry).map_err(|e| JobError::Fatal(e.to_string()))?;
        self.store
            .enqueue_job(NewJob {
                id: scooter_core::ids::new_id(),
                kind: RETRY_KIND.to_owned(),
                payload,
                dedupe: Some(format!("{RETRY_KIND}:{id}:{token}:{tries}")),
                run_at: at,
            })
            .await
            .map_err(store_err)
    }

    /// Acts on what the service said went wrong with notification `id`'s message to
    /// `token` (throttled `tries` times before): forget a dead device, back off from a
    /// throttled one, and log (and count) the rest. Nothing is retried blindly.
    pub(crate) async fn failed(
        &self,
        id: &str,
        token: &str,
        failure: &Failure,
        tries: u32,
    ) -> Result<(), JobError> {
        match failure {
            Failure::DeviceGone => {
                self.stats.devices_forgotten.fetch_add(1, Ordering::Relaxed);
                tracing::info!(notification = %id, "the push service says a device is gone; forgetting it");
                self.store.forget_device(token).await.map_err(store_err)?;
            }
            Failure::TooBig => {
                self.stats.too_big.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(notification = %id, "push message too big; not sent");
            }
            Failure::BadCredentials => {
                let n = self.stats.bad_credentials.fetch_add(1, Ordering::Relaxed) + 1;
                if !self.credentials_reported.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        notification = %id,
                        "PUSH CREDENTIALS ARE WRONG: the push service refuses this project's \
                         credentials (Expo: InvalidCredentials, fix the FCM/APNs credentials in \
                         the Expo project; FCM: 401 with a fresh token, check FCM_CREDENTIALS_FILE; \
                         APNs: provider token refused, check APNS_KEY_FILE, APNS_KEY_ID and \
                         APNS_TEAM_ID), so no push reaches these devices until an operator fixes them"
                    );
                } else {
                    tracing::warn!(notification = %id, refused = n, "push refused: invalid credentials");
                }
            }
            Failure::RateExceeded | Failure::Unavailable(_) if tries + 1 >= MAX_DEVICE_TRIES => {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(notification = %id, tries, "a throttled device's message is given up");
            }
            Failure::RateExceeded => {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                let at = self.throttled(token);
                tracing::info!(notification = %id, retry_at = %at, "device throttled; backing off");
                self.retry_later(id, token, tries + 1, at).await?;
            }
            // FCM and APNs answer each message on its own: a 429 or 5xx for one is sent
            // again to that device alone, after the same back-off.
            Failure::Unavailable(why) => {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                let at = self.throttled(token);
                tracing::info!(notification = %id, error = %why, retry_at = %at, "push service busy for a device; backing off");
                self.retry_later(id, token, tries + 1, at).await?;
            }
            Failure::Other(code) => {
                self.stats.other_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(notification = %id, error = %code, "push refused for a device");
            }
        }
        Ok(())
    }
}
