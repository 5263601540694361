//! OpenID Connect discovery: the provider's `/.well-known/openid-configuration`, read
//! lazily on first need (a token to verify, a new user's address to look up) and kept
//! once it was read. Its `issuer` must be exactly the configured one (OpenID Connect
//! Discovery 1.0, section 4.3), and the URLs it names must be HTTPS like the issuer's.

use crate::fetch::{self, FetchError};
use reqwest::Url;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Largest discovery document accepted.
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// How long reading the document may take.
const DISCOVERY_TIMEOUT: Duration = Duration::from_millis(1500);

/// What we use of a discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryDocument {
    /// Where the signing keys are.
    pub jwks_uri: Url,
    /// Where an access token buys the user's claims, if the provider has it.
    pub userinfo_endpoint: Option<Url>,
}

#[derive(Deserialize)]
struct RawDocument {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

/// Discovery cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The issuer is not an HTTPS (or loopback) URL.
    #[error("{0}")]
    Issuer(String),
    /// The HTTP client could not be built.
    #[error("cannot build an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A provider's discovery document, fetched once.
pub struct Discovery {
    issuer: String,
    url: Url,
    http: reqwest::Client,
    // A tokio mutex: the first callers wait for one fetch instead of each fetching.
    document: tokio::sync::Mutex<Option<Arc<DiscoveryDocument>>>,
}

impl Discovery {
    /// Discovery for `issuer`, exactly as tokens name it (`iss`).
    pub fn new(issuer: &str) -> Result<Self, DiscoveryError> {
        let base = issuer.trim_end_matches('/');
        let url = fetch::secure_url(&format!("{base}/.well-known/openid-configuration"))
            .map_err(DiscoveryError::Issuer)?;
        Ok(Self {
            issuer: issuer.to_owned(),
            url,
            http: fetch::client(DISCOVERY_TIMEOUT).map_err(DiscoveryError::Client)?,
            document: tokio::sync::Mutex::new(None),
        })
    }

    /// The document, fetched on the first call (and again after a failed one).
    pub async fn document(&self) -> Result<Arc<DiscoveryDocument>, FetchError> {
        let mut slot = self.document.lock().await;
        if let Some(doc) = slot.as_ref() {
            return Ok(doc.clone());
        }
        let doc = Arc::new(self.fetch().await?);
        *slot = Some(doc.clone());
        Ok(doc)
    }

    async fn fetch(&self) -> Result<DiscoveryDocument, FetchError> {
        let res = self.http.get(self.url.clone()).send().await?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        let body = fetch::read_limited(res, MAX_DISCOVERY_BYTES).await?;
        let raw: RawDocument =
            serde_json::from_slice(&body).map_err(|e| FetchError::Body(e.to_string()))?;
        // Tokens' `iss` is compared exactly, so the document must agree exactly too:
        // `https://x/` and `https://x` are two issuers (a mismatch is logged loudly).
        if raw.issuer != self.issuer {
            return Err(FetchError::Body(format!(
                "the document names issuer {:?}, not {:?}",
                raw.issuer, self.issuer
            )));
        }
        let jwks_uri = fetch::secure_url(&raw.jwks_uri).map_err(FetchError::Body)?;
        let userinfo_endpoint = raw
            .userinfo_endpoint
            .as_deref()
            .map(fetch::secure_url)
            .transpose()
            .map_err(FetchError::Body)?;
        Ok(DiscoveryDocument {
            jwks_uri,
            userinfo_endpoint,
        })
    }
}
