//! Reports, the moderation queue and suspensions, from the attacker's side too.

use crate::helpers::TestApp;
use axum::http::Method;
use serde_json::json;

async fn id(app: &TestApp, token: &str) -> String {
    app.get("/me", Some(token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn with_admin() -> (TestApp, String) {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "mod@example.com")]).await;
    let admin = app.token("mod@example.com").await;
    app.post("/username", Some(&admin), json!({"handle": "mod_team"}))
        .await;
    (app, admin)
}

#[tokio::test]
async fn a_report_is_accepted_once_per_reporter_and_target() {
    let (app, _) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let bob_id = id(&app, &bob).await;
    let body = json!({"targetType": "user", "targetId": bob_id, "reason": "harassment", "details": "rude"});
    let first = app.post("/report", Some(&ann), body.clone()).await;
    assert_eq!(first.status, 202);
    assert_eq!(first.body["status"], "open");
    let keys: Vec<&String> = first.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        2,
        "the receipt echoes nothing about the reported user"
    );
    let again = app.post("/report", Some(&ann), body).await;
    assert_eq!(
        (again.status.as_u16(), again.body["id"].clone()),
        (202, first.body["id"].clone())
    );
}

#[tokio::test]
async fn bad_reports_are_refused() {
    let (app, _) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let ann_id = id(&app, &ann).await;
    let bob = app.user_with_handle("bob").await;
    let bob_id = id(&app, &bob).await;
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "user", "targetId": bob_id, "reason": "rude"}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "reason");
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "planet", "targetId": bob_id, "reason": "spam"}),
        )
        .await;
    assert_eq!(r.body["error"]["field"], "targetType");
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "user", "targetId": "nobody", "reason": "spam"}),
        )
        .await;
    r.assert_error(404, "not_found");
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "post", "targetId": "p1", "reason": "spam"}),
        )
        .await;
    r.assert_error(404, "not_found");
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "user", "targetId": ann_id, "reason": "spam"}),
        )
        .await;
    r.assert_error(400, "cannot_target_self");
    let long = "x".repeat(1001);
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "user", "targetId": bob_id, "reason": "other", "details": long}),
        )
        .await;
    assert_eq!(r.body["error"]["field"], "details");
}

#[tokio::test]
async fn every_admin_route_refuses_non_admins_and_anonymous_callers() {
    let (app, _) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let ann_id = id(&app, &ann).await;
    let routes = [
        (Method::GET, "/admin/reports".to_owned(), None),
        (
            Method::POST,
            "/admin/reports/some-id/resolve".to_owned(),
            Some(json!({"action": "dismiss"})),
        ),
        (
            Method::POST,
            format!("/admin/users/{ann_id}/suspend"),
            Some(json!({"reason": "self-promotion"})),
        ),
        (
            Method::POST,
            format!("/admin/users/{ann_id}/unsuspend"),
            None,
        ),
    ];
    for (method, path, body) in routes {
        let r = app
            .request(method.clone(), &path, Some(&ann), body.clone())
            .await;
        r.assert_error(403, "admin_only");
        let r = app.request(method, &path, None, body).await;
        r.assert_error(401, "missing_token");
    }
    assert_eq!(
        app.get("/me", Some(&ann)).await.body["suspension"],
        json!(null)
    );
}

#[tokio::test]
async fn moderators_see_the_queue_with_summaries_and_suspend_from_a_report() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let cat = app.user_with_handle("cat").await;
    let troll = app.user_with_handle("troll").await;
    let troll_id = id(&app, &troll).await;
    app.post("/follow", Some(&ann), json!({"handle": "troll"}))
        .await;
    let report = json!({"targetType": "user", "targetId": troll_id, "reason": "spam"});
    let rid = app.post("/report", Some(&ann), report.clone()).await.body["id"].clone();
    app.post("/report", Some(&cat), report).await;

    let queue = app
        .get("/admin/reports?status=open&limit=1", Some(&admin))
        .await;
    assert_eq!(queue.status, 200);
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 1);
    assert!(queue.body["nextCursor"].is_string());
    let item = &queue.body["items"][0];
    assert_eq!(
        (
            item["target"]["user"]["handle"].clone(),
            item["reporter"]["handle"].clone()
        ),
        (json!("troll"), json!("cat"))
    );

    let r = app
        .post(
            &format!("/admin/reports/{}/resolve", rid.as_str().unwrap()),
            Some(&admin),
            json!({"action": "suspend_user", "note": "spam bot"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "resolved");
    assert_eq!(r.body["resolution"]["resolvedBy"]["handle"], "mod_team");
    let again = app
        .post(
            &format!("/admin/reports/{}/resolve", rid.as_str().unwrap()),
            Some(&admin),
            json!({"action": "dismiss"}),
        )
        .await;
    again.assert_error(409, "already_resolved");
    // Both reports on the troll were closed together.
    let open = app.get("/admin/reports", Some(&admin)).await;
    assert!(open.body["items"].as_array().unwrap().is_empty());
    let resolved = app
        .get("/admin/reports?status=resolved", Some(&admin))
        .await;
    assert_eq!(resolved.body["items"].as_array().unwrap().len(), 2);

    // The troll reads but cannot write, and sees why; others no longer see the troll.
    let me = app.get("/me", Some(&troll)).await;
    assert_eq!(me.body["suspension"]["reason"], "spam bot");
    app.patch("/me", Some(&troll), json!({"bio": "innocent"}))
        .await
        .assert_error(403, "account_suspended");
    app.post("/follow", Some(&troll), json!({"handle": "ann"}))
        .await
        .assert_error(403, "account_suspended");
    app.get("/u/troll", Some(&ann))
        .await
        .assert_error(404, "not_found");
    assert!(
        app.get("/search?q=troll", Some(&ann)).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get("/me", Some(&ann)).await.body["followingCount"],
        0,
        "a suspended account leaves counts"
    );

    let r = app
        .post(
            &format!("/admin/users/{troll_id}/unsuspend"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.body["suspension"], json!(null));
    assert_eq!(
        app.get("/u/troll", Some(&ann)).await.body["isFollowing"],
        true
    );
    assert_eq!(app.get("/me", Some(&ann)).await.body["followingCount"], 1);
}

#[tokio::test]
async fn resolutions_that_do_not_fit_are_refused() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let bob_id = id(&app, &bob).await;
    let rid = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "user", "targetId": bob_id, "reason": "spam"}),
        )
        .await
        .body["id"]
        .clone();
    let path = format!("/admin/reports/{}/resolve", rid.as_str().unwrap());
    app.post(&path, Some(&admin), json!({"action": "remove_content"}))
        .await
        .assert_error(400, "action_not_applicable");
    app.post(&path, Some(&admin), json!({"action": "ban"}))
        .await
        .assert_error(400, "validation_failed");
    app.post(
        "/admin/reports/nope/resolve",
        Some(&admin),
        json!({"action": "dismiss"}),
    )
    .await
    .assert_error(404, "not_found");
    app.delete("/me", Some(&bob)).await;
    app.post(&path, Some(&admin), json!({"action": "suspend_user"}))
        .await
        .assert_error(409, "target_gone");
    let r = app
        .post(
            &path,
            Some(&admin),
            json!({"action": "dismiss", "note": "account gone"}),
        )
        .await;
    assert_eq!(
        r.body["target"]["user"],
        json!(null),
        "a deleted account leaves no personal data"
    );
}

#[tokio::test]
async fn direct_suspension_needs_a_reason_and_never_hits_yourself() {
    let (app, admin) = with_admin().await;
    let admin_id = id(&app, &admin).await;
    let ann = app.user_with_handle("ann").await;
    let ann_id = id(&app, &ann).await;
    let path = format!("/admin/users/{ann_id}/suspend");
    app.post(&path, Some(&admin), json!({}))
        .await
        .assert_error(400, "validation_failed");
    app.post(&path, Some(&admin), json!({"reason": "  "}))
        .await
        .assert_error(400, "validation_failed");
    let me = format!("/admin/users/{admin_id}/suspend");
    app.post(&me, Some(&admin), json!({"reason": "oops"}))
        .await
        .assert_error(400, "cannot_target_self");
    app.post(
        "/admin/users/nobody/suspend",
        Some(&admin),
        json!({"reason": "x"}),
    )
    .await
    .assert_error(404, "not_found");
    let r = app
        .post(&path, Some(&admin), json!({"reason": "cooling off"}))
        .await;
    assert_eq!(r.body["suspension"]["reason"], "cooling off");
    // Suspended accounts can still delete themselves.
    assert_eq!(app.delete("/me", Some(&ann)).await.status, 204);
}

#[tokio::test]
async fn reporting_is_throttled_per_account() {
    let (app, _) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let body = json!({"targetType": "user", "targetId": id(&app, &bob).await, "reason": "spam"});
    for _ in 0..30 {
        assert_eq!(
            app.post("/report", Some(&ann), body.clone()).await.status,
            202
        );
    }
    let r = app.post("/report", Some(&ann), body).await;
    r.assert_error(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn reported_posts_comments_and_scoops_can_be_removed_by_a_moderator() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let troll = app.user_with_handle("troll").await;
    let post = app
        .post("/posts", Some(&troll), json!({"text": "bad post"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let host = app
        .post("/posts", Some(&ann), json!({"text": "host"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let comment = app
        .post(
            &format!("/comments/{host}"),
            Some(&troll),
            json!({"text": "bad comment"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = app.upload_png(&troll, "scoop").await;
    let scoop = app
        .post("/scoops", Some(&troll), json!({"mediaKey": key}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (kind, id) in [("post", &post), ("comment", &comment), ("scoop", &scoop)] {
        let r = app
            .post(
                "/report",
                Some(&ann),
                json!({"targetType": kind, "targetId": id, "reason": "spam"}),
            )
            .await;
        assert_eq!(r.status, 202, "{kind}: {:?}", r.body);
        let rid = r.body["id"].as_str().unwrap().to_owned();
        let queue = app.get("/admin/reports", Some(&admin)).await.body;
        let item = queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == rid.as_str())
            .cloned()
            .unwrap();
        assert_eq!(
            item["target"]["user"]["handle"], "troll",
            "the content's author is summarised"
        );
        let done = app
            .post(
                &format!("/admin/reports/{rid}/resolve"),
                Some(&admin),
                json!({"action": "remove_content"}),
            )
            .await;
        assert_eq!(done.status, 200, "{kind}: {:?}", done.body);
    }
    app.get(&format!("/posts/{post}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    let comments = app.get(&format!("/comments/{host}"), Some(&ann)).await.body;
    assert!(comments["items"].as_array().unwrap().is_empty());
    app.get(&format!("/scoops/{scoop}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    let r = app
        .post(
            "/report",
            Some(&ann),
            json!({"targetType": "comment", "targetId": "nope", "reason": "spam"}),
        )
        .await;
    r.assert_error(404, "not_found");
}

#[tokio::test]
async fn the_report_queue_refuses_a_page_size_beyond_its_documented_type() {
    let (app, admin) = with_admin().await;
    let huge = app
        .get("/admin/reports?limit=9223372036854775808", Some(&admin))
        .await;
    assert_eq!(huge.status, 400);
    let clamped = app.get("/admin/reports?limit=1000", Some(&admin)).await;
    assert_eq!(clamped.status, 200);
}

#[tokio::test]
async fn a_suspended_account_can_be_unfollowed_and_stays_hidden_from_strangers() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let eve = app.user_with_handle("eve").await;
    let troll = app.user_with_handle("troll").await;
    let troll_id = id(&app, &troll).await;
    app.post("/follow", Some(&ann), json!({"handle": "troll"}))
        .await;
    let r = app
        .post(
            &format!("/admin/users/{troll_id}/suspend"),
            Some(&admin),
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Someone who does not follow them learns nothing.
    app.post("/unfollow", Some(&eve), json!({"handle": "troll"}))
        .await
        .assert_error(404, "not_found");
    // Their follower can end the follow, by handle or by id, and it stays ended.
    let r = app
        .post("/unfollow", Some(&ann), json!({"handle": "troll"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["following"], false);
    app.post("/unfollow", Some(&ann), json!({"userId": troll_id}))
        .await
        .assert_error(404, "not_found");
    app.post(
        &format!("/admin/users/{troll_id}/unsuspend"),
        Some(&admin),
        json!({}),
    )
    .await;
    let me = app.get("/me", Some(&ann)).await.body;
    assert_eq!(me["followingCount"], 0);
    let profile = app.get("/u/troll", Some(&ann)).await.body;
    assert_eq!(
        (
            profile["followersCount"].clone(),
            profile["isFollowing"].clone()
        ),
        (json!(0), json!(false))
    );
}

#[tokio::test]
async fn a_suspended_account_cannot_delete_itself_and_sign_up_again() {
    let (app, admin) = with_admin().await;
    let signup = |email: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/auth/signup",
                None,
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await
        }
    };
    let troll = signup("troll@example.com").await;
    assert_eq!(troll.status, 201);
    let token = troll.body["accessToken"].as_str().unwrap().to_owned();
    let troll_id = id(&app, &token).await;
    app.post(
        &format!("/admin/users/{troll_id}/suspend"),
        Some(&admin),
        json!({"reason": "spam"}),
    )
    .await;
    assert_eq!(app.delete("/me", Some(&token)).await.status, 204);
    for email in ["troll@example.com", "TROLL@Example.com"] {
        signup(email).await.assert_error(403, "account_suspended");
    }
    // Nor through an identity provider's fresh token for the same address (a Cognito
    // account whose profile the server creates on first sight).
    let auth = app.app.ctx.local_auth.as_ref().unwrap();
    let fresh = auth
        .issuer
        .issue(
            &scooter_core::UserId::generate(),
            &scooter_core::Email::parse("troll@example.com").unwrap(),
            true,
            None,
        )
        .unwrap();
    app.get("/me", Some(&fresh.token))
        .await
        .assert_error(403, "account_suspended");
    // Someone who was never suspended may come back.
    let fine = signup("fine@example.com").await;
    let fine_token = fine.body["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.delete("/me", Some(&fine_token)).await.status, 204);
    assert_eq!(signup("fine@example.com").await.status, 201);
}
