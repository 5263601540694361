//! The claims of an access token: Cognito's access-token claims plus `email`, so one
//! verifier and one identity mapping serve both issuers.

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
    /// Unique token id.
    pub jti: String,
    /// `access` for access tokens (Cognito also issues `id` tokens, refused here).
    pub token_use: String,
    /// The app client the token was issued to (Cognito access tokens have no `aud`).
    pub client_id: String,
    /// Cognito's `username`; the built-in issuer puts the user id there.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the issuer verified the address.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// The built-in sign-in's session (refresh-token family) the token was issued in,
    /// so `GET /me/sessions` can say which is the caller's; Cognito's tokens have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}
