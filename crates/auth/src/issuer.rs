//! The built-in issuer: mints ES256 access tokens with Cognito's access-token claims.

use crate::claims::{AccessClaims, TOKEN_USE_ACCESS};
use crate::keys::SigningKey;
use jsonwebtoken::{Algorithm, Header};
use scooter_core::ids::new_id;
use scooter_core::{Email, Timestamp, UserId};
use std::time::Duration;

/// A freshly minted access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Signs access tokens for local accounts.
#[derive(Debug, Clone)]
pub struct LocalIssuer {
    key: SigningKey,
    issuer: String,
    client_id: String,
    access_ttl: Duration,
}

/// Signing failed (only a broken key can cause it).
#[derive(Debug, thiserror::Error)]
#[error("cannot sign an access token")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

impl LocalIssuer {
    /// An issuer named `issuer` (the `iss` claim) for app client `client_id`.
    pub fn new(key: SigningKey, issuer: String, client_id: String, access_ttl: Duration) -> Self {
        Self {
            key,
            issuer,
            client_id,
            access_ttl,
        }
    }

    /// The `iss` value of this issuer's tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The app client id put in `client_id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The signing key (its public half is published as JWKS).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Mints an access token for a user, in `session` (a refresh-token family) when the
    /// token belongs to one.
    pub fn issue(
        &self,
        user: &UserId,
        email: &Email,
        email_verified: bool,
        session: Option<&str>,
    ) -> Result<IssuedToken, SignError> {
        let now = Timestamp::now().seconds();
        let ttl = i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = AccessClaims {
            sub: user.to_string(),
            iss: self.issuer.clone(),
            exp: now.saturating_add(ttl),
            iat: now,
            jti: new_id(),
            token_use: Some(TOKEN_USE_ACCESS.to_owned()),
            client_id: Some(self.client_id.clone()),
            aud: None,
            username: Some(user.to_string()),
            email: Some(email.to_string()),
            email_verified: Some(email_verified),
            groups: Vec::new(),
            sid: session.map(str::to_owned),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid().to_owned());
        let token =
            jsonwebtoken::encode(&header, &claims, self.key.encoding_key()).map_err(SignError)?;
        Ok(IssuedToken {
            token,
            expires_in: self.access_ttl.as_secs(),
        })
    }
}
