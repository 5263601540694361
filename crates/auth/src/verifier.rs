//! Access-token verification. The algorithm is pinned per key (from the JWKS, never
//! read from the token), the key is chosen by `kid` from a key source, `exp`/`iat`/`iss`/
//! `sub` are required, and the token must be meant for us: `token_use = access` and a
//! known `client_id` (Cognito and the built-in issuer, as AWS advises for Cognito access
//! tokens), or an `aud` naming our audience (other OpenID Connect providers).
//!
//! A token that verified is remembered (by its SHA-256) until it expires: a signature
//! check costs more CPU than the rest of a typical request (bench/RESULTS.md), and a
//! client sends the same token many times. Only successes are cached, the expiry is
//! checked again on every hit, and a token that differs in one byte hashes elsewhere.

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

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Small because access
/// tokens are short-lived; tested at both edges.
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

/// A public key and the one algorithm tokens signed with it may use.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The key.
    pub key: DecodingKey,
    /// The algorithm pinned for it (from the JWK's `alg`, or its key type).
    pub algorithm: Algorithm,
}

/// Where verification keys come from: a fixed set (the built-in issuer) or a remote
/// JWKS with caching ([`crate::jwks::RemoteJwks`]: Cognito, OIDC).
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The key with this id, if the issuer has one.
    async fn key(&self, kid: &str) -> Result<Option<VerifyingKey>, AuthError>;
}

/// A fixed set of keys.
#[derive(Clone, Default)]
pub struct StaticKeys(HashMap<String, VerifyingKey>);

impl StaticKeys {
    /// A set with one key, for tokens signed with `algorithm`.
    pub fn single(kid: &str, key: DecodingKey, algorithm: Algorithm) -> Self {
        Self(HashMap::from([(
            kid.to_owned(),
            VerifyingKey { key, algorithm },
        )]))
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn key(&self, kid: &str) -> Result<Option<VerifyingKey>, AuthError> {
        Ok(self.0.get(kid).cloned())
    }
}

/// Who a token must be meant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// `token_use = access` and `client_id` one of these (Cognito, the built-in issuer).
    Clients(Vec<String>),
    /// `aud` containing this audience (other OpenID Connect providers).
    Audience(String),
}

/// What a token of one issuer must satisfy.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The exact `iss`.
    pub issuer: String,
    /// Algorithms a token header may name at all; anything else is refused before a key
    /// is looked up (so garbage never triggers a JWKS fetch). Each key then pins one.
    pub algorithms: Vec<Algorithm>,
    /// Who the token must be for.
    pub recipient: Recipient,
    /// A `cognito:groups` entry that makes its members administrators (Cognito only).
    pub admin_group: Option<String>,
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
    /// Whether the token puts its bearer in the administrators' group (`ADMIN_GROUP`
    /// in `cognito:groups`); read from each token, never stored.
    pub in_admin_group: bool,
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
    rules: Rules,
    validation: Validation,
    verified: Arc<Cache<[u8; 32], Remembered>>,
}

impl JwksVerifier {
    /// A verifier for tokens that satisfy `rules`, checked with keys from `keys`.
    pub fn new(keys: Arc<dyn KeySource>, rules: Rules) -> Self {
        // The algorithm list is replaced by the key's own for each token.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&rules.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // Cognito access tokens carry `client_id`, not `aud`; both are checked below.
        validation.validate_aud = false;
        Self {
            keys,
            rules,
            validation,
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
        if !self.rules.algorithms.contains(&header.alg) {
            return Err(AuthError::Malformed);
        }
        let kid = header.kid.ok_or(AuthError::Invalid("no key id"))?;
        let key = self.keys.key(&kid).await?.ok_or(AuthError::UnknownKey)?;
        // The key's algorithm, not the header's, decides: an RSA key's token claiming
        // HS256 (the key's public bytes as an HMAC secret) or another RSA variant fails.
        if header.alg != key.algorithm {
            return Err(AuthError::Malformed);
        }
        let mut validation = self.validation.clone();
        validation.algorithms = vec![key.algorithm];
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.key, &validation).map_err(
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
        self.check_recipient(&claims)?;
        if claims.iat
            > Timestamp::now()
                .seconds()
                .saturating_add(LEEWAY_SECS as i64)
        {
            return Err(AuthError::Invalid("issued in the future"));
        }
        let user_id = UserId::parse(&claims.sub).ok_or(AuthError::Invalid("sub"))?;
        let email = claims.email.as_deref().and_then(|e| Email::parse(e).ok());
        let in_admin_group = self
            .rules
            .admin_group
            .as_ref()
            .is_some_and(|g| claims.groups.iter().any(|c| c == g));
        let verified = VerifiedToken {
            user_id,
            email,
            email_verified: claims.email_verified.unwrap_or(false),
            session: claims.sid,
            in_admin_group,
        };
        Ok((verified, claims.exp))
    }

    /// Whether the token is an access token meant for this server.
    fn check_recipient(&self, claims: &AccessClaims) -> Result<(), AuthError> {
        // A token that says it is anything but an access token (a Cognito ID token) is
        // refused in every mode; only the client rule requires the claim.
        if claims
            .token_use
            .as_deref()
            .is_some_and(|u| u != TOKEN_USE_ACCESS)
        {
            return Err(AuthError::Invalid("token_use"));
        }
        match &self.rules.recipient {
            Recipient::Clients(clients) => {
                if claims.token_use.is_none() {
                    return Err(AuthError::Invalid("token_use"));
                }
                let known = claims
                    .client_id
                    .as_ref()
                    .is_some_and(|c| clients.contains(c));
                if !known {
                    return Err(AuthError::Invalid("client_id"));
                }
            }
            Recipient::Audience(audience) => {
                if !claims.aud.as_ref().is_some_and(|a| a.contains(audience)) {
                    return Err(AuthError::Invalid("aud"));
                }
            }
        }
        Ok(())
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
        let keys = StaticKeys::single(key.kid(), key.decoding_key().unwrap(), Algorithm::ES256);
        let verifier = JwksVerifier::new(
            Arc::new(keys),
            Rules {
                issuer: ISSUER.into(),
                algorithms: vec![Algorithm::ES256],
                recipient: Recipient::Clients(vec![CLIENT.into()]),
                admin_group: None,
            },
        );
        (key, verifier)
    }

    fn token(key: &SigningKey, sub: &str, exp: i64) -> String {
        let claims = AccessClaims {
            sub: sub.into(),
            iss: ISSUER.into(),
            exp,
            iat: exp - 900,
            jti: "j".into(),
            token_use: Some(TOKEN_USE_ACCESS.into()),
            client_id: Some(CLIENT.into()),
            aud: None,
            username: None,
            email: None,
            email_verified: None,
            groups: Vec::new(),
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

    fn verifier_with(key: &SigningKey, recipient: Recipient, group: Option<&str>) -> JwksVerifier {
        let keys = StaticKeys::single(key.kid(), key.decoding_key().unwrap(), Algorithm::ES256);
        JwksVerifier::new(
            Arc::new(keys),
            Rules {
                issuer: ISSUER.into(),
                algorithms: vec![Algorithm::ES256, Algorithm::ES384],
                recipient,
                admin_group: group.map(str::to_owned),
            },
        )
    }

    fn signed(key: &SigningKey, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap()
    }

    fn base(extra: serde_json::Value) -> serde_json::Value {
        let now = Timestamp::now().seconds();
        let mut c = serde_json::json!({
            "sub": "u-1", "iss": ISSUER, "exp": now + 600, "iat": now, "jti": "j",
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[tokio::test]
    async fn a_header_naming_another_algorithm_than_the_keys_is_refused() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_with(&key, Recipient::Clients(vec![CLIENT.into()]), None);
        let good = signed(
            &key,
            base(serde_json::json!({"token_use": "access", "client_id": CLIENT})),
        );
        // Same signature and claims, header rewritten to ES384 (allowed by the issuer,
        // but not the algorithm this key is pinned to).
        let mut parts = good.split('.');
        let (_, body, sig) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::json!({"alg": "ES384", "kid": key.kid()}).to_string());
        let forged = format!("{header}.{body}.{sig}");
        assert!(matches!(
            verifier.verify(&forged).await,
            Err(AuthError::Malformed)
        ));
        assert!(verifier.verify(&good).await.is_ok());
    }

    #[tokio::test]
    async fn only_access_tokens_of_listed_clients_pass_the_client_rule() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_with(&key, Recipient::Clients(vec!["a".into(), "b".into()]), None);
        for (claims, ok) in [
            (
                serde_json::json!({"token_use": "access", "client_id": "a"}),
                true,
            ),
            (
                serde_json::json!({"token_use": "access", "client_id": "b"}),
                true,
            ),
            (
                serde_json::json!({"token_use": "access", "client_id": "c"}),
                false,
            ),
            (serde_json::json!({"token_use": "access"}), false),
            (serde_json::json!({"token_use": "id", "aud": "a"}), false),
            (serde_json::json!({"client_id": "a"}), false),
        ] {
            let t = signed(&key, base(claims.clone()));
            assert_eq!(verifier.verify(&t).await.is_ok(), ok, "{claims}");
        }
    }

    #[tokio::test]
    async fn an_audience_token_must_name_ours_and_not_be_an_id_token() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_with(&key, Recipient::Audience("api".into()), None);
        for (claims, ok) in [
            (serde_json::json!({"aud": "api"}), true),
            (serde_json::json!({"aud": ["other", "api"]}), true),
            (serde_json::json!({"aud": "other"}), false),
            (serde_json::json!({}), false),
            (serde_json::json!({"aud": "api", "token_use": "id"}), false),
        ] {
            let t = signed(&key, base(claims.clone()));
            assert_eq!(verifier.verify(&t).await.is_ok(), ok, "{claims}");
        }
    }

    #[tokio::test]
    async fn a_token_issued_in_the_future_is_refused_beyond_the_leeway() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_with(&key, Recipient::Audience("api".into()), None);
        let now = Timestamp::now().seconds();
        let soon = signed(
            &key,
            base(serde_json::json!({"aud": "api", "iat": now + 20})),
        );
        let later = signed(
            &key,
            base(serde_json::json!({"aud": "api", "iat": now + 60})),
        );
        assert!(verifier.verify(&soon).await.is_ok());
        assert!(matches!(
            verifier.verify(&later).await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn the_admin_group_is_read_from_each_token() {
        let key = SigningKey::generate().unwrap();
        let verifier = verifier_with(
            &key,
            Recipient::Clients(vec![CLIENT.into()]),
            Some("admins"),
        );
        let claims = |groups: serde_json::Value| {
            base(serde_json::json!({
                "token_use": "access", "client_id": CLIENT, "cognito:groups": groups,
            }))
        };
        let admin = signed(&key, claims(serde_json::json!(["riders", "admins"])));
        let rider = signed(&key, claims(serde_json::json!(["riders"])));
        assert!(verifier.verify(&admin).await.unwrap().in_admin_group);
        assert!(!verifier.verify(&rider).await.unwrap().in_admin_group);
        // Without an admin group (every mode but Cognito) the claim means nothing.
        let plain = verifier_with(&key, Recipient::Clients(vec![CLIENT.into()]), None);
        assert!(!plain.verify(&admin).await.unwrap().in_admin_group);
    }
}
