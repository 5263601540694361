//! Built-in sign-in: sign-up, log-in, refresh rotation, sign-out, throttles, JWKS.

use crate::helpers::TestApp;
use serde_json::{Value, json};

async fn signup(app: &TestApp, email: &str) -> Value {
    let r = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email, "password": "correct horse"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn sign_up_returns_a_session_that_works_on_me() {
    let app = TestApp::new().await;
    let s = signup(&app, "New.Rider@Example.com").await;
    assert_eq!(s["tokenType"], "Bearer");
    assert_eq!(s["expiresIn"], 900);
    assert!(s["refreshToken"].as_str().unwrap().starts_with("sbr_"));
    let me = app.get("/me", s["accessToken"].as_str()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "new.rider@example.com");
    assert_eq!(me.body["isAdmin"], false);
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_duplicates() {
    let app = TestApp::new().await;
    let bad = [
        (
            json!({"email": "nope", "password": "correct horse"}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "correct horse", "isAdmin": true}),
            "isAdmin",
        ),
    ];
    for (body, field) in bad {
        let r = app.post("/auth/signup", None, body).await;
        r.assert_error(400, "validation_failed");
        assert_eq!(r.body["error"]["field"], field);
    }
    signup(&app, "dup@example.com").await;
    let r = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "DUP@example.com", "password": "another one"}),
        )
        .await;
    r.assert_error(409, "email_taken");
}

#[tokio::test]
async fn log_in_checks_the_password_without_revealing_accounts() {
    let app = TestApp::new().await;
    signup(&app, "login@example.com").await;
    let ok = app
        .post(
            "/auth/login",
            None,
            json!({"email": "login@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(ok.status, 200);
    let wrong = app
        .post(
            "/auth/login",
            None,
            json!({"email": "login@example.com", "password": "wrong horse"}),
        )
        .await;
    wrong.assert_error(401, "invalid_credentials");
    let nobody = app
        .post(
            "/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "wrong horse"}),
        )
        .await;
    nobody.assert_error(401, "invalid_credentials");
    assert_eq!(
        wrong.body["error"]["message"],
        nobody.body["error"]["message"]
    );
}

#[tokio::test]
async fn an_operator_made_account_cannot_log_in_with_a_password() {
    let app = TestApp::new().await;
    app.token("op@example.com").await;
    let r = app
        .post(
            "/auth/login",
            None,
            json!({"email": "op@example.com", "password": ""}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let r = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "op@example.com", "password": "takeover!"}),
        )
        .await;
    r.assert_error(409, "email_taken");
}

#[tokio::test]
async fn repeated_log_in_attempts_are_throttled_per_account() {
    let app = TestApp::new().await;
    signup(&app, "target@example.com").await;
    let attempt = json!({"email": "target@example.com", "password": "guess guess"});
    for _ in 0..10 {
        assert_eq!(
            app.post("/auth/login", None, attempt.clone()).await.status,
            401
        );
    }
    let r = app.post("/auth/login", None, attempt).await;
    r.assert_error(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn sign_ups_are_throttled_per_address_by_accounts_made() {
    let app = TestApp::new().await;
    // Failed attempts (a taken address, a weak password) cost no account quota: a
    // rider who mistypes five times still gets in.
    signup(&app, "taken@example.com").await;
    for _ in 0..5 {
        app.post(
            "/auth/signup",
            None,
            json!({"email": "taken@example.com", "password": "correct horse"}),
        )
        .await
        .assert_error(409, "email_taken");
        app.post(
            "/auth/signup",
            None,
            json!({"email": "weak@example.com", "password": "short"}),
        )
        .await
        .assert_error(400, "validation_failed");
    }
    // Thirty accounts an hour from one address (a carrier's phones share addresses),
    // then 429 with the wait.
    for i in 1..30 {
        signup(&app, &format!("burst{i}@example.com")).await;
    }
    let r = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "burst30@example.com", "password": "correct horse"}),
        )
        .await;
    r.assert_error(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn a_refresh_repeated_at_once_keeps_the_session() {
    // Two refreshes with one token (an app resuming twice, an answer lost on the way):
    // both answers work, nobody is signed out.
    let app = TestApp::new().await;
    let s = signup(&app, "twice@example.com").await;
    let first = s["refreshToken"].clone();
    let a = app
        .post("/auth/refresh", None, json!({"refreshToken": first}))
        .await;
    let b = app
        .post("/auth/refresh", None, json!({"refreshToken": first}))
        .await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    assert_ne!(a.body["refreshToken"], b.body["refreshToken"]);
    for answer in [&a, &b] {
        assert_eq!(
            app.get("/me", answer.body["accessToken"].as_str())
                .await
                .status,
            200
        );
        let next = app
            .post(
                "/auth/refresh",
                None,
                json!({"refreshToken": answer.body["refreshToken"]}),
            )
            .await;
        assert_eq!(next.status, 200, "{}", next.body);
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    // A one-second window, passed: the spent token coming back is reuse.
    let app = TestApp::with_env(&[("REFRESH_REUSE_GRACE_SECS", "1")]).await;
    let s = signup(&app, "refresh@example.com").await;
    let first = s["refreshToken"].clone();
    let r = app
        .post("/auth/refresh", None, json!({"refreshToken": first}))
        .await;
    assert_eq!(r.status, 200);
    let second = r.body["refreshToken"].clone();
    assert_ne!(first, second);
    assert_eq!(
        app.get("/me", r.body["accessToken"].as_str()).await.status,
        200
    );
    // The spent token comes back after the window: theft assumed, the whole session is
    // revoked.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.post("/auth/refresh", None, json!({"refreshToken": first}))
        .await
        .assert_error(401, "refresh_token_reused");
    app.post("/auth/refresh", None, json!({"refreshToken": second}))
        .await
        .assert_error(401, "invalid_refresh_token");
}

#[tokio::test]
async fn logout_ends_the_session_and_is_idempotent() {
    let app = TestApp::new().await;
    let s = signup(&app, "bye@example.com").await;
    let rt = s["refreshToken"].clone();
    assert_eq!(
        app.post("/auth/logout", None, json!({"refreshToken": rt}))
            .await
            .status,
        204
    );
    assert_eq!(
        app.post("/auth/logout", None, json!({"refreshToken": rt}))
            .await
            .status,
        204
    );
    assert_eq!(
        app.post("/auth/logout", None, json!({"refreshToken": "sbr_unknown"}))
            .await
            .status,
        204
    );
    app.post("/auth/refresh", None, json!({"refreshToken": rt}))
        .await
        .assert_error(401, "invalid_refresh_token");
}

#[tokio::test]
async fn jwks_publishes_the_key_that_signs_tokens() {
    let app = TestApp::new().await;
    let r = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["cache-control"], "public, max-age=300");
    let key = &r.body["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["crv"].as_str()
        ),
        (Some("EC"), Some("ES256"), Some("P-256"))
    );
    assert!(key.get("d").is_none(), "no private part");
    let token = app.token("jwks@example.com").await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
}

/// Signs in from an app that names itself; returns the session's tokens.
async fn login_from(app: &TestApp, email: &str, agent: &str) -> Value {
    let req = axum::http::Request::post("/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", agent)
        .body(axum::body::Body::from(
            json!({"email": email, "password": "correct horse"}).to_string(),
        ))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn sessions_are_listed_and_a_lost_phone_is_signed_out() {
    let app = TestApp::new().await;
    signup(&app, "rider@example.com").await;
    let bob = signup(&app, "bob@example.com").await;
    let phone = login_from(
        &app,
        "rider@example.com",
        "ScooterBooter/2.1 (iPhone; iOS 18)",
    )
    .await;
    let tablet = login_from(&app, "rider@example.com", "ScooterBooter/2.1 (Android 15)").await;
    let access = |s: &Value| s["accessToken"].as_str().unwrap().to_owned();
    let list = app.get("/me/sessions", Some(&access(&tablet))).await;
    assert_eq!(list.status, 200);
    let items = list.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "sign-up, phone, tablet: {items:?}");
    assert_eq!(items[0]["client"], "ScooterBooter/2.1 (Android 15)");
    assert_eq!(items[0]["current"], true);
    assert_eq!(items[1]["client"], "ScooterBooter/2.1 (iPhone; iOS 18)");
    assert_eq!(items[1]["current"], false);
    let phone_id = items[1]["id"].as_str().unwrap().to_owned();
    // A refreshed token still knows its session.
    let refreshed = app
        .post(
            "/auth/refresh",
            None,
            json!({"refreshToken": tablet["refreshToken"]}),
        )
        .await;
    let tablet_now = access(&refreshed.body);
    let again = app.get("/me/sessions", Some(&tablet_now)).await.body;
    assert_eq!(again["items"][0]["current"], true);
    // Someone else cannot end my session, and learns nothing.
    app.delete(&format!("/me/sessions/{phone_id}"), Some(&access(&bob)))
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        app.delete(&format!("/me/sessions/{phone_id}"), Some(&tablet_now))
            .await
            .status,
        204
    );
    app.post(
        "/auth/refresh",
        None,
        json!({"refreshToken": phone["refreshToken"]}),
    )
    .await
    .assert_error(401, "invalid_refresh_token");
    app.delete(&format!("/me/sessions/{phone_id}"), Some(&tablet_now))
        .await
        .assert_error(404, "not_found");
    // Everywhere else: only this tablet stays.
    let r = app.delete("/me/sessions", Some(&tablet_now)).await;
    assert_eq!(r.body, json!({"ended": 1}));
    let left = app.get("/me/sessions", Some(&tablet_now)).await.body;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(left["items"][0]["current"], true);
    assert_eq!(
        app.post(
            "/auth/refresh",
            None,
            json!({"refreshToken": refreshed.body["refreshToken"]})
        )
        .await
        .status,
        200
    );
    app.get("/me/sessions", None)
        .await
        .assert_error(401, "missing_token");
}
