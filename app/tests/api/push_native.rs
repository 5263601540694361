//! Push straight to FCM and APNs, against stand-ins on loopback that speak the
//! documented shapes: FCM's OAuth2 token endpoint (JWT-bearer grant, the assertion's
//! RS256 signature checked) and HTTP v1 send with its error bodies; APNs over HTTP/2
//! (the provider token's ES256 signature and the apns-* headers checked). The APNs
//! stand-in speaks HTTP/2 over plain TCP (h2c, prior knowledge) rather than TLS: the
//! client is the same one that negotiates `h2` with Apple, and a test certificate
//! authority would add nothing the stand-in checks.

use crate::helpers::TestApp;
use crate::push::{drain, queued, start_fake};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::routing::post;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use scooter_push::delivery::RETRY_KIND;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const PROJECT: &str = "test-project";
const CLIENT_EMAIL: &str = "push@test-project.iam.gserviceaccount.com";
const KEY_ID: &str = "ABC123DEFG";
const TEAM_ID: &str = "TEAM123456";
const TOPIC: &str = "app.scooterbooter.ios";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

/// The FCM stand-in's memory.
#[derive(Clone, Default)]
struct Fcm {
    /// Whether the token endpoint refuses the key (`invalid_grant`).
    refuse: Arc<AtomicBool>,
    /// Access tokens handed out and still honoured.
    live: Arc<Mutex<HashSet<String>>>,
    token_requests: Arc<AtomicU64>,
    /// Each send: the bearer token and the message.
    sends: Arc<Mutex<Vec<(String, Value)>>>,
    /// Devices FCM calls unregistered.
    dead: Arc<Mutex<HashSet<String>>>,
    token_uri: Arc<Mutex<String>>,
}

impl Fcm {
    fn devices_sent(&self) -> Vec<String> {
        let mut d: Vec<String> = self
            .sends
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m)| m["message"]["token"].as_str().unwrap().to_owned())
            .collect();
        d.sort_unstable();
        d
    }
}

async fn fcm_token(
    State(fcm): State<Fcm>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, axum::Json<Value>) {
    let n = fcm.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let key = DecodingKey::from_rsa_pem(&fixture("test-issuer-rs256.pub.pem")).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[fcm.token_uri.lock().unwrap().clone()]);
    v.set_issuer(&[CLIENT_EMAIL]);
    let claims = jsonwebtoken::decode::<Value>(&form["assertion"], &key, &v)
        .expect("the assertion is signed with the service account's key")
        .claims;
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    if fcm.refuse.load(Ordering::SeqCst) {
        let body = json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."});
        return (StatusCode::BAD_REQUEST, axum::Json(body));
    }
    let token = format!("access-{n}");
    fcm.live.lock().unwrap().insert(token.clone());
    let body = json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"});
    (StatusCode::OK, axum::Json(body))
}

async fn fcm_send(
    State(fcm): State<Fcm>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let bearer = headers["authorization"]
        .to_str()
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned();
    if !fcm.live.lock().unwrap().contains(&bearer) {
        let body = json!({"error": {"code": 401, "status": "UNAUTHENTICATED", "message": "Request had invalid authentication credentials."}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body));
    }
    let device = body["message"]["token"].as_str().unwrap().to_owned();
    fcm.sends.lock().unwrap().push((bearer, body));
    if fcm.dead.lock().unwrap().contains(&device) {
        let body = json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "Requested entity was not found.",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}});
        return (StatusCode::NOT_FOUND, axum::Json(body));
    }
    let name = format!("projects/{PROJECT}/messages/0:1");
    (StatusCode::OK, axum::Json(json!({ "name": name })))
}

/// Starts the FCM stand-in; returns it, its endpoint, and the key file pointing at it.
async fn start_fcm(dir: &std::path::Path) -> (Fcm, String, String) {
    let fcm = Fcm::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *fcm.token_uri.lock().unwrap() = format!("{base}/token");
    let app = Router::new()
        .route("/token", post(fcm_token))
        .route(
            &format!("/v1/projects/{PROJECT}/messages:send"),
            post(fcm_send),
        )
        .with_state(fcm.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let account = json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "key-1",
        "private_key": String::from_utf8(fixture("test-fcm-rs256.p8.pem")).unwrap(),
        "client_email": CLIENT_EMAIL,
        "token_uri": format!("{base}/token"),
    });
    let file = dir.join("service-account.json");
    std::fs::write(&file, account.to_string()).unwrap();
    (fcm, base, file.display().to_string())
}

/// One request the APNs stand-in received: the device, the HTTP version, the headers
/// and the payload.
type ApnsRequest = (String, Version, HeaderMap, Value);

/// The APNs stand-in's memory.
#[derive(Clone, Default)]
struct Apns {
    /// Each request: the device, its HTTP version, its headers and payload.
    requests: Arc<Mutex<Vec<ApnsRequest>>>,
    /// Device → the status and reason it gets (absent: 200).
    answers: Arc<Mutex<HashMap<String, (u16, &'static str)>>>,
}

async fn apns_send(
    State(apns): State<Apns>,
    Path(device): Path<String>,
    version: Version,
    headers: HeaderMap,
    axum::Json(payload): axum::Json<Value>,
) -> (StatusCode, HeaderMap, axum::Json<Value>) {
    apns.requests
        .lock()
        .unwrap()
        .push((device.clone(), version, headers, payload));
    let mut out = HeaderMap::new();
    out.insert(
        "apns-id",
        "EC1BF194-B3B2-424A-89A8-5A918A2E0E2D".parse().unwrap(),
    );
    match apns.answers.lock().unwrap().get(&device) {
        None => (StatusCode::OK, out, axum::Json(json!({}))),
        Some((status, reason)) => (
            StatusCode::from_u16(*status).unwrap(),
            out,
            axum::Json(json!({ "reason": reason })),
        ),
    }
}

async fn start_apns() -> (Apns, String) {
    let apns = Apns::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/3/device/{device}", post(apns_send))
        .with_state(apns.clone());
    // axum's server speaks HTTP/2 over plain TCP to a client that starts with its preface.
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (apns, base)
}

fn apns_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("APNS_KEY_FILE", format!("{FIXTURES}/test-apns-es256.p8")),
        ("APNS_KEY_ID", KEY_ID.into()),
        ("APNS_TEAM_ID", TEAM_ID.into()),
        ("APNS_TOPIC", TOPIC.into()),
        ("APNS_ENV", "sandbox".into()),
        ("APNS_ENDPOINT", endpoint.into()),
    ]
}

async fn app_with(vars: &[(&'static str, String)]) -> TestApp {
    let mut env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("JOB_BACKOFF_BASE_MS", "0"));
    TestApp::with_env(&env).await
}

async fn register(app: &TestApp, token: &str, device: &str, platform: &str, provider: &str) {
    let body = json!({"token": device, "platform": platform, "provider": provider});
    let r = app.post("/push/register", Some(token), body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// Ann, her devices, then bob follows her: one notification to push.
async fn ann_with(app: &TestApp, devices: &[(&str, &str, &str)]) -> (String, String) {
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    for (device, platform, provider) in devices {
        register(app, &ann, device, platform, provider).await;
    }
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    (ann, bob)
}

async fn my_devices(app: &TestApp, token: &str) -> Vec<String> {
    let mut d: Vec<String> = app.get("/push/devices", Some(token)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["token"].as_str().unwrap().to_owned())
        .collect();
    d.sort_unstable();
    d
}

fn apns_token(c: char) -> String {
    c.to_string().repeat(64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_delivers_with_one_cached_access_token_and_forgets_an_unregistered_device() {
    let dir = tempfile::tempdir().unwrap();
    let (fcm, base, file) = start_fcm(dir.path()).await;
    let app = app_with(&[("FCM_CREDENTIALS_FILE", file), ("FCM_ENDPOINT", base)]).await;
    fcm.dead.lock().unwrap().insert("fcm-uninstalled".into());
    let (ann, _) = ann_with(
        &app,
        &[
            ("fcm-alive", "android", "fcm"),
            ("fcm-uninstalled", "android", "fcm"),
        ],
    )
    .await;
    drain(&app).await;
    assert_eq!(fcm.devices_sent(), ["fcm-alive", "fcm-uninstalled"]);
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 1);
    let (bearer, m) = fcm.sends.lock().unwrap()[0].clone();
    assert_eq!(bearer, "access-1");
    let m = &m["message"];
    assert_eq!(m["notification"]["body"], "@bob followed you");
    assert_eq!(m["data"]["type"], "follow");
    assert_eq!(m["android"]["priority"], "HIGH");
    assert_eq!(m["android"]["notification"]["channel_id"], "default");
    assert_eq!(
        my_devices(&app, &ann).await,
        ["fcm-alive"],
        "the unregistered device is forgotten"
    );

    // A second push reuses the cached access token.
    let carl = app.user_with_handle("carl").await;
    app.post("/follow", Some(&carl), json!({"handle": "ann"}))
        .await;
    drain(&app).await;
    assert_eq!(fcm.sends.lock().unwrap().len(), 3);
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 1);

    // FCM stops honouring it (revoked): one fresh token, and the message still goes.
    fcm.live.lock().unwrap().clear();
    let dan = app.user_with_handle("dan").await;
    app.post("/follow", Some(&dan), json!({"handle": "ann"}))
        .await;
    drain(&app).await;
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 2);
    let last = fcm.sends.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, "access-2");
    assert!(app.app.ctx.store.dead_jobs(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_credentials_refused_are_retried_later_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (fcm, base, file) = start_fcm(dir.path()).await;
    let app = app_with(&[("FCM_CREDENTIALS_FILE", file), ("FCM_ENDPOINT", base)]).await;
    fcm.refuse.store(true, Ordering::SeqCst);
    let (ann, _) = ann_with(&app, &[("fcm-phone", "android", "fcm")]).await;
    assert_eq!(app.app.worker.run_once().await, 1);
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 1);
    assert!(
        fcm.sends.lock().unwrap().is_empty(),
        "nothing sent without a token"
    );
    assert!(app.app.ctx.store.dead_jobs(10).await.unwrap().is_empty());
    // The key is fixed (or Google is back): the waiting push goes out.
    fcm.refuse.store(false, Ordering::SeqCst);
    drain(&app).await;
    assert_eq!(fcm.devices_sent(), ["fcm-phone"]);
    assert_eq!(my_devices(&app, &ann).await, ["fcm-phone"]);
    assert!(app.app.ctx.store.dead_jobs(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_delivers_over_http2_and_forgets_unregistered_and_bad_tokens() {
    let (apns, base) = start_apns().await;
    let app = app_with(&apns_env(&base)).await;
    let (alive, gone, bad) = (apns_token('a'), apns_token('b'), apns_token('c'));
    {
        let mut answers = apns.answers.lock().unwrap();
        answers.insert(gone.clone(), (410, "Unregistered"));
        answers.insert(bad.clone(), (400, "BadDeviceToken"));
    }
    let (ann, _) = ann_with(
        &app,
        &[
            (alive.as_str(), "ios", "apns"),
            (gone.as_str(), "ios", "apns"),
            (bad.as_str(), "ios", "apns"),
        ],
    )
    .await;
    drain(&app).await;
    let requests = apns.requests.lock().unwrap().clone();
    let mut devices: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    devices.sort_unstable();
    assert_eq!(devices, [alive.as_str(), gone.as_str(), bad.as_str()]);
    let key = DecodingKey::from_ec_pem(&fixture("test-apns-es256.pub.pem")).unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.set_issuer(&[TEAM_ID]);
    for (_, version, headers, payload) in &requests {
        assert_eq!(*version, Version::HTTP_2);
        assert_eq!(headers["apns-topic"], TOPIC);
        assert_eq!(headers["apns-push-type"], "alert");
        assert_eq!(headers["apns-priority"], "10");
        let jwt = headers["authorization"]
            .to_str()
            .unwrap()
            .strip_prefix("bearer ")
            .or_else(|| {
                headers["authorization"]
                    .to_str()
                    .unwrap()
                    .strip_prefix("Bearer ")
            })
            .unwrap();
        let token = jsonwebtoken::decode::<Value>(jwt, &key, &v).expect("signed with the .p8 key");
        assert_eq!(token.header.kid.as_deref(), Some(KEY_ID));
        assert!(token.claims["iat"].is_u64());
        assert_eq!(payload["aps"]["alert"]["body"], "@bob followed you");
        assert_eq!(payload["aps"]["badge"], 1);
        assert_eq!(payload["type"], "follow");
    }
    assert_eq!(
        my_devices(&app, &ann).await,
        [alive],
        "dead tokens are forgotten"
    );
    assert!(app.app.ctx.store.dead_jobs(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_apns_answer_backs_off_from_that_device_and_sends_again_later() {
    let (apns, base) = start_apns().await;
    let app = app_with(&apns_env(&base)).await;
    let (busy, fine) = (apns_token('d'), apns_token('e'));
    apns.answers
        .lock()
        .unwrap()
        .insert(busy.clone(), (503, "ServiceUnavailable"));
    let (ann, _) = ann_with(
        &app,
        &[
            (busy.as_str(), "ios", "apns"),
            (fine.as_str(), "ios", "apns"),
        ],
    )
    .await;
    drain(&app).await;
    assert_eq!(
        apns.requests.lock().unwrap().len(),
        2,
        "each device tried once"
    );
    let retries = queued(&app, RETRY_KIND, Duration::from_secs(2 * 3600)).await;
    assert_eq!(
        retries.len(),
        1,
        "only the busy device waits for a second try"
    );
    assert!(retries[0].payload.contains(&busy));
    assert_eq!(
        my_devices(&app, &ann).await,
        [busy, fine],
        "nobody is forgotten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_is_reached_through_its_own_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (expo, expo_url) = start_fake().await;
    let (fcm, fcm_base, file) = start_fcm(dir.path()).await;
    let (apns, apns_base) = start_apns().await;
    let mut env = apns_env(&apns_base);
    env.extend([
        ("EXPO_PUSH_URL", expo_url),
        ("FCM_CREDENTIALS_FILE", file),
        ("FCM_ENDPOINT", fcm_base),
    ]);
    let app = app_with(&env).await;
    let iphone = apns_token('f');
    ann_with(
        &app,
        &[
            ("ExponentPushToken[ann-expo]", "ios", "expo"),
            ("fcm-pixel", "android", "fcm"),
            (iphone.as_str(), "ios", "apns"),
        ],
    )
    .await;
    drain(&app).await;
    assert_eq!(
        expo.devices_per_request(),
        [["ExponentPushToken[ann-expo]"]]
    );
    assert_eq!(fcm.devices_sent(), ["fcm-pixel"]);
    let apns_devices: Vec<String> = apns
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.0.clone())
        .collect();
    assert_eq!(apns_devices, [iphone]);
}

#[tokio::test]
async fn a_provider_not_configured_refuses_registration() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let iphone = apns_token('a');
    for (token, provider) in [("fcm-token", "fcm"), (iphone.as_str(), "apns")] {
        let body = json!({"token": token, "platform": "android", "provider": provider});
        let r = app.post("/push/register", Some(&ann), body).await;
        r.assert_error(400, "provider_not_configured");
        assert_eq!(r.body["error"]["field"], "provider");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(provider),
            "{:?}",
            r.body
        );
    }
    assert!(my_devices(&app, &ann).await.is_empty());

    // With FCM set up, FCM tokens are taken, APNs still refused, and shapes checked.
    let dir = tempfile::tempdir().unwrap();
    let (_fcm, base, file) = start_fcm(dir.path()).await;
    let app = app_with(&[("FCM_CREDENTIALS_FILE", file), ("FCM_ENDPOINT", base)]).await;
    let ann = app.user_with_handle("ann").await;
    register(&app, &ann, "fcm-token", "android", "fcm").await;
    let body = json!({"token": apns_token('a'), "platform": "ios", "provider": "apns"});
    app.post("/push/register", Some(&ann), body)
        .await
        .assert_error(400, "provider_not_configured");
    let body = json!({"token": "has spaces", "platform": "android", "provider": "fcm"});
    app.post("/push/register", Some(&ann), body)
        .await
        .assert_error(400, "validation_failed");
    let listed = app.get("/push/devices", Some(&ann)).await.body;
    assert_eq!(
        listed,
        json!({"items": [{"token": "fcm-token", "platform": "android", "provider": "fcm"}]})
    );
}
