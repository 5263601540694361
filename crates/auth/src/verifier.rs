//! Access-token verification. The algorithm is pinned per issuer (never read from the
//! token), the key is chosen by `kid` from a key source, `exp`/`iss`/`sub` are required,
//! and `token_use` and `client_id` are checked as AWS advises for Cognito access tokens.
//!
//! A token that verified is remembered (by its SHA-256) until it expires: an ES256
//! signature check costs more CPU than the rest of a typical request (bench/RESULTS.md),
//! and a client sends the same token many times. Only successes are cached, the expiry
//! is checked again on every hit, and a token that differs in one byte hashes elsewhere.

use crate::claims::{AccessClaims, TOKEN_USE_ACCESS};
use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use quick_cache::sync::Cache;
use scooter_core::{Email, Timestamp, UserId};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Verified tokens remembered at most; ~300 bytes each.
const CACHED_TOKENS: usize = 10_000;

/// Clock skew tolerated on `exp` and `nbf`, in seconds. Small because access tokens are
/// short-lived; tested at both edges.
pub const LEEWAY_SECS: u64 = 30;

/// Why a token was refused.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The built-in sign-in's session id (`sid`), if the token names one.
    pub session: Option<String>,
}

/// A verified token and when it stops being valid (`exp`, seconds).
#[derive(Clone)]
struct Remembered {
    token: VerifiedToken,
    exp: i64,
}

/// Verifies access tokens of one issuer.
#[derive(Clone)]
pub struct JwksVerifier {
    keys: Arc<dyn KeySource>,
    validation: Validation,
    client_id: String,
    verified: Arc<Cache<[u8; 32], Remembered>>,
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
            verified: Arc::new(Cache::new(CACHED_TOKENS)),
        }
    }

    /// Verifies a compact JWT and returns what it vouches for.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Timestamp::now().seconds();
        if let Some(hit) = self.verified.get(&digest) {
            if now <= hit.exp.saturating_add(LEEWAY_SECS as i64) {
                return Ok(hit.token);
            }
            self.verified.remove(&digest);
            return Err(AuthError::Expired);
        }
        let (verified, exp) = self.verify_signed(token).await?;
        self.verified.insert(
            digest,
            Remembered {
                token: verified.clone(),
                exp,
            },
        );
        Ok(verified)
    }

    /// The full check: header, key, signature, claims.
    async fn verify_signed(&self, token: &str) -> Result<(VerifiedToken, i64), AuthError> {
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
        let verified = VerifiedToken {
            user_id,
            email,
            email_verified: claims.email_verified.unwrap_or(false),
            session: claims.sid,
        };
        Ok((verified, claims.exp))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::SigningKey;
    use jsonwebtoken::Header;

    const ISSUER: &str = "https://issuer.test";
    const CLIENT: &str = "app";

    fn setup() -> (SigningKey, JwksVerifier) {
        let key = SigningKey::generate().unwrap();
        let keys = StaticKeys::single(key.kid(), key.decoding_key().unwrap());
        let verifier = JwksVerifier::new(Arc::new(keys), Algorithm::ES256, ISSUER, CLIENT);
        (key, verifier)
    }

    fn token(key: &SigningKey, sub: &str, exp: i64) -> String {
        let claims = AccessClaims {
            sub: sub.into(),
            iss: ISSUER.into(),
            exp,
            iat: exp - 900,
            jti: "j".into(),
            token_use: TOKEN_USE_ACCESS.into(),
            client_id: CLIENT.into(),
            username: None,
            email: None,
            email_verified: None,
            sid: None,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap()
    }

    #[tokio::test]
    async fn a_remembered_token_still_needs_its_own_bytes() {
        let (key, verifier) = setup();
        let good = token(&key, "alice", Timestamp::now().seconds() + 600);
        assert_eq!(
            verifier.verify(&good).await.unwrap().user_id.as_str(),
            "alice"
        );
        assert_eq!(
            verifier.verify(&good).await.unwrap().user_id.as_str(),
            "alice"
        );
        // The same token with its last signature character changed is not the cached one.
        let mut forged = good.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(verifier.verify(&forged).await.is_err());
        // Another key's token for the same user is refused although alice's is cached.
        let (other_key, _) = setup();
        let foreign = token(&other_key, "alice", Timestamp::now().seconds() + 600);
        assert!(verifier.verify(&foreign).await.is_err());
    }

    #[tokio::test]
    async fn a_remembered_token_expires_on_time() {
        let (key, verifier) = setup();
        // Valid only thanks to the leeway, for one more second.
        let exp = Timestamp::now().seconds() - LEEWAY_SECS as i64 + 1;
        let t = token(&key, "bob", exp);
        assert!(verifier.verify(&t).await.is_ok());
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert!(matches!(verifier.verify(&t).await, Err(AuthError::Expired)));
        assert!(matches!(verifier.verify(&t).await, Err(AuthError::Expired)));
    }
}
