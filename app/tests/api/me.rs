//! `/me`, preferences, terms, admins and account deletion.

use crate::helpers::TestApp;
use serde_json::json;

#[tokio::test]
async fn the_profile_is_created_on_first_request_with_onboarding_state() {
    let app = TestApp::new().await;
    let token = app.token("fresh@example.com").await;
    let me = app.get("/me", Some(&token)).await;
    assert_eq!(me.status, 200);
    let b = &me.body;
    assert_eq!(b["handle"], serde_json::Value::Null);
    assert_eq!(
        b["onboarding"],
        json!({"needsHandle": true, "needsTerms": true, "needsInvite": false})
    );
    assert_eq!(b["notificationPreferences"]["push"], true);
    for key in ["displayName", "avatarUrl", "bio", "termsAcceptedAt"] {
        assert!(
            b.get(key).is_some_and(serde_json::Value::is_null),
            "{key} present as null"
        );
    }
    assert_eq!(me.headers["cache-control"], "private, no-store");
}

#[tokio::test]
async fn patch_me_refuses_fields_that_are_not_settable_and_changes_nothing() {
    let app = TestApp::new().await;
    let token = app.user_with_handle("massassign").await;
    for (field, value) in [
        ("isAdmin", json!(true)),
        ("id", json!("someone-else")),
        ("email", json!("new@example.com")),
        ("handle", json!("other")),
        ("followersCount", json!(1_000_000)),
    ] {
        let r = app
            .patch(
                "/me",
                Some(&token),
                json!({ field: value, "bio": "sneaky" }),
            )
            .await;
        r.assert_error(400, "validation_failed");
        assert_eq!(r.body["error"]["field"], field);
    }
    let me = app.get("/me", Some(&token)).await.body;
    assert_eq!(
        (me["isAdmin"].clone(), me["bio"].clone()),
        (json!(false), json!(null))
    );
    assert_eq!(me["email"], "massassign@example.com");
    assert_eq!(me["followersCount"], 0);
}

#[tokio::test]
async fn patch_me_sets_clears_and_validates() {
    let app = TestApp::new().await;
    let token = app.token("patch@example.com").await;
    let r = app
        .patch(
            "/me",
            Some(&token),
            json!({"displayName": "  Sam Rider ", "bio": "Lisbon\nrides"}),
        )
        .await;
    assert_eq!(
        (r.body["displayName"].as_str(), r.body["bio"].as_str()),
        (Some("Sam Rider"), Some("Lisbon\nrides"))
    );
    let r = app
        .patch("/me", Some(&token), json!({"displayName": null}))
        .await;
    assert_eq!(r.body["displayName"], json!(null));
    assert_eq!(r.body["bio"], "Lisbon\nrides", "absent fields stay");
    let r = app
        .patch("/me", Some(&token), json!({"displayName": "x".repeat(51)}))
        .await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "displayName");
    let r = app
        .patch("/me", Some(&token), json!({"bio": "b".repeat(301)}))
        .await;
    assert_eq!(r.body["error"]["field"], "bio");
    let r = app.patch("/me", Some(&token), json!({"bio": 42})).await;
    r.assert_error(400, "validation_failed");
    assert_eq!(
        app.get("/me", Some(&token)).await.body["bio"],
        "Lisbon\nrides"
    );
}

#[tokio::test]
async fn notification_preferences_are_read_and_patched() {
    let app = TestApp::new().await;
    let token = app.token("prefs@example.com").await;
    let all_on =
        json!({"follow": true, "comment": true, "reaction": true, "mention": true, "push": true});
    assert_eq!(
        app.get("/me/notification-preferences", Some(&token))
            .await
            .body,
        all_on
    );
    let r = app
        .patch(
            "/me/notification-preferences",
            Some(&token),
            json!({"reaction": false}),
        )
        .await;
    assert_eq!(r.body["reaction"], false);
    assert_eq!(r.body["comment"], true);
    let r = app
        .patch(
            "/me/notification-preferences",
            Some(&token),
            json!({"email": false}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    let r = app
        .patch(
            "/me/notification-preferences",
            Some(&token),
            json!({"push": "yes"}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert_eq!(
        app.get("/me", Some(&token)).await.body["notificationPreferences"]["reaction"],
        false
    );
}

#[tokio::test]
async fn nothing_is_published_before_onboarding_is_done() {
    let app = TestApp::with_env(&[
        ("TERMS_VERSION", "2026-01"),
        ("TERMS_URL", "https://scooterbooter.example/terms/2026-01"),
    ])
    .await;
    // The terms are readable before sign-up.
    let terms = app.get("/terms", None).await;
    assert_eq!(terms.status, 200);
    assert_eq!(
        terms.body,
        json!({"version": "2026-01", "url": "https://scooterbooter.example/terms/2026-01"})
    );
    let ann = app.user_with_handle("ann").await;
    let post = app.post("/posts", Some(&ann), json!({"text": "hi"})).await;
    assert_eq!(post.status, 201);
    let post_id = post.body["id"].as_str().expect("id").to_owned();

    let fresh = app.token("fresh@example.com").await;
    let publish = |token: String| {
        let (app, post_id) = (&app, post_id.clone());
        async move {
            vec![
                app.post("/posts", Some(&token), json!({"text": "no handle"}))
                    .await,
                app.post(
                    &format!("/comments/{post_id}"),
                    Some(&token),
                    json!({"text": "hi"}),
                )
                .await,
                app.post(
                    &format!("/reactions/{post_id}"),
                    Some(&token),
                    json!({"type": "fire"}),
                )
                .await,
                app.request(
                    axum::http::Method::PUT,
                    &format!("/reactions/{post_id}/like"),
                    Some(&token),
                    None,
                )
                .await,
                app.post("/follow", Some(&token), json!({"handle": "ann"}))
                    .await,
                app.post(
                    "/scoops",
                    Some(&token),
                    json!({"mediaKey": "scoop/x/y.jpg"}),
                )
                .await,
            ]
        }
    };
    for r in publish(fresh.clone()).await {
        r.assert_error(403, "onboarding_required");
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("handle") && message.contains("terms"),
            "{message}"
        );
    }
    app.post("/username", Some(&fresh), json!({"handle": "fresh"}))
        .await;
    for r in publish(fresh.clone()).await {
        r.assert_error(403, "onboarding_required");
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("terms") && !message.contains("handle"),
            "{message}"
        );
    }
    // What onboarding itself needs, and reading, stay open.
    assert_eq!(app.get("/feed", Some(&fresh)).await.status, 200);
    assert_eq!(
        app.get(&format!("/posts/{post_id}"), Some(&fresh))
            .await
            .status,
        200
    );
    let r = app
        .post(
            "/me/accept-terms",
            Some(&fresh),
            json!({"version": "2026-01"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post("/posts", Some(&fresh), json!({"text": "onboarded"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["author"]["handle"], "fresh");
    // New terms: publishing waits for them again; nothing was written meanwhile.
    let app = app.reopen_with(&[("TERMS_VERSION", "2026-06")]).await;
    app.post("/posts", Some(&fresh), json!({"text": "old terms"}))
        .await
        .assert_error(403, "onboarding_required");
    let mine = app.get("/u/fresh/posts", Some(&fresh)).await;
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn terms_are_accepted_for_the_current_version_and_a_new_version_asks_again() {
    let app = TestApp::with_env(&[("TERMS_VERSION", "2026-01")]).await;
    let token = app.token("terms@example.com").await;
    let r = app
        .post(
            "/me/accept-terms",
            Some(&token),
            json!({"version": "2025-01"}),
        )
        .await;
    r.assert_error(400, "terms_version_mismatch");
    let r = app
        .post(
            "/me/accept-terms",
            Some(&token),
            json!({"version": "2026-01"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["onboarding"]["needsTerms"], false);
    assert_eq!(r.body["termsVersion"], "2026-01");
    assert!(
        r.body["termsAcceptedAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let app = app.reopen_with(&[("TERMS_VERSION", "2026-06")]).await;
    let me = app.get("/me", Some(&token)).await;
    assert_eq!(me.body["onboarding"]["needsTerms"], true);
}

#[tokio::test]
async fn admins_are_verified_addresses_listed_by_the_operator() {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "boss@example.com,ops@example.com")]).await;
    let boss = app.token("Boss@Example.com").await;
    assert_eq!(app.get("/me", Some(&boss)).await.body["isAdmin"], true);
    // Self-service sign-up does not verify addresses, so it never yields an admin.
    let s = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "ops@example.com", "password": "i am ops!"}),
        )
        .await;
    let me = app.get("/me", s.body["accessToken"].as_str()).await;
    assert_eq!(me.body["isAdmin"], false);
}

#[tokio::test]
async fn deleting_the_account_frees_the_handle_and_the_email() {
    let app = TestApp::new().await;
    let s = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "gone@example.com", "password": "correct horse"}),
        )
        .await;
    let token = s.body["accessToken"].as_str().unwrap().to_owned();
    app.post("/username", Some(&token), json!({"handle": "vanishing"}))
        .await;
    assert_eq!(app.delete("/me", Some(&token)).await.status, 204);
    let r = app
        .post(
            "/auth/login",
            None,
            json!({"email": "gone@example.com", "password": "correct horse"}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let refresh = s.body["refreshToken"].clone();
    app.post("/auth/refresh", None, json!({"refreshToken": refresh}))
        .await
        .assert_error(401, "invalid_refresh_token");
    let other = app.token("other@example.com").await;
    assert_eq!(
        app.post("/username", Some(&other), json!({"handle": "Vanishing"}))
            .await
            .status,
        200
    );
    let again = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "gone@example.com", "password": "new start!"}),
        )
        .await;
    assert_eq!(again.status, 201);
    let me = app.get("/me", again.body["accessToken"].as_str()).await;
    assert_eq!(
        me.body["handle"],
        json!(null),
        "a new account, not the old one"
    );
}

#[tokio::test]
async fn the_operator_cannot_vouch_for_a_squatted_admin_address() {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "boss@example.com")]).await;
    let s = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "boss@example.com", "password": "squatter!"}),
        )
        .await;
    assert_eq!(s.status, 201);
    let auth = app.app.ctx.local_auth.as_ref().unwrap();
    let ctx = &app.app.ctx;
    let r = scooter_users::domain::accounts::operator_token(
        ctx.store.as_ref(),
        auth,
        &ctx.policy,
        "boss@example.com",
    )
    .await;
    assert!(
        matches!(
            r,
            Err(scooter_users::error::UsersError::UnverifiedAdminAddress)
        ),
        "{r:?}"
    );
    let me = app.get("/me", s.body["accessToken"].as_str()).await;
    assert_eq!(me.body["isAdmin"], false);
}

#[tokio::test]
async fn a_name_cannot_reverse_the_text_around_it() {
    // U+202E in a display name would make the rest of a line in the app read backwards.
    let app = TestApp::new().await;
    let token = app.user_with_handle("trojan").await;
    app.patch("/me", Some(&token), json!({"displayName": "Sam"}))
        .await;
    for (field, value) in [
        ("displayName", "admin\u{202E}gnp.exe"),
        ("bio", "hello \u{2067}world\u{2069}"),
    ] {
        let r = app
            .patch("/me", Some(&token), json!({ field: value }))
            .await;
        r.assert_error(400, "validation_failed");
        assert_eq!(r.body["error"]["field"], field);
    }
    let me = app.get("/me", Some(&token)).await.body;
    assert_eq!(
        (me["displayName"].clone(), me["bio"].clone()),
        (json!("Sam"), json!(null))
    );
}
