//! `GET /search`: ranking, paging, limits, bad input.

use crate::helpers::TestApp;
use serde_json::{Value, json};

fn handles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["handle"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn exact_handle_first_then_prefixes_then_name_words() {
    let app = TestApp::new().await;
    let me = app.user_with_handle("zed").await;
    app.patch("/me", Some(&me), json!({"displayName": "Sam Sprocket"}))
        .await;
    app.user_with_handle("samwise").await;
    app.user_with_handle("sam").await;
    let r = app.get("/search?q=Sam", Some(&me)).await;
    assert_eq!(r.status, 200);
    assert_eq!(handles(&r.body), vec!["sam", "samwise", "zed"]);
    let first = &r.body["items"][0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        5,
        "only the UserSummary fields, no email: {first}"
    );
    assert!(first.get("email").is_none());
    assert_eq!(
        handles(&app.get("/search?q=%40spro", Some(&me)).await.body),
        vec!["zed"]
    );
}

#[tokio::test]
async fn pages_cover_every_match_once_and_respect_the_limit() {
    let app = TestApp::new().await;
    let me = app.token("searcher@example.com").await;
    for i in 0..5 {
        app.user_with_handle(&format!("page{i}")).await;
    }
    let mut seen = Vec::new();
    let mut url = "/search?q=page&limit=2".to_owned();
    loop {
        let r = app.get(&url, Some(&me)).await;
        let got = handles(&r.body);
        assert!(got.len() <= 2);
        seen.extend(got);
        match r.body["nextCursor"].as_str() {
            Some(c) => url = format!("/search?q=page&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..5).map(|i| format!("page{i}")).collect::<Vec<_>>());
    let r = app.get("/search?q=page&limit=100000", Some(&me)).await;
    assert_eq!(r.status, 200, "a huge limit is clamped, not refused");
}

#[tokio::test]
async fn missing_query_bad_limit_and_tampered_cursor_are_400() {
    let app = TestApp::new().await;
    let me = app.token("bad-search@example.com").await;
    app.get("/search", Some(&me))
        .await
        .assert_error(400, "validation_failed");
    app.get("/search?q=", Some(&me))
        .await
        .assert_error(400, "validation_failed");
    let r = app.get("/search?q=a&limit=abc", Some(&me)).await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "limit");
    assert_eq!(
        r.body["error"]["message"],
        "limit must be a whole number (a page holds at most 100)"
    );
    // Unknown parameters are refused, as unknown body fields are (a typo is not ignored).
    let r = app.get("/search?q=a&limt=5", Some(&me)).await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("unknown query parameter `limt`")),
        "{}",
        r.body
    );
    app.get("/feed?limit=5&sort=top", Some(&me))
        .await
        .assert_error(400, "validation_failed");
    let r = app.get("/search?q=a&cursor=not-a-cursor", Some(&me)).await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "cursor");
    app.get("/search?q=a", None)
        .await
        .assert_error(401, "missing_token");
}

#[tokio::test]
async fn deleted_users_vanish_from_search() {
    let app = TestApp::new().await;
    let me = app.token("looker@example.com").await;
    let gone = app.user_with_handle("ghostrider").await;
    assert_eq!(
        handles(&app.get("/search?q=ghost", Some(&me)).await.body),
        vec!["ghostrider"]
    );
    app.delete("/me", Some(&gone)).await;
    assert!(handles(&app.get("/search?q=ghost", Some(&me)).await.body).is_empty());
}
