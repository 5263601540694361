//! The user's address from the identity provider, asked once, when a user is first seen
//! and their access token carries no `email` (Cognito's never do). Both calls are
//! authorised by the access token itself, so no AWS SDK or credentials are needed:
//!
//! - Cognito: `GetUser`, one unsigned JSON POST to the Cognito endpoint.
//! - OpenID Connect: the provider's `userinfo_endpoint` (from discovery), whose `sub`
//!   must be the token's (OpenID Connect Core 1.0, section 5.3.2).

use crate::fetch::{self, FetchError};
use crate::oidc::Discovery;
use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use scooter_core::{Email, UserId};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Largest answer accepted.
const MAX_PROFILE_BYTES: usize = 64 * 1024;

/// How long one call may take.
const PROFILE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the provider says about the user's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderProfile {
    /// The address, if the user has one (and it parses).
    pub email: Option<Email>,
    /// Whether the provider verified it.
    pub email_verified: bool,
}

/// Why the provider gave no profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The provider refused the access token (revoked, user disabled or gone).
    #[error("the identity provider refused the access token: {0}")]
    Refused(String),
    /// The provider could not be asked, or answered nonsense.
    #[error("the identity provider could not be asked: {0}")]
    Unavailable(#[from] FetchError),
}

/// Asks the identity provider for the user's address.
#[async_trait]
pub trait ProfileSource: Send + Sync {
    /// The profile of the bearer of `access_token`, whose `sub` is `user`.
    async fn profile(
        &self,
        access_token: &str,
        user: &UserId,
    ) -> Result<ProviderProfile, ProfileError>;
}

/// Cognito's `GetUser`.
pub struct CognitoGetUser {
    http: reqwest::Client,
    endpoint: Url,
}

impl CognitoGetUser {
    /// Calls `GetUser` at `endpoint` (`https://cognito-idp.<region>.amazonaws.com/`).
    pub fn new(endpoint: Url) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: fetch::client(PROFILE_TIMEOUT)?,
            endpoint,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetUserOutput {
    #[serde(default)]
    user_attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    name: String,
    #[serde(default)]
    value: String,
}

#[async_trait]
impl ProfileSource for CognitoGetUser {
    async fn profile(
        &self,
        access_token: &str,
        _user: &UserId,
    ) -> Result<ProviderProfile, ProfileError> {
        let res = self
            .http
            .post(self.endpoint.clone())
            .header("X-Amz-Target", "AWSCognitoIdentityProviderService.GetUser")
            .header(CONTENT_TYPE, "application/x-amz-json-1.1")
            .body(serde_json::json!({ "AccessToken": access_token }).to_string())
            .send()
            .await
            .map_err(FetchError::from)?;
        let status = res.status();
        let body = fetch::read_limited(res, MAX_PROFILE_BYTES).await?;
        if status.is_client_error() {
            // `NotAuthorizedException` (revoked token, disabled user) and
            // `UserNotFoundException` are about the token; anything else (throttling)
            // is Cognito's trouble, not the caller's.
            let kind = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("__type").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            if kind.contains("NotAuthorized") || kind.contains("UserNotFound") {
                return Err(ProfileError::Refused(kind));
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()).into());
        }
        let out: GetUserOutput =
            serde_json::from_slice(&body).map_err(|e| FetchError::Body(e.to_string()))?;
        let attr = |name: &str| {
            out.user_attributes
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.value.as_str())
        };
        Ok(ProviderProfile {
            email: attr("email").and_then(|e| Email::parse(e).ok()),
            email_verified: attr("email_verified") == Some("true"),
        })
    }
}

/// An OpenID Connect provider's userinfo endpoint.
pub struct OidcUserInfo {
    http: reqwest::Client,
    discovery: Arc<Discovery>,
}

impl OidcUserInfo {
    /// Asks the `userinfo_endpoint` of `discovery`'s document.
    pub fn new(discovery: Arc<Discovery>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: fetch::client(PROFILE_TIMEOUT)?,
            discovery,
        })
    }
}

#[async_trait]
impl ProfileSource for OidcUserInfo {
    async fn profile(
        &self,
        access_token: &str,
        user: &UserId,
    ) -> Result<ProviderProfile, ProfileError> {
        let doc = self.discovery.document().await?;
        let Some(endpoint) = doc.userinfo_endpoint.clone() else {
            return Ok(ProviderProfile {
                email: None,
                email_verified: false,
            });
        };
        let res = self
            .http
            .get(endpoint)
            .header(AUTHORIZATION, format!("Bearer {access_token}"))
            .send()
            .await
            .map_err(FetchError::from)?;
        let status = res.status();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(ProfileError::Refused(format!("userinfo answered {status}")));
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()).into());
        }
        let body = fetch::read_limited(res, MAX_PROFILE_BYTES).await?;
        let claims: Value =
            serde_json::from_slice(&body).map_err(|e| FetchError::Body(e.to_string()))?;
        // Another user's claims (a mix-up at the provider) must never make a profile.
        if claims.get("sub").and_then(Value::as_str) != Some(user.as_str()) {
            return Err(ProfileError::Refused("userinfo names another sub".into()));
        }
        // Some providers send `email_verified` as the string "true".
        let email_verified = match claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        Ok(ProviderProfile {
            email: claims
                .get("email")
                .and_then(Value::as_str)
                .and_then(|e| Email::parse(e).ok()),
            email_verified,
        })
    }
}
