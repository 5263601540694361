//! Invites: quota, listing, redemption rules, `INVITE_ONLY`.

use crate::helpers::TestApp;
use serde_json::json;

#[tokio::test]
async fn codes_are_created_within_the_quota_and_listed() {
    let app = TestApp::with_env(&[("INVITE_QUOTA", "2")]).await;
    let token = app.token("inviter@example.com").await;
    let a = app.post("/me/invite", Some(&token), json!({})).await;
    assert_eq!(a.status, 201);
    assert_eq!(a.body["used"], false);
    assert_eq!(
        app.post("/me/invite", Some(&token), json!({})).await.status,
        201
    );
    app.post("/me/invite", Some(&token), json!({}))
        .await
        .assert_error(403, "invite_quota_exhausted");
    let list = app.get("/me/invite", Some(&token)).await.body;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (list["quota"].clone(), list["remaining"].clone()),
        (json!(2), json!(0))
    );
}

#[tokio::test]
async fn a_code_is_redeemed_once_and_shows_as_used() {
    let app = TestApp::new().await;
    let owner = app.token("owner@example.com").await;
    let code = app.post("/me/invite", Some(&owner), json!({})).await.body["code"].clone();
    app.post("/me/invite/redeem", Some(&owner), json!({"code": code}))
        .await
        .assert_error(400, "own_invite");
    let guest = app.token("guest@example.com").await;
    let typed = code.as_str().unwrap().to_lowercase();
    assert_eq!(
        app.post("/me/invite/redeem", Some(&guest), json!({"code": typed}))
            .await
            .status,
        200
    );
    app.post("/me/invite/redeem", Some(&guest), json!({"code": code}))
        .await
        .assert_error(409, "already_invited");
    let late = app.token("late@example.com").await;
    app.post("/me/invite/redeem", Some(&late), json!({"code": code}))
        .await
        .assert_error(400, "invalid_invite");
    app.post("/me/invite/redeem", Some(&late), json!({"code": "NOPE"}))
        .await
        .assert_error(400, "invalid_invite");
    let list = app.get("/me/invite", Some(&owner)).await.body;
    assert_eq!(list["items"][0]["used"], true);
}

#[tokio::test]
async fn invite_only_gates_everything_but_me_and_redeem() {
    let app = TestApp::with_env(&[
        ("INVITE_ONLY", "true"),
        ("ADMIN_EMAILS", "admin@example.com"),
    ])
    .await;
    let admin = app.token("admin@example.com").await;
    assert_eq!(
        app.get("/me", Some(&admin)).await.body["onboarding"]["needsInvite"],
        false
    );
    let code = app.post("/me/invite", Some(&admin), json!({})).await.body["code"].clone();

    let newbie = app.token("newbie@example.com").await;
    let me = app.get("/me", Some(&newbie)).await;
    assert_eq!(me.body["onboarding"]["needsInvite"], true);
    app.patch("/me", Some(&newbie), json!({"bio": "hi"}))
        .await
        .assert_error(403, "invite_required");
    app.get("/search?q=adm", Some(&newbie))
        .await
        .assert_error(403, "invite_required");
    app.post("/username", Some(&newbie), json!({"handle": "newbie"}))
        .await
        .assert_error(403, "invite_required");
    let r = app
        .post("/me/invite/redeem", Some(&newbie), json!({"code": code}))
        .await;
    assert_eq!(r.body["onboarding"]["needsInvite"], false);
    assert_eq!(
        app.patch("/me", Some(&newbie), json!({"bio": "hi"}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_invite_code_at_sign_up_is_redeemed_and_a_bad_one_creates_nothing() {
    let app = TestApp::with_env(&[
        ("INVITE_ONLY", "true"),
        ("ADMIN_EMAILS", "host@example.com"),
    ])
    .await;
    let host = app.token("host@example.com").await;
    let code = app.post("/me/invite", Some(&host), json!({})).await.body["code"].clone();

    let bad = app
        .post("/auth/signup", None, json!({"email": "bad@example.com", "password": "correct horse", "inviteCode": "WRONGCODE2"}))
        .await;
    bad.assert_error(400, "invalid_invite");
    assert_eq!(bad.body["error"]["field"], "inviteCode");
    let r = app
        .post(
            "/auth/login",
            None,
            json!({"email": "bad@example.com", "password": "correct horse"}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");

    let ok = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "good@example.com", "password": "correct horse", "inviteCode": code}),
        )
        .await;
    assert_eq!(ok.status, 201);
    let me = app.get("/me", ok.body["accessToken"].as_str()).await;
    assert_eq!(me.body["onboarding"]["needsInvite"], false);
}

#[tokio::test]
async fn guessing_codes_is_throttled() {
    let app = TestApp::new().await;
    let guesser = app.token("guesser@example.com").await;
    for _ in 0..10 {
        let r = app
            .post(
                "/me/invite/redeem",
                Some(&guesser),
                json!({"code": "ABCDEFGHJK"}),
            )
            .await;
        r.assert_error(400, "invalid_invite");
    }
    let r = app
        .post(
            "/me/invite/redeem",
            Some(&guesser),
            json!({"code": "ABCDEFGHJK"}),
        )
        .await;
    r.assert_error(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
}
