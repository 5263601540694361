//! Apple Push Notification service, directly, for apps that register native APNs
//! device tokens: HTTP/2 with token-based authentication.
//!
//! The provider token is a JWT signed ES256 with the `.p8` key from Apple's developer
//! account (`kid`: its key id, `iss`: the team id, `iat`); Apple takes one for up to an
//! hour and refuses one renewed more often than every 20 minutes, so it is made again
//! every 50 minutes, or at once when Apple says it expired.
//!
//! Sending: one `POST {endpoint}/3/device/{token}` per message over a shared HTTP/2
//! connection, at most [`PARALLEL`] at once, with `apns-topic` (the app's bundle id),
//! `apns-push-type: alert` and `apns-priority`. Errors: `410 Unregistered` and
//! `400 BadDeviceToken` forget the device; 429 and 5xx send the message again after a
//! back-off; `403 ExpiredProviderToken`/`InvalidProviderToken` get a new provider token
//! and try once more.

use crate::provider::{Failure, PushError, PushMessage, PushProvider, Ticket, unix_now};
use crate::setup::SetupError;
use async_trait::async_trait;
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Apple's production endpoint.
pub const PRODUCTION: &str = "https://api.push.apple.com";

/// Apple's development (sandbox) endpoint, for apps built for development.
pub const SANDBOX: &str = "https://api.sandbox.push.apple.com";

/// Requests in flight at once for one call (streams of one connection).
pub const PARALLEL: usize = 16;

/// How long a provider token is used before a new one is made.
const TOKEN_LIFE: Duration = Duration::from_secs(50 * 60);

/// Where the key is, who we are, and where APNs is.
#[derive(Debug, Clone)]
pub struct ApnsSettings {
    /// The `.p8` signing key (`APNS_KEY_FILE`).
    pub key_file: PathBuf,
    /// The key's id (`APNS_KEY_ID`).
    pub key_id: String,
    /// The developer team id (`APNS_TEAM_ID`).
    pub team_id: String,
    /// The app's bundle id (`APNS_TOPIC`).
    pub topic: String,
    /// APNs' endpoint: [`PRODUCTION`], [`SANDBOX`] or a stand-in (`APNS_ENV`,
    /// `APNS_ENDPOINT`).
    pub endpoint: String,
}

/// The APNs client.
pub struct ApnsProvider {
    http: reqwest::Client,
    base: reqwest::Url,
    key: EncodingKey,
    key_id: String,
    team_id: String,
    topic: String,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for ApnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and the provider token never print.
        f.debug_struct("ApnsProvider")
            .field("base", &self.base.as_str())
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

#[derive(Deserialize, Default)]
struct ErrorResponse {
    #[serde(default)]
    reason: Option<String>,
}

impl ApnsProvider {
    /// Reads the signing key; nothing is sent until the first message.
    pub fn new(settings: &ApnsSettings) -> Result<Self, SetupError> {
        let path = &settings.key_file;
        let pem = std::fs::read(path).map_err(|e| SetupError::Read(path.clone(), e))?;
        let key = EncodingKey::from_ec_pem(&pem)
            .map_err(|e| SetupError::Invalid("APNS_KEY_FILE", e.to_string()))?;
        let base = reqwest::Url::parse(&settings.endpoint)
            .map_err(|e| SetupError::Invalid("APNS_ENDPOINT", e.to_string()))?;
        Ok(Self {
            http: crate::setup::client(true)?,
            base,
            key,
            key_id: settings.key_id.clone(),
            team_id: settings.team_id.clone(),
            topic: settings.topic.clone(),
            token: Mutex::new(None),
        })
    }

    /// The provider token: the current one while it is young and not `stale`, else a
    /// new one.
    fn provider_token(&self, stale: Option<&str>) -> Result<String, PushError> {
        let mut slot = self.token.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((t, made)) = slot.as_ref()
            && made.elapsed() < TOKEN_LIFE
            && stale != Some(t.as_str())
        {
            return Ok(t.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = Claims {
            iss: &self.team_id,
            iat: unix_now(),
        };
        let t = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| PushError::Refused(format!("cannot sign the APNs provider token: {e}")))?;
        *slot = Some((t.clone(), Instant::now()));
        Ok(t)
    }

    /// Sends one message, with a new provider token once if Apple refuses the current.
    async fn send_one(&self, m: &PushMessage) -> Ticket {
        let mut url = self.base.clone();
        match url.path_segments_mut() {
            Ok(mut p) => {
                p.pop_if_empty().extend(["3", "device", m.to.as_str()]);
            }
            Err(()) => return Ticket::Failed(Failure::Other("APNS_ENDPOINT".into())),
        }
        let body = payload(m);
        let mut stale: Option<String> = None;
        for first in [true, false] {
            let token = match self.provider_token(stale.as_deref()) {
                Ok(t) => t,
                Err(e) => return Ticket::Failed(Failure::Other(e.to_string())),
            };
            let mut req = self
                .http
                .post(url.clone())
                .bearer_auth(&token)
                .header("apns-topic", &self.topic)
                .header("apns-push-type", "alert")
                .header("apns-priority", m.options.priority.apns_header())
                .json(&body);
            if let Some(ttl) = m.options.ttl_secs {
                req = req.header("apns-expiration", (unix_now() + u64::from(ttl)).to_string());
            }
            let res = match req.send().await {
                Ok(r) => r,
                // Without the URL: it ends in the device token, and this text is logged.
                Err(e) => return Ticket::Failed(Failure::Unavailable(e.without_url().to_string())),
            };
            let status = res.status().as_u16();
            if status == 200 {
                return Ticket::Accepted { receipt_id: None };
            }
            let reason = res.json::<ErrorResponse>().await.unwrap_or_default().reason;
            let provider_token_refused = status == 403
                && matches!(
                    reason.as_deref(),
                    Some("ExpiredProviderToken" | "InvalidProviderToken")
                );
            if provider_token_refused && first {
                stale = Some(token);
                continue;
            }
            return Ticket::Failed(failure(status, reason.as_deref()));
        }
        Ticket::Failed(Failure::BadCredentials)
    }
}

/// What an APNs answer means for the message.
fn failure(status: u16, reason: Option<&str>) -> Failure {
    match (status, reason) {
        (410, _) | (400, Some("BadDeviceToken")) => Failure::DeviceGone,
        (413, _) => Failure::TooBig,
        (429, _) | (500..=599, _) => Failure::Unavailable(format!("HTTP {status}")),
        (403, Some("ExpiredProviderToken" | "InvalidProviderToken")) => Failure::BadCredentials,
        (_, Some(reason)) => Failure::Other(reason.to_owned()),
        _ => Failure::Other(format!("HTTP {status}")),
    }
}

/// The payload: `aps` (alert, badge, sound, category, mutable-content) and the data
/// the app reads beside it.
fn payload(m: &PushMessage) -> Value {
    let mut aps = json!({
        "alert": { "title": m.title, "body": m.body },
        "badge": m.badge,
    });
    if let Some(sound) = &m.options.sound {
        aps["sound"] = json!(sound);
    }
    if let Some(category) = &m.category {
        aps["category"] = json!(category);
    }
    if m.options.mutable_content {
        aps["mutable-content"] = json!(1);
    }
    let mut body = match serde_json::to_value(&m.data) {
        Ok(Value::Object(data)) => data,
        _ => serde_json::Map::new(),
    };
    body.retain(|_, v| !v.is_null());
    body.insert("aps".into(), aps);
    Value::Object(body)
}

#[async_trait]
impl PushProvider for ApnsProvider {
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
        // A key that cannot sign fails the whole call before anything is sent.
        self.provider_token(None)?;
        Ok(futures_util::stream::iter(0..messages.len())
            .map(|i| self.send_one(&messages[i]))
            .buffered(PARALLEL)
            .collect()
            .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_failures() {
        assert_eq!(failure(410, Some("Unregistered")), Failure::DeviceGone);
        assert_eq!(failure(400, Some("BadDeviceToken")), Failure::DeviceGone);
        assert_eq!(
            failure(400, Some("BadTopic")),
            Failure::Other("BadTopic".into())
        );
        assert_eq!(failure(413, Some("PayloadTooLarge")), Failure::TooBig);
        assert!(matches!(
            failure(429, Some("TooManyRequests")),
            Failure::Unavailable(_)
        ));
        assert!(matches!(
            failure(503, Some("ServiceUnavailable")),
            Failure::Unavailable(_)
        ));
        assert_eq!(
            failure(403, Some("InvalidProviderToken")),
            Failure::BadCredentials
        );
    }
}
