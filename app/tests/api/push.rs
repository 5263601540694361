//! Push delivery through the Expo push API, against a fake Expo server on loopback that
//! records what it receives and answers what each test tells it to.

use crate::helpers::TestApp;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One answer of the fake: a status, and for 200 the per-message ticket errors by index.
type Answer = (u16, Vec<Option<&'static str>>);

/// The fake's memory: what it received, and the answers still to give.
#[derive(Clone, Default)]
struct Fake {
    received: Arc<Mutex<Vec<Value>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

async fn expo(
    State(fake): State<Fake>,
    body: axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let n = body.0.as_array().map_or(0, Vec::len);
    fake.received.lock().unwrap().push(body.0);
    let (status, errors) = fake
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, vec![]));
    let tickets: Vec<Value> = (0..n)
        .map(|i| match errors.get(i).copied().flatten() {
            None => json!({"status": "ok", "id": format!("ticket-{i}")}),
            Some(e) => json!({"status": "error", "message": "nope", "details": {"error": e}}),
        })
        .collect();
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({ "data": tickets })),
    )
}

async fn start_fake() -> (Fake, String) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/push", post(expo))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

async fn app_with_push(url: &str) -> TestApp {
    TestApp::with_env(&[("EXPO_PUSH_URL", url), ("JOB_BACKOFF_BASE_MS", "0")]).await
}

async fn drain(app: &TestApp) {
    for _ in 0..10 {
        if app.app.worker.run_once().await == 0 {
            return;
        }
    }
}

async fn register(app: &TestApp, token: &str, device: &str) {
    let body = json!({"token": device, "platform": "ios", "provider": "expo"});
    let r = app.post("/push/register", Some(token), body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_sends_exactly_one_push_to_each_of_the_authors_devices() {
    let (fake, url) = start_fake().await;
    let app = app_with_push(&url).await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    register(&app, &ann, "ExponentPushToken[ann-phone]").await;
    register(&app, &ann, "ExponentPushToken[ann-tablet]").await;
    register(&app, &bob, "ExponentPushToken[bob-phone]").await;
    let p = app
        .post("/posts", Some(&ann), json!({"text": "push me"}))
        .await
        .body["id"]
        .clone();
    let comment = app
        .post(
            &format!("/comments/{}", p.as_str().unwrap()),
            Some(&bob),
            json!({"text": "hi"}),
        )
        .await
        .body["id"]
        .clone();
    drain(&app).await;
    drain(&app).await;
    let received = fake.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one request: {received:?}");
    let mut to: Vec<&str> = received[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["to"].as_str().unwrap())
        .collect();
    to.sort_unstable();
    assert_eq!(
        to,
        vec![
            "ExponentPushToken[ann-phone]",
            "ExponentPushToken[ann-tablet]"
        ]
    );
    let msg = &received[0][0];
    assert_eq!(msg["body"], "@bob commented on your post");
    assert_eq!(msg["data"]["type"], "comment");
    let note = app.get("/notifications", Some(&ann)).await.body["items"][0]["id"].clone();
    assert_eq!(msg["data"]["notificationId"], note);
    // What the app needs to open the right screen, the icon's badge, Android's channel.
    let bob_id = app.get("/me", Some(&bob)).await.body["id"].clone();
    assert_eq!(msg["data"]["postId"], p);
    assert_eq!(msg["data"]["commentId"], comment);
    assert_eq!(msg["data"]["actorId"], bob_id);
    assert_eq!(msg["data"]["actorHandle"], "bob");
    assert_eq!(msg["badge"], 1, "ann's unread count, this one included");
    assert_eq!(msg["channelId"], "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_not_registered_forgets_the_token() {
    let (fake, url) = start_fake().await;
    let app = app_with_push(&url).await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    register(&app, &ann, "ExponentPushToken[gone]").await;
    fake.answers
        .lock()
        .unwrap()
        .push_back((200, vec![Some("DeviceNotRegistered")]));
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    drain(&app).await;
    let ann_id = app.get("/me", Some(&ann)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ann_id = scooter_core::UserId::parse(&ann_id).unwrap();
    assert!(
        app.app
            .ctx
            .store
            .devices_of(&ann_id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried_and_then_delivered() {
    let (fake, url) = start_fake().await;
    let app = app_with_push(&url).await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    register(&app, &ann, "ExponentPushToken[retry]").await;
    fake.answers.lock().unwrap().push_back((503, vec![]));
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    drain(&app).await;
    assert_eq!(
        fake.received.lock().unwrap().len(),
        2,
        "the 503, then the retry"
    );
    assert!(app.app.ctx.store.dead_jobs(10).await.unwrap().is_empty());
    drain(&app).await;
    assert_eq!(
        fake.received.lock().unwrap().len(),
        2,
        "delivered once, not again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_write_and_the_delivery_still_delivers() {
    let (fake, url) = start_fake().await;
    let app = app_with_push(&url).await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    register(&app, &ann, "ExponentPushToken[after-crash]").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    // The process "dies" before any worker runs: a fresh app on the same data has only
    // what was committed.
    let app = app
        .reopen_with(&[
            ("EXPO_PUSH_URL", url.as_str()),
            ("JOB_BACKOFF_BASE_MS", "0"),
        ])
        .await;
    assert!(fake.received.lock().unwrap().is_empty());
    drain(&app).await;
    assert_eq!(fake.received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn registration_rules_and_other_peoples_tokens() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let bad = [
        json!({"token": "not-a-token", "platform": "ios", "provider": "expo"}),
        json!({"token": "ExponentPushToken[x]", "platform": "windows", "provider": "expo"}),
        json!({"token": "ExponentPushToken[x]", "platform": "ios", "provider": "fcm"}),
        json!({"token": "ExponentPushToken[x]", "platform": "ios", "provider": "expo", "userId": "someone"}),
    ];
    for b in bad {
        app.post("/push/register", Some(&ann), b)
            .await
            .assert_error(400, "validation_failed");
    }
    register(&app, &ann, "ExponentPushToken[ann]").await;
    register(&app, &ann, "ExponentPushToken[ann]").await;
    let r = app
        .request(
            axum::http::Method::DELETE,
            "/push/unregister",
            Some(&bob),
            Some(json!({"token": "ExponentPushToken[ann]"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let ann_id = scooter_core::UserId::parse(
        app.get("/me", Some(&ann)).await.body["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.app.ctx.store.devices_of(&ann_id).await.unwrap().len(),
        1,
        "bob cannot remove ann's token"
    );
    let r = app
        .request(
            axum::http::Method::DELETE,
            "/push/unregister",
            Some(&ann),
            Some(json!({"token": "ExponentPushToken[ann]"})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(
        app.app
            .ctx
            .store
            .devices_of(&ann_id)
            .await
            .unwrap()
            .is_empty()
    );
    register(&app, &ann, "ExponentPushToken[ann2]").await;
    app.delete("/me", Some(&ann)).await;
    assert!(
        app.app
            .ctx
            .store
            .devices_of(&ann_id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn without_push_configured_jobs_complete_and_nothing_breaks() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    register(&app, &ann, "ExponentPushToken[off]").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    assert_eq!(app.app.worker.run_once().await, 1);
    assert_eq!(app.app.worker.run_once().await, 0);
    assert!(app.app.ctx.store.dead_jobs(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn my_devices_are_listed_and_only_mine() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let empty = app.get("/push/devices", Some(&ann)).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, json!({"items": []}));
    register(&app, &ann, "ExponentPushToken[ann-phone]").await;
    let body =
        json!({"token": "ExpoPushToken[ann-tablet]", "platform": "android", "provider": "expo"});
    assert_eq!(
        app.post("/push/register", Some(&ann), body).await.status,
        200
    );
    register(&app, &bob, "ExponentPushToken[bob]").await;
    let mut items = app.get("/push/devices", Some(&ann)).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    items.sort_by_key(|d| d["token"].as_str().map(str::to_owned));
    assert_eq!(
        items,
        vec![
            json!({"token": "ExpoPushToken[ann-tablet]", "platform": "android", "provider": "expo"}),
            json!({"token": "ExponentPushToken[ann-phone]", "platform": "ios", "provider": "expo"}),
        ]
    );
    // A token that moves to another account leaves my list.
    register(&app, &bob, "ExponentPushToken[ann-phone]").await;
    let left = app.get("/push/devices", Some(&ann)).await.body;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(1));
    app.get("/push/devices", None)
        .await
        .assert_error(401, "missing_token");
}
