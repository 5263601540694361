//! The envelope on every non-2xx, request ids, limits on bodies and types.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

#[tokio::test]
async fn an_unknown_route_is_a_404_in_the_envelope() {
    let app = TestApp::new().await;
    app.get("/no/such/route", None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_in_the_envelope_with_allow() {
    let app = TestApp::new().await;
    let r = app
        .request(axum::http::Method::PUT, "/me", None, None)
        .await;
    r.assert_error(405, "method_not_allowed");
    assert!(r.headers.get("allow").is_some());
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_refused() {
    let app = TestApp::new().await;
    let token = app.token("json@example.com").await;
    let send = |ct: &'static str, body: &'static str| {
        Request::patch("/me")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap()
    };
    app.send(send("application/json", "{\"bio\": "))
        .await
        .assert_error(400, "invalid_json");
    app.send(send("text/plain", "{\"bio\": \"x\"}"))
        .await
        .assert_error(415, "unsupported_media_type");
    app.send(send("application/json", "[1,2]"))
        .await
        .assert_error(400, "validation_failed");
    assert_eq!(app.get("/me", Some(&token)).await.body["bio"], json!(null));
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_10_mb_does_not_hurt() {
    let app = TestApp::new().await;
    let token = app.token("big@example.com").await;
    for size in [65 * 1024, 10 * 1024 * 1024] {
        let body = format!("{{\"bio\": \"{}\"}}", "a".repeat(size));
        let req = Request::patch("/me")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        app.send(req).await.assert_error(413, "payload_too_large");
    }
    let r = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "a@example.com", "password": "x".repeat(70_000)}),
        )
        .await;
    r.assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::new().await;
    let req = Request::get("/healthz")
        .header("x-request-id", "client-abc_123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send(req).await.headers["x-request-id"],
        "client-abc_123"
    );
    let req = Request::get("/healthz")
        .header("x-request-id", "bad id with spaces")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_ne!(r.headers["x-request-id"], "bad id with spaces");
    assert!(!r.headers["x-request-id"].is_empty());
}

/// The rule nginx applies too: `[A-Za-z0-9._-]{1,64}` is kept, anything else replaced,
/// so an id pasted into JSON, a header or a log line can never break out of it.
#[tokio::test]
async fn only_request_ids_of_a_safe_shape_are_kept() {
    let app = TestApp::new().await;
    let longest = "a".repeat(64);
    for kept in ["e2e-trace.1_A", longest.as_str(), "0"] {
        let req = Request::get("/no/such/route")
            .header("x-request-id", kept)
            .body(Body::empty())
            .unwrap();
        let r = app.send(req).await;
        r.assert_error(404, "not_found");
        assert_eq!(r.body["error"]["requestId"], kept);
    }
    let too_long = "a".repeat(65);
    for replaced in [
        r#"x","code":"owned"#,
        "a\\",
        "a:b",
        "a/b",
        "<script>",
        too_long.as_str(),
    ] {
        let req = Request::get("/no/such/route")
            .header("x-request-id", replaced)
            .body(Body::empty())
            .unwrap();
        let r = app.send(req).await;
        r.assert_error(404, "not_found");
        let id = r.body["error"]["requestId"].as_str().unwrap();
        assert_ne!(id, replaced);
        assert!(
            scooter_http::middleware::is_safe_request_id(id),
            "made a safe one: {id}"
        );
    }
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/healthz", None).await.body,
        json!({"status": "ok"})
    );
    let ready = app.get("/readyz", None).await.body;
    assert_eq!(ready["status"], "ok");
    assert!(ready["videoProcessing"] == "on" || ready["videoProcessing"] == "off");
}

#[tokio::test]
async fn readiness_reports_a_closed_store_as_503() {
    let app = TestApp::new().await;
    app.app.store.close().await;
    app.get("/readyz", None)
        .await
        .assert_error(503, "unavailable");
    let token = "x.y.z";
    assert_eq!(app.get("/me", Some(token)).await.status, 401);
}

#[tokio::test]
async fn a_missing_required_field_is_named() {
    let app = TestApp::new().await;
    let token = app.token("fields@example.com").await;
    let r = app.post("/username", Some(&token), json!({})).await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "handle");
    let r = app
        .post("/auth/login", None, json!({"email": "a@example.com"}))
        .await;
    assert_eq!(r.body["error"]["field"], "password");
}

#[tokio::test]
async fn nul_characters_are_refused_wherever_they_hide() {
    let app = TestApp::new().await;
    let token = app.token("nul@example.com").await;
    app.get("/posts/abc%00def", Some(&token))
        .await
        .assert_error(400, "invalid_path");
    app.get("/search?q=a%00b", Some(&token))
        .await
        .assert_error(400, "validation_failed");
    let r = app
        .post(
            "/notifications/read",
            Some(&token),
            json!({"ids": ["a\u{0}b"]}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    let cursor = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        "\"a\\u0000\"",
    );
    app.get(&format!("/feed?cursor={cursor}"), Some(&token))
        .await
        .assert_error(400, "validation_failed");
    app.patch("/me", Some(&token), json!({"bio": "x\u{0}y"}))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let t = TestApp::new().await;
    let token = t.user_with_handle("shapely").await;
    // serde would read `[name, bio]` into the struct's fields in order; the document
    // only allows an object.
    for body in [json!(["Evil Name", "evil bio"]), json!("text"), json!(3)] {
        let r = t.patch("/me", Some(&token), body).await;
        r.assert_error(400, "validation_failed");
    }
    let me = t.get("/me", Some(&token)).await;
    assert_eq!(me.body["displayName"], Value::Null);
    assert_eq!(me.body["bio"], Value::Null);
}

#[tokio::test]
async fn a_page_size_beyond_the_documented_range_is_refused() {
    let t = TestApp::new().await;
    let token = t.user_with_handle("pager").await;
    let huge = t.get("/feed?limit=9223372036854775808", Some(&token)).await;
    assert_eq!(huge.status, 400);
    let negative = t.get("/feed?limit=-1", Some(&token)).await;
    assert_eq!(negative.status, 400);
    let search = t
        .get("/search?q=pa&limit=9223372036854775808", Some(&token))
        .await;
    assert_eq!(search.status, 400);
    // Within the documented type, a large size is clamped, as API.md says.
    let large = t.get("/feed?limit=9223372036854775807", Some(&token)).await;
    assert_eq!(large.status, 200);
}

#[tokio::test]
async fn every_operation_documents_the_errors_of_the_shared_layers() {
    let t = TestApp::new().await;
    let doc = t.get("/openapi.json", None).await.body;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let has = |s: &str| op["responses"][s].is_object();
            assert!(has("503"), "{method} {path}: 503");
            if op["requestBody"].is_object() {
                for s in ["400", "413", "415"] {
                    assert!(has(s), "{method} {path}: {s}");
                }
            }
            if op["security"].is_array() {
                assert!(has("401"), "{method} {path}: 401");
            }
            let system = op["tags"].as_array().unwrap().iter().any(|t| t == "system");
            assert_eq!(
                has("429"),
                !system,
                "{method} {path}: 429 on service routes only"
            );
        }
    }
}
