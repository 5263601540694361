//! `AUTH=oidc` against a stand-in OpenID Connect provider: axum on 127.0.0.1:0 serving
//! discovery, a JWKS and userinfo, signing with a test-only RSA key (a committed
//! fixture: generating RSA keys in debug-built tests is slow). A provider's access
//! token reads `/me`, its profile made from userinfo once; every token the provider did
//! not mean for us is a 401 in the envelope. The stand-in also serves the Cognito
//! refusals moto cannot produce (`cognito.rs`).

use crate::helpers::TestApp;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The test-only RSA key (PKCS#1 PEM) and its public half.
const PRIVATE_PEM: &[u8] = include_bytes!("../fixtures/test-issuer-rs256.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/test-issuer-rs256.pub.pem");

/// The stand-in's key id.
pub const KID: &str = "test-rs256";

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(PRIVATE_PEM).unwrap()
}

/// The stand-in's public key as a JWK with `kid`.
pub fn rsa_jwk(kid: &str) -> Value {
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap())
            .unwrap();
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    jwk
}

/// `claims` signed RS256 with the stand-in's key, under `kid`.
pub fn sign(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &rsa_key()).unwrap()
}

/// Forgeries for the algorithm rules: the same claims under `alg: none` (no signature),
/// and HS256 with the RSA public key's PEM as the HMAC secret (the classic confusion
/// attack on verifiers that take the algorithm from the token).
pub fn forgeries(claims: &Value, kid: &str) -> Vec<(&'static str, String)> {
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.to_owned());
    let confused =
        jsonwebtoken::encode(&hs, claims, &EncodingKey::from_secret(PUBLIC_PEM)).unwrap();
    let mut rs384 = Header::new(Algorithm::RS384);
    rs384.kid = Some(kid.to_owned());
    let other_rsa = jsonwebtoken::encode(&rs384, claims, &rsa_key()).unwrap();
    vec![
        ("alg none", format!("{none_header}.{body}.")),
        ("HS256 keyed with the public key", confused),
        ("RS384 with an RS256 key", other_rsa),
    ]
}

/// What the stand-in serves; tests change it as they go.
pub struct Provider {
    issuer: Mutex<String>,
    jwks: Mutex<Value>,
    userinfo: Mutex<Value>,
    userinfo_calls: AtomicUsize,
}

/// A running stand-in provider.
pub struct StandIn {
    /// `http://127.0.0.1:<port>`: the issuer and the base of every URL it serves.
    pub base: String,
    state: Arc<Provider>,
}

impl StandIn {
    /// Starts a provider publishing the test key under [`KID`].
    pub async fn start() -> Self {
        let state = Arc::new(Provider {
            issuer: Mutex::new(String::new()),
            jwks: Mutex::new(json!({ "keys": [rsa_jwk(KID)] })),
            userinfo: Mutex::new(json!({})),
            userinfo_calls: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *state.issuer.lock().unwrap() = base.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    /// Publishes these keys from now on.
    pub fn publish(&self, keys: Vec<Value>) {
        *self.state.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    /// What userinfo answers from now on.
    pub fn set_userinfo(&self, claims: Value) {
        *self.state.userinfo.lock().unwrap() = claims;
    }

    /// How many times userinfo was asked.
    pub fn userinfo_calls(&self) -> usize {
        self.state.userinfo_calls.load(Ordering::SeqCst)
    }
}

async fn discovery(State(p): State<Arc<Provider>>) -> axum::Json<Value> {
    let base = p.issuer.lock().unwrap().clone();
    axum::Json(json!({
        "issuer": base,
        "jwks_uri": format!("{base}/jwks.json"),
        "userinfo_endpoint": format!("{base}/userinfo"),
    }))
}

async fn jwks(State(p): State<Arc<Provider>>) -> axum::Json<Value> {
    axum::Json(p.jwks.lock().unwrap().clone())
}

async fn userinfo(State(p): State<Arc<Provider>>, headers: HeaderMap) -> (StatusCode, String) {
    p.userinfo_calls.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7);
    if !bearer {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    (StatusCode::OK, p.userinfo.lock().unwrap().to_string())
}

const AUDIENCE: &str = "scooterbooter-api";

/// An app verifying the stand-in's tokens.
async fn oidc_app(provider: &StandIn, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("AUTH", "oidc"),
        ("OIDC_ISSUER", provider.base.as_str()),
        ("OIDC_AUDIENCE", AUDIENCE),
    ];
    vars.extend_from_slice(extra);
    TestApp::with_env(&vars).await
}

/// A valid access token's claims for the stand-in, to break one at a time.
fn claims(provider: &StandIn, sub: &str) -> Value {
    json!({
        "sub": sub, "iss": provider.base, "aud": [AUDIENCE, "account"],
        "exp": now() + 600, "iat": now(), "jti": format!("{sub}-{}", fastrand::u64(..)),
        "scope": "openid email",
    })
}

async fn me(app: &TestApp, token: &str) -> crate::helpers::Resp {
    app.get("/me", Some(token)).await
}

#[tokio::test]
async fn a_providers_access_token_reads_me_with_a_profile_made_from_userinfo_once() {
    let provider = StandIn::start().await;
    let sub = "2f0c1a52-8f4e-4c1e-9a53-0d6c3f1b7e21";
    provider.set_userinfo(
        json!({"sub": sub, "email": "Oidc.Rider@Example.com", "email_verified": true}),
    );
    let app = oidc_app(&provider, &[("ADMIN_EMAILS", "oidc.rider@example.com")]).await;
    let r = me(&app, &sign(&claims(&provider, sub), KID)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["id"], sub);
    assert_eq!(r.body["email"], "oidc.rider@example.com");
    // A verified, listed address: an administrator, as with the built-in issuer.
    assert_eq!(r.body["isAdmin"], true);
    // Later requests, even with a fresh token, read the profile: userinfo was asked once.
    for _ in 0..2 {
        let r = me(&app, &sign(&claims(&provider, sub), KID)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    assert_eq!(provider.userinfo_calls(), 1);
}

#[tokio::test]
async fn an_address_in_the_token_is_used_without_asking_userinfo() {
    let provider = StandIn::start().await;
    let app = oidc_app(&provider, &[]).await;
    let mut c = claims(&provider, "with-email");
    c["email"] = json!("carried@example.com");
    c["email_verified"] = json!(false);
    let r = me(&app, &sign(&c, KID)).await;
    assert_eq!(
        (r.status.as_u16(), r.body["email"].as_str()),
        (200, Some("carried@example.com"))
    );
    assert_eq!(r.body["isAdmin"], false);
    assert_eq!(provider.userinfo_calls(), 0);
}

#[tokio::test]
async fn tokens_the_provider_did_not_mean_for_us_are_refused() {
    let provider = StandIn::start().await;
    provider.set_userinfo(json!({"sub": "mallory", "email": "m@example.com"}));
    let app = oidc_app(&provider, &[]).await;
    let good = claims(&provider, "mallory");
    let broken = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let mut refused: Vec<(String, String, &str)> = vec![
        (
            "another audience".into(),
            sign(&broken("aud", json!("other-api")), KID),
            "invalid_token",
        ),
        (
            "no audience".into(),
            sign(&without("aud"), KID),
            "invalid_token",
        ),
        (
            "another issuer".into(),
            sign(&broken("iss", json!("http://127.0.0.1:1")), KID),
            "invalid_token",
        ),
        (
            "no issuer".into(),
            sign(&without("iss"), KID),
            "invalid_token",
        ),
        (
            "an ID token".into(),
            sign(&broken("token_use", json!("id")), KID),
            "invalid_token",
        ),
        (
            "expired".into(),
            sign(&broken("exp", json!(now() - 3600)), KID),
            "token_expired",
        ),
        (
            "no expiry".into(),
            sign(&without("exp"), KID),
            "invalid_token",
        ),
        (
            "an unknown kid".into(),
            sign(&good, "not-published"),
            "invalid_token",
        ),
    ];
    for (what, token) in forgeries(&good, KID) {
        refused.push((what.into(), token, "invalid_token"));
    }
    for (what, token, code) in &refused {
        let r = me(&app, token).await;
        assert_eq!(r.status, 401, "{what}: {:?}", r.body);
        r.assert_error(401, code);
    }
    // The genuine token still works, so each refusal above was about its one change.
    assert_eq!(me(&app, &sign(&good, KID)).await.status, 200);
}

#[tokio::test]
async fn userinfo_about_someone_else_or_without_an_address_makes_no_profile() {
    let provider = StandIn::start().await;
    let app = oidc_app(&provider, &[]).await;
    provider.set_userinfo(json!({"sub": "someone-else", "email": "x@example.com"}));
    me(&app, &sign(&claims(&provider, "victim"), KID))
        .await
        .assert_error(401, "invalid_token");
    provider.set_userinfo(json!({"sub": "phone-only"}));
    me(&app, &sign(&claims(&provider, "phone-only"), KID))
        .await
        .assert_error(403, "email_required");
}

#[tokio::test]
async fn keys_come_from_oidc_jwks_url_when_it_is_set() {
    let provider = StandIn::start().await;
    // Discovery's key set is empty; the configured URL has the key.
    let other = StandIn::start().await;
    provider.publish(vec![]);
    let url = other.jwks_url();
    let app = oidc_app(&provider, &[("OIDC_JWKS_URL", url.as_str())]).await;
    let mut c = claims(&provider, "keyed");
    c["email"] = json!("keyed@example.com");
    assert_eq!(me(&app, &sign(&c, KID)).await.status, 200);
}

#[tokio::test]
async fn an_unreachable_provider_fails_closed_with_503() {
    // A port nothing listens on: discovery, and so the keys, cannot be fetched.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let issuer = format!("http://{closed}");
    let app = TestApp::with_env(&[
        ("AUTH", "oidc"),
        ("OIDC_ISSUER", issuer.as_str()),
        ("OIDC_AUDIENCE", AUDIENCE),
    ])
    .await;
    let c = json!({
        "sub": "u", "iss": issuer, "aud": AUDIENCE, "exp": now() + 600, "iat": now(),
    });
    let r = me(&app, &sign(&c, KID)).await;
    r.assert_error(503, "unavailable");
}

#[tokio::test]
async fn the_built_in_sign_in_and_its_keys_are_not_served_under_oidc() {
    let provider = StandIn::start().await;
    let app = oidc_app(&provider, &[]).await;
    for path in [
        "/auth/login",
        "/auth/signup",
        "/auth/refresh",
        "/auth/logout",
    ] {
        let r = app
            .post(
                path,
                None,
                json!({"email": "a@example.com", "password": "correct horse battery"}),
            )
            .await;
        r.assert_error(404, "not_found");
    }
    app.get("/.well-known/jwks.json", None)
        .await
        .assert_error(404, "not_found");
    let doc = app.get("/openapi.json", None).await.body;
    assert!(doc["paths"].get("/auth/login").is_none());
    assert!(doc["paths"].get("/me").is_some());
}

#[tokio::test]
async fn a_built_in_issuer_token_is_refused_where_a_provider_is_configured() {
    // A token the built-in issuer of another deployment (or this one, before the
    // switch) signed: its key is not the provider's.
    let local = TestApp::new().await;
    let token = local.token("switch@example.com").await;
    let provider = StandIn::start().await;
    let app = oidc_app(&provider, &[]).await;
    me(&app, &token).await.assert_error(401, "invalid_token");
}

#[test]
fn the_token_commands_refuse_under_an_external_issuer_and_say_why() {
    let data = tempfile::tempdir().unwrap();
    for (mode, vars) in [
        (
            "AUTH=cognito",
            vec![
                ("AUTH", "cognito"),
                ("AWS_REGION", "us-east-1"),
                ("COGNITO_USER_POOL_ID", "us-east-1_Example1"),
                ("COGNITO_CLIENT_ID", "client1"),
            ],
        ),
        (
            "AUTH=oidc",
            vec![
                ("AUTH", "oidc"),
                ("OIDC_ISSUER", "https://login.example.com"),
                ("OIDC_AUDIENCE", "api"),
            ],
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scooterbooter"))
            .args(["token", "--email", "ops@example.com", "--data"])
            .arg(data.path())
            .envs(vars.iter().copied())
            .env_remove("DATABASE_URL")
            .env_remove("STORE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode}: {stderr}");
        assert!(out.stdout.is_empty(), "{mode}: no token printed");
        assert!(stderr.contains(mode), "{mode}: {stderr}");
        // `seed --tokens` mints tokens too.
        let tokens = data.path().join("tokens.txt");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scooterbooter"))
            .args(["seed", "--users", "2", "--tokens"])
            .arg(&tokens)
            .arg("--data")
            .arg(data.path())
            .envs(vars.iter().copied())
            .env_remove("DATABASE_URL")
            .env_remove("STORE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode}: {stderr}");
        assert!(stderr.contains(mode), "{mode}: {stderr}");
        assert!(!tokens.exists(), "{mode}");
        // Refused before anything was opened or created.
        assert!(!data.path().join("keys").exists(), "{mode}");
    }
}
