//! The shared layers on a throw-away router: panics and timeouts still answer in the
//! envelope, with the request id, and leak nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use scooter_http::middleware::{Budget, HttpSettings, apply, time_limited};
use serde_json::Value;
use std::time::Duration;
use tower::ServiceExt;

async fn boom() -> &'static str {
    panic!("secret internal detail")
}

async fn slowish() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "done"
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

fn router() -> Router {
    let settings = HttpSettings {
        body_limit: 1024,
        request_timeout: Duration::from_millis(100),
        upload_timeout: Duration::from_secs(5),
        cors_origins: &[],
        max_in_flight: 0,
        max_queue_wait: Duration::ZERO,
    };
    let routes = Router::new()
        .route("/boom", get(boom))
        .route("/slow", get(slow))
        .route("/uploads/slowish", get(slowish));
    let budget = Budget {
        request: settings.request_timeout,
        upload: settings.upload_timeout,
    };
    apply(time_limited(routes, budget), settings)
}

async fn call(path: &str) -> (StatusCode, String, Value) {
    let res = router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, rid, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_envelope_that_leaks_nothing() {
    let (status, rid, body) = call("/boom").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["requestId"], rid.as_str());
    assert!(!body.to_string().contains("secret"));
}

#[tokio::test]
async fn a_slow_handler_is_cut_off_with_a_503_envelope() {
    let (status, _, body) = call("/slow").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "unavailable");
}

#[tokio::test]
async fn uploads_get_their_own_longer_budget() {
    let res = router()
        .oneshot(
            Request::get("/uploads/slowish")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
