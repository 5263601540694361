//! The claims of an access token: Cognito's access-token claims plus `email`, so one
//! verifier and one identity mapping serve both issuers; `aud` for other OpenID Connect
//! providers' access tokens, which name their audience instead of a client.

use serde::{Deserialize, Serialize};

/// The only `token_use` accepted on API requests.
pub const TOKEN_USE_ACCESS: &str = "access";

/// Access-token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// Who issued the token.
    pub iss: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id (absent from some OIDC providers' tokens).
    #[serde(default)]
    pub jti: String,
    /// `access` for access tokens (Cognito also issues `id` tokens, refused here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
    /// The app client the token was issued to (Cognito access tokens have no `aud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The audience (OIDC access tokens): one string or a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Cognito's `username`; the built-in issuer puts the user id there.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the issuer verified the address.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// The Cognito groups the user belongs to (`cognito:groups`).
    #[serde(
        default,
        rename = "cognito:groups",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// The built-in sign-in's session (refresh-token family) the token was issued in,
    /// so `GET /me/sessions` can say which is the caller's; Cognito's tokens have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The `aud` claim: RFC 7519 allows one string or an array of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `wanted` is among the audiences.
    pub fn contains(&self, wanted: &str) -> bool {
        match self {
            Self::One(a) => a == wanted,
            Self::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}
