//! Keys from a remote JWKS (Cognito, any OpenID Connect provider), fetched lazily on the
//! first token (nothing at start: a Lambda cold start should not wait on a key fetch),
//! cached, and fetched again when a token names an unknown `kid` (keys rotate), at most
//! once per `refetch_interval` so a stream of made-up `kid`s cannot turn us into a
//! JWKS-fetching amplifier. A fetch that failed is retried sooner (`retry_interval`), and
//! a key set older than `max_age` is fetched again when next used, so a withdrawn key
//! stops working. While the JWKS cannot be fetched, known keys keep working and unknown
//! ones fail closed with [`AuthError::KeysUnavailable`].
//!
//! Each key's algorithm is pinned from the JWKS (its `alg`, else RS256 for RSA and ES256
//! for EC P-256 keys); keys of algorithms the issuer may not use (Cognito: RS256 only),
//! symmetric keys and encryption keys are skipped.

use crate::fetch::{self, FetchError};
use crate::oidc::Discovery;
use crate::verifier::{AuthError, KeySource, VerifyingKey};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use serde::Deserialize;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Largest JWKS body accepted (a real one is a few KB).
pub const MAX_JWKS_BYTES: usize = 150 * 1024;

/// How long one JWKS fetch may take in all.
pub const FETCH_TIMEOUT: Duration = Duration::from_millis(1500);

/// Where the JWKS is.
#[derive(Clone)]
pub enum JwksLocation {
    /// A configured URL (`COGNITO_JWKS_URL`, `OIDC_JWKS_URL`, Cognito's default).
    Fixed(Url),
    /// The `jwks_uri` of an OpenID Connect discovery document.
    Discovered(Arc<Discovery>),
}

/// The keys last fetched and when.
#[derive(Default)]
struct Snapshot {
    /// `None` until a fetch succeeded.
    keys: Option<Arc<HashMap<String, VerifyingKey>>>,
    /// When the last fetch was tried.
    attempted: Option<Instant>,
    /// When the last fetch succeeded.
    fetched: Option<Instant>,
    /// Whether that fetch failed.
    failed: bool,
}

/// A JWKS fetched over HTTPS, cached, refetched for unknown key ids.
pub struct RemoteJwks {
    http: reqwest::Client,
    location: JwksLocation,
    algorithms: Vec<Algorithm>,
    /// Least time between fetches caused by unknown `kid`s after a successful fetch.
    pub refetch_interval: Duration,
    /// Least time between fetches after a failed one.
    pub retry_interval: Duration,
    /// How long a fetched key set is trusted without looking again: a key the provider
    /// withdrew (rotated out, compromised) stops working within this time even if no
    /// unknown `kid` ever causes a refetch.
    pub max_age: Duration,
    /// Largest body accepted.
    pub max_bytes: usize,
    snapshot: RwLock<Snapshot>,
    // One fetch at a time: requests with unknown kids wait for it instead of each
    // fetching.
    fetching: tokio::sync::Mutex<()>,
}

impl RemoteJwks {
    /// A key source reading `location`, keeping keys whose algorithm is in `algorithms`.
    pub fn new(location: JwksLocation, algorithms: Vec<Algorithm>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: fetch::client(FETCH_TIMEOUT)?,
            location,
            algorithms,
            refetch_interval: Duration::from_secs(60),
            retry_interval: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
            max_bytes: MAX_JWKS_BYTES,
            snapshot: RwLock::new(Snapshot::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The cached key, while the key set is younger than `max_age`.
    fn fresh(&self, kid: &str) -> Option<VerifyingKey> {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        if snap.fetched.is_none_or(|at| at.elapsed() >= self.max_age) {
            return None;
        }
        snap.keys.as_ref().and_then(|k| k.get(kid).cloned())
    }

    /// Fetches and parses the key set.
    async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, FetchError> {
        let url = match &self.location {
            JwksLocation::Fixed(url) => url.clone(),
            JwksLocation::Discovered(d) => d.document().await?.jwks_uri.clone(),
        };
        let res = self.http.get(url).send().await?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        let body = fetch::read_limited(res, self.max_bytes).await?;
        parse_jwks(&body, &self.algorithms)
    }
}

#[async_trait]
impl KeySource for RemoteJwks {
    async fn key(&self, kid: &str) -> Result<Option<VerifyingKey>, AuthError> {
        if let Some(key) = self.fresh(kid) {
            return Ok(Some(key));
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Decided under the lock: the request we waited for may have fetched already.
        let (cached, due, nothing_to_go_by) = {
            let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
            let fresh = snap.fetched.is_some_and(|at| at.elapsed() < self.max_age);
            let cached = snap.keys.as_ref().and_then(|k| k.get(kid).cloned());
            if fresh && cached.is_some() {
                return Ok(cached);
            }
            let wait = if snap.failed {
                self.retry_interval
            } else if cached.is_some() {
                // A known key in a key set older than `max_age`: look again now.
                Duration::ZERO
            } else {
                self.refetch_interval
            };
            let due = snap.attempted.is_none_or(|at| at.elapsed() >= wait);
            (cached, due, snap.failed || snap.keys.is_none())
        };
        if !due {
            // Too soon to ask again: unknown means unknown, unless we have no good
            // answer to go by.
            return match cached {
                Some(key) => Ok(Some(key)),
                None if nothing_to_go_by => Err(AuthError::KeysUnavailable),
                None => Ok(None),
            };
        }
        let fetched = self.fetch().await;
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        snap.attempted = Some(now);
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the identity provider's JWKS");
                let found = keys.get(kid).cloned();
                snap.keys = Some(Arc::new(keys));
                snap.fetched = Some(now);
                snap.failed = false;
                Ok(found)
            }
            Err(e) => {
                // Keys already known stay in use; only unknown ones fail closed.
                tracing::warn!(error = %e, "cannot fetch the identity provider's JWKS");
                snap.failed = true;
                cached.map(Some).ok_or(AuthError::KeysUnavailable)
            }
        }
    }
}

/// One JWK as published; only what verification needs.
#[derive(Debug, Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// Parses a JWKS body, keeping the signing keys of `algorithms`; one malformed or
/// foreign key does not cost the others.
pub fn parse_jwks(
    body: &[u8],
    algorithms: &[Algorithm],
) -> Result<HashMap<String, VerifyingKey>, FetchError> {
    let set: JwkSet = serde_json::from_slice(body).map_err(|e| FetchError::Body(e.to_string()))?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some((kid, key)) =
            verifying_key(&jwk).filter(|(_, k)| algorithms.contains(&k.algorithm))
        {
            keys.insert(kid, key);
        }
    }
    Ok(keys)
}

/// The key and its pinned algorithm, when the JWK is a usable signing key.
fn verifying_key(jwk: &Jwk) -> Option<(String, VerifyingKey)> {
    let kid = jwk.kid.clone()?;
    if jwk.usage.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let named = match jwk.alg.as_deref() {
        Some(a) => Some(Algorithm::from_str(a).ok()?),
        None => None,
    };
    let (key, algorithm) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let algorithm = named.unwrap_or(Algorithm::RS256);
            let rsa = [
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ];
            if !rsa.contains(&algorithm) {
                return None;
            }
            let key =
                DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?;
            (key, algorithm)
        }
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let fits = if crv == "P-256" {
                Algorithm::ES256
            } else {
                Algorithm::ES384
            };
            let algorithm = named.unwrap_or(fits);
            if algorithm != fits {
                return None;
            }
            let key = DecodingKey::from_ec_components(jwk.x.as_deref()?, jwk.y.as_deref()?).ok()?;
            (key, algorithm)
        }
        ("OKP", Some("Ed25519")) => {
            let algorithm = named.unwrap_or(Algorithm::EdDSA);
            if algorithm != Algorithm::EdDSA {
                return None;
            }
            (
                DecodingKey::from_ed_components(jwk.x.as_deref()?).ok()?,
                algorithm,
            )
        }
        // Symmetric ("oct") keys never verify tokens from a public JWKS.
        _ => return None,
    };
    Some((kid, VerifyingKey { key, algorithm }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::SigningKey;
    use axum::Router;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::get;
    use serde_json::{Value, json};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

    /// A stand-in JWKS endpoint whose answer a test changes, counting its fetches.
    struct Endpoint {
        body: Mutex<String>,
        status: AtomicU16,
        hits: AtomicUsize,
    }

    impl Endpoint {
        fn publish(&self, keys: &[Value]) {
            *self.body.lock().unwrap() = json!({ "keys": keys }).to_string();
        }
        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    async fn jwks(State(e): State<Arc<Endpoint>>) -> (StatusCode, String) {
        e.hits.fetch_add(1, Ordering::SeqCst);
        let status = StatusCode::from_u16(e.status.load(Ordering::SeqCst)).unwrap();
        (status, e.body.lock().unwrap().clone())
    }

    async fn endpoint() -> (Arc<Endpoint>, RemoteJwks) {
        let state = Arc::new(Endpoint {
            body: Mutex::new(r#"{"keys":[]}"#.into()),
            status: AtomicU16::new(200),
            hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks.json", get(jwks))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = Url::parse(&format!("http://{addr}/jwks.json")).unwrap();
        let source = RemoteJwks::new(JwksLocation::Fixed(url), vec![Algorithm::ES256]).unwrap();
        (state, source)
    }

    fn key() -> (String, Value) {
        let k = SigningKey::generate().unwrap();
        (k.kid().to_owned(), k.public_jwk())
    }

    #[tokio::test]
    async fn nothing_is_fetched_until_a_key_is_needed_then_it_is_cached() {
        let (server, source) = endpoint().await;
        let (kid, jwk) = key();
        server.publish(&[jwk]);
        assert_eq!(server.hits(), 0);
        for _ in 0..3 {
            let found = source.key(&kid).await.unwrap().unwrap();
            assert_eq!(found.algorithm, Algorithm::ES256);
        }
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_at_most_once_per_interval() {
        let (server, mut source) = endpoint().await;
        source.refetch_interval = Duration::from_millis(300);
        let (kid, jwk) = key();
        server.publish(&[jwk]);
        assert!(source.key(&kid).await.unwrap().is_some());
        // A burst of made-up kids right after: no fetch at all.
        for i in 0..20 {
            assert!(source.key(&format!("made-up-{i}")).await.unwrap().is_none());
        }
        assert_eq!(server.hits(), 1);
        // After the interval, one fetch for the next burst.
        tokio::time::sleep(Duration::from_millis(350)).await;
        for i in 0..20 {
            assert!(source.key(&format!("made-up-{i}")).await.unwrap().is_none());
        }
        assert_eq!(server.hits(), 2);
        // A key published meanwhile is found by the next allowed fetch.
        let (new_kid, new_jwk) = key();
        let old: Value = serde_json::from_str(&server.body.lock().unwrap().clone()).unwrap();
        server.publish(&[old["keys"][0].clone(), new_jwk]);
        assert!(source.key(&new_kid).await.unwrap().is_none(), "too soon");
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(source.key(&new_kid).await.unwrap().is_some());
        assert!(source.key(&kid).await.unwrap().is_some());
        assert_eq!(server.hits(), 3);
    }

    #[tokio::test]
    async fn a_kid_rotated_out_of_the_jwks_stops_verifying() {
        let (server, mut source) = endpoint().await;
        source.refetch_interval = Duration::ZERO;
        let (old_kid, old_jwk) = key();
        let (new_kid, new_jwk) = key();
        server.publish(&[old_jwk]);
        assert!(source.key(&old_kid).await.unwrap().is_some());
        server.publish(&[new_jwk]);
        assert!(source.key(&new_kid).await.unwrap().is_some());
        assert!(source.key(&old_kid).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_key_set_older_than_its_max_age_is_fetched_again_when_used() {
        let (server, mut source) = endpoint().await;
        source.max_age = Duration::from_millis(300);
        let (old_kid, old_jwk) = key();
        let (new_kid, new_jwk) = key();
        server.publish(&[old_jwk]);
        assert!(source.key(&old_kid).await.unwrap().is_some());
        server.publish(&[new_jwk]);
        // Within max_age the set is trusted as fetched.
        assert!(source.key(&old_kid).await.unwrap().is_some());
        assert_eq!(server.hits(), 1);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(source.key(&old_kid).await.unwrap().is_none());
        assert!(source.key(&new_kid).await.unwrap().is_some());
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn an_unreachable_jwks_fails_closed_for_unknown_keys_only() {
        let (server, mut source) = endpoint().await;
        source.refetch_interval = Duration::ZERO;
        source.retry_interval = Duration::from_millis(300);
        let (kid, jwk) = key();
        server.publish(&[jwk]);
        server.status.store(500, Ordering::SeqCst);
        assert!(matches!(
            source.key(&kid).await,
            Err(AuthError::KeysUnavailable)
        ));
        // Retried no sooner than the retry interval, still unavailable meanwhile.
        assert!(matches!(
            source.key(&kid).await,
            Err(AuthError::KeysUnavailable)
        ));
        assert_eq!(server.hits(), 1);
        server.status.store(200, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(source.key(&kid).await.unwrap().is_some());
        // The provider goes down: the known key keeps working, unknown ones fail closed.
        server.status.store(503, Ordering::SeqCst);
        assert!(matches!(
            source.key("another").await,
            Err(AuthError::KeysUnavailable)
        ));
        assert!(source.key(&kid).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_oversized_jwks_is_refused() {
        let (server, mut source) = endpoint().await;
        let (kid, jwk) = key();
        let mut padded = jwk.clone();
        padded["padding"] = json!("x".repeat(MAX_JWKS_BYTES));
        server.publish(&[padded]);
        assert!(matches!(
            source.key(&kid).await,
            Err(AuthError::KeysUnavailable)
        ));
        // The cap is a field: a normal key set over a tiny cap is refused too.
        source.max_bytes = 64;
        source.retry_interval = Duration::ZERO;
        server.publish(&[jwk]);
        assert!(matches!(
            source.key(&kid).await,
            Err(AuthError::KeysUnavailable)
        ));
    }

    /// Moto's public Cognito key, a real 2048-bit RSA modulus.
    const RSA_N: &str = "j1pT3xKbswmMySvCefmiD3mfDaRFpZ9Y3Jl4fF0hMaCRVAt_e0yR7BeueDfqmj_NhVSO0WB5ao5e8V-9RFQOtK8SrqKl3i01-CyWYPICwybaGKhbJJR0S_6cZ8n5kscF1MjpIlsJcCzm-yKgTc3Mxk6KtrLoNgRvMwGLeHUXPkhS9YHfDKRe864iMFOK4df69brIYEICG2VLduh0hXYa0i-J3drwm7vxNdX7pVpCDu34qJtYoWq6CXt3Tzfi3YfWp8cFjGNbaDa3WnCd2IXpp0TFsFS-cEsw5rJjSl5OllJGeZKBtLeyVTy9PYwnk7MW43WSYeYstbk9NluX4H8Iuw";

    #[test]
    fn each_key_pins_its_algorithm_and_foreign_keys_are_skipped() {
        let (_, ec) = key();
        let mut ec_unnamed = ec.clone();
        ec_unnamed["kid"] = json!("ec-unnamed");
        ec_unnamed.as_object_mut().unwrap().remove("alg");
        let body = json!({ "keys": [
            { "kty": "RSA", "kid": "rsa", "n": RSA_N, "e": "AQAB" },
            { "kty": "RSA", "kid": "rsa-384", "alg": "RS384", "n": RSA_N, "e": "AQAB" },
            { "kty": "RSA", "kid": "rsa-enc", "use": "enc", "n": RSA_N, "e": "AQAB" },
            { "kty": "RSA", "kid": "rsa-as-hmac", "alg": "HS256", "n": RSA_N, "e": "AQAB" },
            { "kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0" },
            { "kty": "RSA", "n": RSA_N, "e": "AQAB" },
            { "kty": "RSA", "kid": "broken" },
            ec, ec_unnamed,
        ]})
        .to_string();
        let all = [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::ES256,
            Algorithm::HS256,
        ];
        let keys = parse_jwks(body.as_bytes(), &all).unwrap();
        let pinned = |kid: &str| keys.get(kid).map(|k| k.algorithm);
        assert_eq!(pinned("rsa"), Some(Algorithm::RS256));
        assert_eq!(pinned("rsa-384"), Some(Algorithm::RS384));
        assert_eq!(pinned("ec-unnamed"), Some(Algorithm::ES256));
        for skipped in ["rsa-enc", "rsa-as-hmac", "hmac", "broken"] {
            assert!(pinned(skipped).is_none(), "{skipped}");
        }
        assert_eq!(keys.len(), 4);
        // Cognito accepts only RS256 keys.
        let cognito = parse_jwks(body.as_bytes(), &[Algorithm::RS256]).unwrap();
        assert_eq!(cognito.keys().collect::<Vec<_>>(), vec!["rsa"]);
    }
}
