//! Overload: with `MAX_IN_FLIGHT` reached, a new request is answered 503 `unavailable`
//! with `Retry-After` after at most `MAX_QUEUE_WAIT_MS` instead of queueing behind the
//! others; health checks still answer; a request whose client went away frees its
//! place and stops its work; a write that outwaits another process's lock is a 503 too.

use crate::helpers::{TestApp, on_dynamodb, on_postgres};
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use scooterbooter::server::{ServeSettings, serve};
use sqlx::{Connection, SqliteConnection};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tower::ServiceExt;

/// Long enough never to be reached unless something hangs; no timing is asserted.
const HANG: Duration = Duration::from_secs(20);

/// Says when dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A `PATCH /me` whose body arrives only once `release` turns true: in flight (its
/// handler is reading the body) from when `started` fires until then. `dropped` fires
/// when the request's work is dropped, finished or not.
fn held_patch(
    token: &str,
    release: watch::Receiver<bool>,
) -> (Request<Body>, oneshot::Receiver<()>, oneshot::Receiver<()>) {
    let (started_tx, started) = oneshot::channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let body = Body::from_stream(futures_util::stream::once(async move {
        let _guard = DropSignal(Some(dropped_tx));
        let _ = started_tx.send(());
        let mut release = release;
        let _ = release.wait_for(|go| *go).await;
        Ok::<_, std::io::Error>(Bytes::from_static(br#"{"displayName":"Busy"}"#))
    }));
    let req = Request::patch("/me")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    (req, started, dropped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_bound_a_request_is_refused_instead_of_queueing_and_health_checks_answer() {
    let app = TestApp::with_env(&[("MAX_IN_FLIGHT", "2")]).await;
    let token = app.token("busy@example.com").await;
    let (release_tx, release) = watch::channel(false);
    let mut held = Vec::new();
    for _ in 0..2 {
        let (req, started, _dropped) = held_patch(&token, release.clone());
        let task = tokio::spawn(app.app.router.clone().oneshot(req));
        tokio::time::timeout(HANG, started)
            .await
            .expect("the held request started")
            .unwrap();
        held.push(task);
    }

    let r = tokio::time::timeout(HANG, app.get("/me", Some(&token)))
        .await
        .expect("answered at once, not queued behind the held requests");
    r.assert_error(503, "unavailable");
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        r.headers.get("connection").and_then(|v| v.to_str().ok()),
        Some("close"),
        "a refused client gives its connection back"
    );
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);

    release_tx.send(true).unwrap();
    for task in held {
        let res = task.await.unwrap().unwrap();
        assert_eq!(res.status(), StatusCode::OK, "admitted requests finish");
    }
    assert_eq!(
        app.get("/me", Some(&token)).await.status,
        StatusCode::OK,
        "slots are free again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_app_can_read_a_refusal_and_its_preflights_still_pass() {
    const APP: &str = "https://app.example.com";
    let app = TestApp::with_env(&[
        ("MAX_IN_FLIGHT", "1"),
        ("MAX_QUEUE_WAIT_MS", "0"),
        ("CORS_ORIGINS", APP),
    ])
    .await;
    let token = app.token("busy-browser@example.com").await;
    let (release_tx, release) = watch::channel(false);
    let (req, started, _dropped) = held_patch(&token, release.clone());
    let held = tokio::spawn(app.app.router.clone().oneshot(req));
    tokio::time::timeout(HANG, started)
        .await
        .expect("the held request started")
        .unwrap();

    let refused = Request::get("/me")
        .header("origin", APP)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(refused).await;
    r.assert_error(503, "unavailable");
    assert_eq!(r.headers["access-control-allow-origin"], APP);
    let exposed = r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");

    let preflight = Request::builder()
        .method(axum::http::Method::OPTIONS)
        .uri("/posts")
        .header("origin", APP)
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let r = app.send(preflight).await;
    assert!(
        r.status.is_success(),
        "a preflight is not shed: {:?}",
        r.status
    );

    release_tx.send(true).unwrap();
    assert_eq!(held.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_client_went_away_stops_and_frees_its_slot() {
    let app = TestApp::with_env(&[("MAX_IN_FLIGHT", "1")]).await;
    let token = app.token("gone@example.com").await;
    let (_release_tx, release) = watch::channel(false);
    let (req, started, dropped) = held_patch(&token, release);
    let task = tokio::spawn(app.app.router.clone().oneshot(req));
    tokio::time::timeout(HANG, started)
        .await
        .expect("started")
        .unwrap();
    app.get("/me", Some(&token))
        .await
        .assert_error(503, "unavailable");

    // What the server does when the connection closes: it drops the request's future.
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    tokio::time::timeout(HANG, dropped)
        .await
        .expect("no layer keeps the abandoned work running")
        .unwrap();
    assert_eq!(
        app.get("/me", Some(&token)).await.status,
        StatusCode::OK,
        "its slot is free"
    );
}

/// One request on a new connection; the status code of its answer.
async fn status_of(addr: std::net::SocketAddr, request: &str) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_drops_the_work_of_a_client_that_hung_up() {
    if on_postgres() || on_dynamodb() {
        // The lock below is SQLite's; the serve loop is the same on every backend.
        return;
    }
    let app =
        TestApp::with_env(&[("MAX_IN_FLIGHT", "1"), ("SQLITE_BUSY_TIMEOUT_MS", "60000")]).await;
    let token = app.token("hangup@example.com").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        app.app.router.clone(),
        std::future::pending(),
        ServeSettings::default(),
    ));
    // Another process holds the write lock for the whole test: a write waits on it.
    let url = format!("sqlite://{}", app.config.database_path().display());
    let mut other = SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let body = r#"{"displayName":"Gone"}"#;
    let mut writer = TcpStream::connect(addr).await.unwrap();
    let patch = format!(
        "PATCH /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    writer.write_all(patch.as_bytes()).await.unwrap();
    let me = format!(
        "GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    // The write holds the only slot…
    tokio::time::timeout(HANG, async {
        while status_of(addr, &me).await != 503 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the waiting write holds the slot");
    // …until its client hangs up, long before the lock (or the busy timeout) ends.
    drop(writer);
    tokio::time::timeout(HANG, async {
        while status_of(addr, &me).await != 200 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the abandoned request was dropped and its slot freed");
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_outwaiting_another_process_lock_is_a_503_and_reads_go_on() {
    if on_postgres() || on_dynamodb() {
        // The lock below is SQLite's.
        return;
    }
    let app = TestApp::with_env(&[("SQLITE_BUSY_TIMEOUT_MS", "50")]).await;
    let token = app.token("locked@example.com").await;
    let url = format!("sqlite://{}", app.config.database_path().display());
    let mut other = SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let r = app
        .patch(
            "/me",
            Some(&token),
            serde_json::json!({"displayName": "Locked"}),
        )
        .await;
    r.assert_error(503, "unavailable");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(app.get("/me", Some(&token)).await.status, StatusCode::OK);

    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    let r = app
        .patch(
            "/me",
            Some(&token),
            serde_json::json!({"displayName": "Free"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}
