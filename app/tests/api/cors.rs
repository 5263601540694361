//! CORS (`CORS_ORIGINS`): preflights answered for listed origins only, errors readable
//! by them, and nothing allowed when the list is unset.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request};

const ADMIN: &str = "https://admin.example.com";

fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_listed_origin_gets_its_preflight_answered() {
    let app =
        TestApp::with_env(&[("CORS_ORIGINS", &format!("{ADMIN},http://localhost:8081"))]).await;
    let r = app.send(preflight("/posts", ADMIN)).await;
    assert!(r.status.is_success(), "{:?}", r.status);
    assert_eq!(r.headers["access-control-allow-origin"], ADMIN);
    let methods = r.headers["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = r.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in ["authorization", "content-type", "idempotency-key"] {
        assert!(headers.contains(h), "{h} in {headers}");
    }
    // Bearer tokens, not cookies.
    assert!(r.headers.get("access-control-allow-credentials").is_none());
    // Preflights get a request id like any request.
    assert!(r.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn another_origin_is_not_allowed() {
    let app = TestApp::with_env(&[("CORS_ORIGINS", ADMIN)]).await;
    for origin in [
        "https://evil.example.com",
        "https://admin.example.com.evil.example",
        "http://admin.example.com",
        "null",
    ] {
        let r = app.send(preflight("/posts", origin)).await;
        assert!(
            r.headers.get("access-control-allow-origin").is_none(),
            "{origin}: {:?}",
            r.headers
        );
        let req = Request::get("/healthz")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap();
        let r = app.send(req).await;
        assert!(r.headers.get("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn errors_are_readable_by_a_listed_origin_with_their_headers_exposed() {
    let app = TestApp::with_env(&[("CORS_ORIGINS", ADMIN)]).await;
    let req = Request::get("/me")
        .header("origin", ADMIN)
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    r.assert_error(401, "missing_token");
    assert_eq!(r.headers["access-control-allow-origin"], ADMIN);
    let exposed = r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in ["x-request-id", "retry-after", "ratelimit"] {
        assert!(exposed.contains(h), "{h} in {exposed}");
    }
}

#[tokio::test]
async fn nothing_is_allowed_when_cors_origins_is_unset() {
    let app = TestApp::new().await;
    let r = app.send(preflight("/posts", ADMIN)).await;
    r.assert_error(405, "method_not_allowed");
    assert!(
        !r.headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-"))
    );
}
