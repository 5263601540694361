//! Expo's push service: `POST` a JSON array of at most 100 messages; the answer holds
//! one ticket per message. HTTP 429 and 5xx mean "try again later".

use crate::provider::{PushError, PushMessage, PushProvider, Ticket};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Messages per request, the service's limit.
pub const BATCH: usize = 100;

/// The Expo push client.
pub struct ExpoProvider {
    client: reqwest::Client,
    url: String,
    access_token: Option<String>,
}

impl std::fmt::Debug for ExpoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access token never prints.
        f.debug_struct("ExpoProvider")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ExpoMessage<'a> {
    to: &'a str,
    title: &'a str,
    body: &'a str,
    data: &'a crate::provider::PushData,
    sound: &'static str,
    badge: u32,
    #[serde(rename = "channelId")]
    channel_id: &'static str,
}

#[derive(Deserialize)]
struct ExpoResponse {
    #[serde(default)]
    data: Vec<ExpoTicket>,
}

#[derive(Deserialize)]
struct ExpoTicket {
    status: String,
    #[serde(default)]
    details: Option<ExpoDetails>,
}

#[derive(Deserialize)]
struct ExpoDetails {
    #[serde(default)]
    error: Option<String>,
}

impl ExpoProvider {
    /// A client for the service at `url` (`EXPO_PUSH_URL`), with an optional access
    /// token (`EXPO_ACCESS_TOKEN`). Requests time out after 10 s and follow no redirects.
    pub fn new(url: String, access_token: Option<String>) -> Result<Self, PushError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PushError::Refused(e.to_string()))?;
        Ok(Self {
            client,
            url,
            access_token,
        })
    }

    async fn send_batch(&self, batch: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
        let body: Vec<ExpoMessage<'_>> = batch
            .iter()
            .map(|m| ExpoMessage {
                to: &m.to,
                title: &m.title,
                body: &m.body,
                data: &m.data,
                sound: "default",
                badge: m.badge,
                channel_id: crate::provider::ANDROID_CHANNEL,
            })
            .collect();
        let mut req = self.client.post(&self.url).json(&body);
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
        let parsed: ExpoResponse = res
            .json()
            .await
            .map_err(|e| PushError::Unavailable(e.to_string()))?;
        let mut tickets: Vec<Ticket> = parsed
            .data
            .into_iter()
            .map(
                |t| match (t.status.as_str(), t.details.and_then(|d| d.error)) {
                    ("ok", _) => Ticket::Ok,
                    (_, Some(e)) if e == "DeviceNotRegistered" => Ticket::DeviceNotRegistered,
                    // Only the error code: Expo's message can quote the device token.
                    (_, e) => Ticket::Refused(e.unwrap_or_else(|| "unknown".into())),
                },
            )
            .collect();
        // A short answer is treated as refusals for the rest, never as success.
        tickets.resize(batch.len(), Ticket::Refused("no ticket".into()));
        Ok(tickets)
    }
}

#[async_trait]
impl PushProvider for ExpoProvider {
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
        let mut tickets = Vec::with_capacity(messages.len());
        for batch in messages.chunks(BATCH) {
            tickets.extend(self.send_batch(batch).await?);
        }
        Ok(tickets)
    }
}
