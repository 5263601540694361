//! `POST /username`: rules, uniqueness ignoring case, the race, freeing; and
//! `GET /username/available`.

use crate::helpers::TestApp;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn a_valid_handle_is_set_and_shown() {
    let app = TestApp::new().await;
    let token = app.token("h@example.com").await;
    let r = app
        .post("/username", Some(&token), json!({"handle": "@Scooter_Sam"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["handle"], "Scooter_Sam");
    assert_eq!(r.body["onboarding"]["needsHandle"], false);
}

#[tokio::test]
async fn invalid_and_reserved_handles_are_refused_with_the_field() {
    let app = TestApp::new().await;
    let token = app.token("bad@example.com").await;
    for bad in [
        "ab",
        "has space",
        "dash-dash",
        &"x".repeat(31),
        "admin",
        "Support",
    ] {
        let r = app
            .post("/username", Some(&token), json!({"handle": bad}))
            .await;
        r.assert_error(400, "validation_failed");
        assert_eq!(r.body["error"]["field"], "handle");
    }
    assert_eq!(
        app.get("/me", Some(&token)).await.body["handle"],
        json!(null)
    );
}

#[tokio::test]
async fn a_handle_taken_in_another_case_is_a_conflict() {
    let app = TestApp::new().await;
    app.user_with_handle("Rider").await;
    let token = app.token("second@example.com").await;
    let r = app
        .post("/username", Some(&token), json!({"handle": "rIDER"}))
        .await;
    r.assert_error(409, "handle_taken");
}

#[tokio::test]
async fn users_racing_for_one_handle_get_exactly_one_winner() {
    let app = Arc::new(TestApp::new().await);
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(app.token(&format!("racer{i}@example.com")).await);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post("/username", Some(&t), json!({"handle": "prize"}))
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn changing_a_handle_frees_the_old_one() {
    let app = TestApp::new().await;
    let first = app.user_with_handle("oldname").await;
    app.post("/username", Some(&first), json!({"handle": "newname"}))
        .await;
    let second = app.token("taker@example.com").await;
    assert_eq!(
        app.post("/username", Some(&second), json!({"handle": "oldname"}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn availability_says_why_a_handle_cannot_be_had() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("Ann_Rides").await;
    let me = app.token("new@example.com").await;
    let check = |handle: &str| {
        let (app, me) = (&app, me.clone());
        let path = format!("/username/available?handle={}", urlencode(handle));
        async move { app.get(&path, Some(&me)).await }
    };
    for (handle, stored, reason) in [
        ("@fresh_name", "fresh_name", json!(null)),
        ("ann_rides", "ann_rides", json!("taken")),
        ("ADMIN", "ADMIN", json!("reserved")),
        ("no spaces", "no spaces", json!("invalid")),
        ("ab", "ab", json!("invalid")),
    ] {
        let r = check(handle).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body,
            json!({"handle": stored, "available": reason.is_null(), "reason": reason}),
            "{handle}"
        );
    }
    // My own handle is available to me; nothing was held by the checks.
    let mine = app
        .get("/username/available?handle=ann_rides", Some(&ann))
        .await;
    assert_eq!(mine.body["available"], true);
    let r = app
        .post("/username", Some(&me), json!({"handle": "fresh_name"}))
        .await;
    assert_eq!(r.status, 200);
    app.get("/username/available", Some(&me))
        .await
        .assert_error(400, "validation_failed");
    app.get("/username/available?handle=x", None)
        .await
        .assert_error(401, "missing_token");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
