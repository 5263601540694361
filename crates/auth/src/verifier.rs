//! Access-token verification. The algorithm is pinned per issuer (never read from the
//! token), the key is chosen by `kid` from a key source, `exp`/`iss`/`sub` are required,
//! and `token_use` and `client_id` are checked as AWS advises for Cognito access tokens.

use crate::claims::{AccessClaims, TOKEN_USE_ACCESS};
use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use scooter_core::{Email, UserId};
use std::collections::HashMap;
use std::sync::Arc;

/// Clock skew tolerated on `exp` and `nbf`, in seconds. Small because access tokens are
/// short-lived; tested at both edges.
pub const LEEWAY_SECS: u64 = 30;

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// Not a well-formed JWT, or an algorithm other than the pinned one.
    #[error("malformed token or wrong algorithm")]
    Malformed,
    /// The `kid` names no key of this issuer.
    #[error("unknown signing key")]
    UnknownKey,
    /// Expired.
    #[error("token expired")]
    Expired,
    /// Bad signature, wrong issuer, wrong token use or client, missing claims.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// The key source could not be reached; unknown keys fail closed.
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

/// Where verification keys come from: a fixed set (the built-in issuer) or, later, a
/// remote JWKS with caching (Cognito, OIDC).
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The key with this id, if the issuer has one.
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError>;
}

/// A fixed set of keys.
#[derive(Clone, Default)]
pub struct StaticKeys(HashMap<String, DecodingKey>);

impl StaticKeys {
    /// A set with one key.
    pub fn single(kid: &str, key: DecodingKey) -> Self {
        Self(HashMap::from([(kid.to_owned(), key)]))
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, AuthError> {
        Ok(self.0.get(kid).cloned())
    }
}

/// What a valid token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The user id (`sub`).
    pub user_id: UserId,
    /// The address, when the token carries one.
    pub email: Option<Email>,
    /// Whether the issuer verified the address.
    pub email_verified: bool,
}

/// Verifies access tokens of one issuer.
#[derive(Clone)]
pub struct JwksVerifier {
    keys: Arc<dyn KeySource>,
    validation: Validation,
    client_id: String,
}

impl JwksVerifier {
    /// A verifier for tokens from `issuer`, signed with `algorithm`, for `client_id`.
    pub fn new(
        keys: Arc<dyn KeySource>,
        algorithm: Algorithm,
        issuer: &str,
        client_id: &str,
    ) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // Cognito access tokens carry `client_id`, not `aud`; it is checked below.
        validation.validate_aud = false;
        Self {
            keys,
            validation,
            client_id: client_id.to_owned(),
        }
    }

    /// Verifies a compact JWT and returns what it vouches for.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(AuthError::Malformed);
        }
        let kid = header.kid.ok_or(AuthError::Invalid("no key id"))?;
        let key = self.keys.key(&kid).await?.ok_or(AuthError::UnknownKey)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidIssuer => AuthError::Invalid("issuer"),
                ErrorKind::InvalidAlgorithm => AuthError::Malformed,
                ErrorKind::ImmatureSignature => AuthError::Invalid("not yet valid"),
                ErrorKind::MissingRequiredClaim(_) => AuthError::Invalid("missing claim"),
                _ => AuthError::Invalid("signature or claims"),
            },
        )?;
        let claims = data.claims;
        if claims.token_use != TOKEN_USE_ACCESS {
            return Err(AuthError::Invalid("token_use"));
        }
        if claims.client_id != self.client_id {
            return Err(AuthError::Invalid("client_id"));
        }
        let user_id = UserId::parse(&claims.sub).ok_or(AuthError::Invalid("sub"))?;
        let email = claims.email.as_deref().and_then(|e| Email::parse(e).ok());
        Ok(VerifiedToken {
            user_id,
            email,
            email_verified: claims.email_verified.unwrap_or(false),
        })
    }
}
