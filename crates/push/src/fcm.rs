//! Firebase Cloud Messaging, HTTP v1, for apps that register native FCM tokens.
//!
//! Credentials: a service-account key (the JSON file Firebase's console downloads:
//! `project_id`, `client_email`, `private_key`, `token_uri`). An access token comes
//! from Google's OAuth2 JWT-bearer grant: a JWT signed RS256 with the key, posted to
//! `token_uri`; it is cached until five minutes before it expires, one fetch at a time.
//!
//! Sending: one `POST {endpoint}/v1/projects/{project}/messages:send` per message (v1
//! has no batch), at most [`PARALLEL`] at once. Errors: `UNREGISTERED` (or any 404)
//! forgets the device; 429 and 5xx send the message again after a back-off; 401 gets a
//! fresh access token and tries once more. A token endpoint that refuses (a revoked or
//! wrong key, a clock far off) fails the whole call, so the job runs again later.

use crate::provider::{Failure, Priority, PushError, PushMessage, PushProvider, Ticket, unix_now};
use crate::setup::SetupError;
use async_trait::async_trait;
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// FCM's endpoint, without the path.
pub const ENDPOINT: &str = "https://fcm.googleapis.com";

/// The OAuth2 scope of sending messages.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// Requests in flight at once for one call.
pub const PARALLEL: usize = 16;

/// An access token is fetched again this long before it expires.
const REFRESH_EARLY: Duration = Duration::from_secs(300);

/// Where the key is and where FCM is.
#[derive(Debug, Clone)]
pub struct FcmSettings {
    /// The service-account key file (`FCM_CREDENTIALS_FILE`).
    pub credentials_file: PathBuf,
    /// FCM's endpoint (`FCM_ENDPOINT`; a stand-in in tests).
    pub endpoint: String,
}

/// The parts of a service-account key we use.
#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    token_uri: String,
}

/// A cached access token.
struct AccessToken {
    value: String,
    fetch_after: Instant,
}

/// The FCM HTTP v1 client.
pub struct FcmProvider {
    http: reqwest::Client,
    send_url: reqwest::Url,
    token_uri: reqwest::Url,
    client_email: String,
    key: EncodingKey,
    key_id: Option<String>,
    token: Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for FcmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and the access token never print.
        f.debug_struct("FcmProvider")
            .field("send_url", &self.send_url.as_str())
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default = "an_hour")]
    expires_in: u64,
}

fn an_hour() -> u64 {
    3600
}

/// `{"error": {"code": 404, "status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}`.
#[derive(Deserialize, Default)]
struct ErrorResponse {
    #[serde(default)]
    error: ErrorBody,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default, rename = "errorCode")]
    error_code: Option<String>,
}

impl FcmProvider {
    /// Reads the service-account key; nothing is fetched until the first message.
    pub fn new(settings: &FcmSettings) -> Result<Self, SetupError> {
        let path = &settings.credentials_file;
        let raw = std::fs::read(path).map_err(|e| SetupError::Read(path.clone(), e))?;
        let account: ServiceAccount = serde_json::from_slice(&raw)
            .map_err(|e| SetupError::Invalid("FCM_CREDENTIALS_FILE", e.to_string()))?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|e| {
            SetupError::Invalid("FCM_CREDENTIALS_FILE", format!("private_key: {e}"))
        })?;
        let url = |s: &str, var: &'static str| {
            reqwest::Url::parse(s).map_err(|e| SetupError::Invalid(var, e.to_string()))
        };
        let base = settings.endpoint.trim_end_matches('/');
        let send_url = url(
            &format!("{base}/v1/projects/{}/messages:send", account.project_id),
            "FCM_ENDPOINT",
        )?;
        Ok(Self {
            http: crate::setup::client(false)?,
            send_url,
            token_uri: url(&account.token_uri, "FCM_CREDENTIALS_FILE")?,
            client_email: account.client_email,
            key,
            key_id: account.private_key_id,
            token: Mutex::new(None),
        })
    }

    /// A valid access token: the cached one unless it is close to expiring or is
    /// `stale` (refused by FCM), else a fresh one. Callers wait for one fetch.
    async fn access_token(&self, stale: Option<&str>) -> Result<String, PushError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && t.fetch_after > Instant::now()
            && stale != Some(t.value.as_str())
        {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// The JWT-bearer grant.
    async fn fetch_token(&self) -> Result<AccessToken, PushError> {
        let iat = unix_now();
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: self.token_uri.as_str(),
            iat,
            exp: iat + 3600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.key_id);
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| PushError::Refused(format!("cannot sign the FCM token request: {e}")))?;
        let res = self
            .http
            .post(self.token_uri.clone())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| PushError::Unavailable(format!("FCM token endpoint: {e}")))?;
        let status = res.status();
        if !status.is_success() {
            // Google's answer names the problem (`invalid_grant`: a revoked key, a clock
            // far off); it never quotes the key.
            let why: Value = res.json().await.unwrap_or(Value::Null);
            let code = why["error"].as_str().unwrap_or("unknown");
            tracing::error!(
                status = status.as_u16(),
                error = code,
                description = why["error_description"].as_str().unwrap_or(""),
                "FCM CREDENTIALS REFUSED: the token endpoint will not give an access token for \
                 FCM_CREDENTIALS_FILE; FCM messages wait and are tried again later"
            );
            return Err(PushError::Unavailable(format!(
                "FCM token endpoint answered HTTP {status} ({code})"
            )));
        }
        let t: TokenResponse = res
            .json()
            .await
            .map_err(|e| PushError::Unavailable(format!("FCM token endpoint: {e}")))?;
        let life = Duration::from_secs(t.expires_in).saturating_sub(REFRESH_EARLY);
        Ok(AccessToken {
            value: t.access_token,
            fetch_after: Instant::now() + life,
        })
    }

    /// Sends one message with `token`, getting a fresh token once if FCM refuses it.
    async fn send_one(&self, m: &PushMessage, token: String) -> Ticket {
        let body = message_json(m);
        let mut token = token;
        for first in [true, false] {
            let res = self
                .http
                .post(self.send_url.clone())
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            let res = match res {
                Ok(r) => r,
                Err(e) => return Ticket::Failed(Failure::Unavailable(e.without_url().to_string())),
            };
            let status = res.status().as_u16();
            if status == 200 {
                return Ticket::Accepted { receipt_id: None };
            }
            if status == 401 && first {
                match self.access_token(Some(&token)).await {
                    Ok(fresh) => {
                        token = fresh;
                        continue;
                    }
                    Err(e) => return Ticket::Failed(Failure::Unavailable(e.to_string())),
                }
            }
            let error: ErrorResponse = res.json().await.unwrap_or_default();
            return Ticket::Failed(failure(status, &error.error));
        }
        Ticket::Failed(Failure::BadCredentials)
    }
}

/// What an FCM error means for the message.
fn failure(status: u16, error: &ErrorBody) -> Failure {
    let code = error
        .details
        .iter()
        .find_map(|d| d.error_code.as_deref())
        .or(error.status.as_deref());
    match (status, code) {
        // Only FCM's own word forgets a device: a bare 404 (a wrong FCM_ENDPOINT, a
        // proxy) would otherwise forget every FCM device in turn.
        (_, Some("UNREGISTERED")) | (404, Some("NOT_FOUND")) => Failure::DeviceGone,
        (429, _) | (500..=599, _) | (404, None) => Failure::Unavailable(format!("HTTP {status}")),
        // The token belongs to another Firebase project: this device, not the key.
        (403, Some("SENDER_ID_MISMATCH")) => Failure::Other("SENDER_ID_MISMATCH".into()),
        // The service account may not send (no messaging role, API disabled).
        (401 | 403, _) => Failure::BadCredentials,
        (_, Some(code)) => Failure::Other(code.to_owned()),
        _ => Failure::Other(format!("HTTP {status}")),
    }
}

/// The v1 message: the notification, its data as strings, and how Android and iOS
/// (FCM passes the `apns` part on to Apple) show it.
fn message_json(m: &PushMessage) -> Value {
    let mut data = serde_json::Map::new();
    if let Ok(Value::Object(fields)) = serde_json::to_value(&m.data) {
        for (k, v) in fields {
            match v {
                Value::Null => {}
                Value::String(s) => {
                    data.insert(k, Value::String(s));
                }
                other => {
                    data.insert(k, Value::String(other.to_string()));
                }
            }
        }
    }
    let o = &m.options;
    let mut android_notification = json!({
        "channel_id": o.channel_id,
        "notification_count": m.badge,
    });
    let mut aps = json!({ "badge": m.badge });
    if let Some(sound) = &o.sound {
        android_notification["sound"] = json!(sound);
        aps["sound"] = json!(sound);
    }
    if let Some(category) = &m.category {
        aps["category"] = json!(category);
    }
    if o.mutable_content {
        aps["mutable-content"] = json!(1);
    }
    let mut android = json!({
        "priority": if o.priority == Priority::Normal { "NORMAL" } else { "HIGH" },
        "notification": android_notification,
    });
    if let Some(ttl) = o.ttl_secs {
        android["ttl"] = json!(format!("{ttl}s"));
    }
    json!({
        "message": {
            "token": m.to,
            "notification": { "title": m.title, "body": m.body },
            "data": data,
            "android": android,
            "apns": {
                "headers": { "apns-priority": o.priority.apns_header() },
                "payload": { "aps": aps },
            },
        }
    })
}

#[async_trait]
impl PushProvider for FcmProvider {
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
        // Without an access token nothing goes out, and the whole call waits.
        let token = self.access_token(None).await?;
        Ok(futures_util::stream::iter(0..messages.len())
            .map(|i| self.send_one(&messages[i], token.clone()))
            .buffered(PARALLEL)
            .collect()
            .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> ErrorBody {
        serde_json::from_str::<ErrorResponse>(json).unwrap().error
    }

    #[test]
    fn errors_map_to_failures() {
        let unregistered = r#"{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert_eq!(failure(404, &error(unregistered)), Failure::DeviceGone);
        let gone = r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"errorCode":"UNREGISTERED"}]}}"#;
        assert_eq!(failure(400, &error(gone)), Failure::DeviceGone);
        // A 404 that is not FCM's (no error body) says nothing about the device.
        assert!(matches!(
            failure(404, &ErrorBody::default()),
            Failure::Unavailable(_)
        ));
        let denied = r#"{"error":{"code":403,"status":"PERMISSION_DENIED"}}"#;
        assert_eq!(failure(403, &error(denied)), Failure::BadCredentials);
        let mismatch = r#"{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"errorCode":"SENDER_ID_MISMATCH"}]}}"#;
        assert_eq!(
            failure(403, &error(mismatch)),
            Failure::Other("SENDER_ID_MISMATCH".into())
        );
        assert!(matches!(
            failure(429, &ErrorBody::default()),
            Failure::Unavailable(_)
        ));
        assert!(matches!(
            failure(503, &ErrorBody::default()),
            Failure::Unavailable(_)
        ));
        let invalid = r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert_eq!(
            failure(400, &error(invalid)),
            Failure::Other("INVALID_ARGUMENT".into())
        );
    }
}
