//! Expo's push service. Sending: `POST` a JSON array of at most 100 messages to
//! `EXPO_PUSH_URL`; the answer holds one ticket per message, in order, with a receipt
//! id when accepted. Receipts: `POST {"ids": […]}` (at most 1,000) to `getReceipts`
//! beside the send endpoint; the answer maps each id whose outcome is known to `ok` or
//! an error. HTTP 429 and 5xx mean "try again later". Bodies over 1 KiB go gzipped, as
//! Expo's own SDKs send them.
//!
//! Messages handed in at the same moment by concurrent push jobs leave together (see
//! [`crate::batch`]); at most 6 requests are in flight at once, as Expo asks.

use crate::batch::{Batcher, SendFn};
use crate::provider::{Failure, PushError, PushMessage, PushProvider, Receipt, Ticket};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Messages per send request, the service's limit.
pub const BATCH: usize = 100;

/// Receipt ids per getReceipts request, the service's limit.
pub const RECEIPT_BATCH: usize = 1000;

/// Requests in flight at once, the service's guidance.
pub const PARALLEL: usize = 6;

/// Bodies larger than this are gzipped.
const GZIP_OVER: usize = 1024;

/// Where and how to reach Expo.
#[derive(Clone)]
pub struct ExpoSettings {
    /// The send endpoint (`EXPO_PUSH_URL`); getReceipts is its sibling.
    pub url: String,
    /// Expo access token, when the project requires one (`EXPO_ACCESS_TOKEN`).
    pub access_token: Option<String>,
    /// How long messages wait for others to leave with them (`PUSH_BATCH_WINDOW_MS`).
    pub batch_window: Duration,
}

impl std::fmt::Debug for ExpoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access token never prints.
        f.debug_struct("ExpoSettings")
            .field("url", &self.url)
            .field("batch_window", &self.batch_window)
            .finish_non_exhaustive()
    }
}

/// The Expo push client.
pub struct ExpoProvider {
    sends: Batcher<PushMessage, Ticket>,
    receipts: Batcher<String, Option<Receipt>>,
    url: String,
}

impl std::fmt::Debug for ExpoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpoProvider")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The HTTP side, shared by both batchers.
struct Client {
    http: reqwest::Client,
    send_url: reqwest::Url,
    receipts_url: reqwest::Url,
    access_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExpoMessage<'a> {
    to: &'a str,
    title: &'a str,
    body: &'a str,
    data: &'a crate::provider::PushData,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
    badge: u32,
    channel_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    category_id: Option<&'a str>,
    priority: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    mutable_content: bool,
}

impl<'a> From<&'a PushMessage> for ExpoMessage<'a> {
    fn from(m: &'a PushMessage) -> Self {
        Self {
            to: &m.to,
            title: &m.title,
            body: &m.body,
            data: &m.data,
            sound: m.options.sound.as_deref(),
            badge: m.badge,
            channel_id: &m.options.channel_id,
            category_id: m.category.as_deref(),
            priority: m.options.priority.as_str(),
            ttl: m.options.ttl_secs,
            mutable_content: m.options.mutable_content,
        }
    }
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    data: Vec<ExpoOutcome>,
}

#[derive(Deserialize)]
struct ReceiptsResponse {
    #[serde(default)]
    data: HashMap<String, ExpoOutcome>,
}

/// A ticket or a receipt: `{"status": "ok", "id": …}` or `{"status": "error",
/// "message": …, "details": {"error": "DeviceNotRegistered"}}`.
#[derive(Deserialize)]
struct ExpoOutcome {
    status: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    details: Option<ExpoDetails>,
}

#[derive(Deserialize)]
struct ExpoDetails {
    #[serde(default)]
    error: Option<String>,
}

impl ExpoOutcome {
    /// The failure, if any. Only the error code is kept: Expo's message can quote the
    /// device token.
    fn failure(self) -> Option<Failure> {
        if self.status == "ok" {
            return None;
        }
        let code = self.details.and_then(|d| d.error);
        Some(match code.as_deref() {
            Some("DeviceNotRegistered") => Failure::DeviceGone,
            Some("MessageTooBig") => Failure::TooBig,
            Some("MessageRateExceeded") => Failure::RateExceeded,
            Some("InvalidCredentials") => Failure::BadCredentials,
            _ => Failure::Other(code.unwrap_or_else(|| "unknown".into())),
        })
    }
}

/// getReceipts beside the send endpoint: `…/push/send` → `…/push/getReceipts`.
fn receipts_url(send: &reqwest::Url) -> Result<reqwest::Url, PushError> {
    let mut url = send.clone();
    url.path_segments_mut()
        .map_err(|()| PushError::Refused(format!("{send} cannot be a push endpoint")))?
        .pop()
        .push("getReceipts");
    Ok(url)
}

impl ExpoProvider {
    /// A client for `settings`. Requests time out after 10 s and follow no redirects.
    pub fn new(settings: ExpoSettings) -> Result<Self, PushError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PushError::Refused(e.to_string()))?;
        let send_url = reqwest::Url::parse(&settings.url)
            .map_err(|e| PushError::Refused(format!("EXPO_PUSH_URL: {e}")))?;
        let client = Arc::new(Client {
            http,
            receipts_url: receipts_url(&send_url)?,
            send_url,
            access_token: settings.access_token,
        });
        let c = client.clone();
        let send: SendFn<PushMessage, Ticket> = Arc::new(move |batch| {
            let c = c.clone();
            Box::pin(async move { c.send(batch).await })
        });
        let c = client;
        let lookup: SendFn<String, Option<Receipt>> = Arc::new(move |ids| {
            let c = c.clone();
            Box::pin(async move { c.receipts(ids).await })
        });
        Ok(Self {
            sends: Batcher::new(BATCH, PARALLEL, settings.batch_window, send),
            receipts: Batcher::new(RECEIPT_BATCH, PARALLEL, settings.batch_window, lookup),
            url: settings.url,
        })
    }
}

impl Client {
    /// Posts `body` as JSON (gzipped when large) and checks the status.
    async fn post(
        &self,
        url: &reqwest::Url,
        body: &impl Serialize,
    ) -> Result<reqwest::Response, PushError> {
        let json = serde_json::to_vec(body).map_err(|e| PushError::Refused(e.to_string()))?;
        let mut req = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json");
        req = if json.len() > GZIP_OVER {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(json.len() / 4),
                flate2::Compression::fast(),
            );
            gz.write_all(&json)
                .map_err(|e| PushError::Refused(e.to_string()))?;
            let zipped = gz.finish().map_err(|e| PushError::Refused(e.to_string()))?;
            req.header(reqwest::header::CONTENT_ENCODING, "gzip")
                .body(zipped)
        } else {
            req.body(json)
        };
        if let Some(token) = &self.access_token {
            req = req.bearer_auth(token);
        }
        let res = req
            .send()
            .await
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        let status = res.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(PushError::Unavailable(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(PushError::Refused(format!("HTTP {status}")));
        }
        Ok(res)
    }

    async fn send(&self, batch: Vec<PushMessage>) -> Result<Vec<Ticket>, PushError> {
        let body: Vec<ExpoMessage<'_>> = batch.iter().map(ExpoMessage::from).collect();
        let parsed: SendResponse = self
            .post(&self.send_url, &body)
            .await?
            .json()
            .await
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        let mut tickets: Vec<Ticket> = parsed
            .data
            .into_iter()
            .map(|t| {
                let receipt_id = t.id.clone();
                match t.failure() {
                    None => Ticket::Accepted { receipt_id },
                    Some(f) => Ticket::Failed(f),
                }
            })
            .collect();
        // A short answer counts as failures for the rest, never as success.
        tickets.resize(
            batch.len(),
            Ticket::Failed(Failure::Other("no ticket".into())),
        );
        Ok(tickets)
    }

    async fn receipts(&self, ids: Vec<String>) -> Result<Vec<Option<Receipt>>, PushError> {
        #[derive(Serialize)]
        struct Ids<'a> {
            ids: &'a [String],
        }
        let mut parsed: ReceiptsResponse = self
            .post(&self.receipts_url, &Ids { ids: &ids })
            .await?
            .json()
            .await
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        Ok(ids
            .iter()
            .map(|id| {
                parsed
                    .data
                    .remove(id)
                    .map(|r| r.failure().map_or(Ok(()), Err))
            })
            .collect())
    }
}

#[async_trait]
impl PushProvider for ExpoProvider {
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
        self.sends.submit(messages.to_vec()).await
    }

    async fn receipts(&self, ids: &[String]) -> Result<HashMap<String, Receipt>, PushError> {
        let found = self.receipts.submit(ids.to_vec()).await?;
        Ok(ids
            .iter()
            .zip(found)
            .filter_map(|(id, r)| r.map(|r| (id.clone(), r)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_receipts_sits_beside_the_send_endpoint() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert_eq!(
            receipts_url(&url("https://exp.host/--/api/v2/push/send"))
                .unwrap()
                .as_str(),
            "https://exp.host/--/api/v2/push/getReceipts"
        );
        assert_eq!(
            receipts_url(&url("http://127.0.0.1:9/push/send?x=1"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/push/getReceipts?x=1"
        );
    }

    #[test]
    fn error_codes_map_to_failures() {
        let outcome = |s: &str| -> ExpoOutcome { serde_json::from_str(s).unwrap() };
        assert_eq!(outcome(r#"{"status":"ok","id":"a"}"#).failure(), None);
        for (code, want) in [
            ("DeviceNotRegistered", Failure::DeviceGone),
            ("MessageTooBig", Failure::TooBig),
            ("MessageRateExceeded", Failure::RateExceeded),
            ("InvalidCredentials", Failure::BadCredentials),
            ("Whatever", Failure::Other("Whatever".into())),
        ] {
            let s = format!(
                r#"{{"status":"error","message":"ExponentPushToken[x] is bad","details":{{"error":"{code}"}}}}"#
            );
            assert_eq!(outcome(&s).failure(), Some(want));
        }
    }
}
