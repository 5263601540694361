//! Scoops: expiry, views and viewers, blocks, the feed order, deletion.

use crate::helpers::TestApp;
use serde_json::{Value, json};
use std::time::Duration;

async fn scoop(app: &TestApp, token: &str) -> Value {
    let key = app.upload_png(token, "scoop").await;
    let r = app
        .post(
            "/scoops",
            Some(token),
            json!({"mediaKey": key, "caption": "sunset ride"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn id_of(app: &TestApp, token: &str) -> String {
    app.get("/me", Some(token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn authors(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["author"]["handle"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_scoop_needs_my_own_ready_scoop_upload() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let s = scoop(&app, &ann).await;
    assert_eq!(
        (
            s["caption"].as_str(),
            s["seen"].as_bool(),
            s["viewCount"].as_i64()
        ),
        (Some("sunset ride"), Some(false), Some(0))
    );
    assert_eq!(s["media"]["status"], "ready");
    assert!(s["expiresAt"].as_str() > s["createdAt"].as_str());
    let post_key = app.upload_png(&ann, "post").await;
    let theirs = app.upload_png(&bob, "scoop").await;
    for key in [post_key, theirs, "scoop/x/y.png".to_owned()] {
        let r = app
            .post("/scoops", Some(&ann), json!({"mediaKey": key}))
            .await;
        r.assert_error(400, "invalid_media");
        assert_eq!(r.body["error"]["field"], "mediaKey");
    }
    let r = app
        .post(
            "/scoops",
            Some(&ann),
            json!({"mediaKey": "k", "caption": "x".repeat(201)}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    let seen_by_bob = app
        .get(
            &format!("/scoops/{}", s["id"].as_str().unwrap()),
            Some(&bob),
        )
        .await;
    assert_eq!(
        seen_by_bob.body["viewCount"],
        json!(null),
        "only the author sees the count"
    );
}

#[tokio::test]
async fn an_expired_scoop_is_gone_everywhere_at_once_and_purged_later() {
    let app = TestApp::with_env(&[("SCOOP_TTL", "1")]).await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let s = scoop(&app, &ann).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let file = s["media"]["url"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/scoops/{id}"), Some(&bob)).await.status,
        200
    );
    assert_eq!(app.get(&file, None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.get(&format!("/scoops/{id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.post(&format!("/scoops/{id}/view"), Some(&bob), json!({}))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/scoops/{id}/viewers"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    assert!(authors(&app.get("/scoops/feed", Some(&bob)).await.body).is_empty());
    assert!(
        app.get("/scoops/me", Some(&ann)).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.drain_jobs().await;
    let media = app
        .get(
            &format!("/media/{}", s["media"]["key"].as_str().unwrap()),
            Some(&ann),
        )
        .await;
    media.assert_error(404, "not_found");
    // The file itself needs no token, so it must be gone too once purged.
    assert_eq!(app.get(&file, None).await.status, 404);
}

#[tokio::test]
async fn views_count_once_and_only_the_owner_sees_the_viewers() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    let id = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    for token in [&bob, &bob, &ann, &cat] {
        assert_eq!(
            app.post(&format!("/scoops/{id}/view"), Some(token), json!({}))
                .await
                .status,
            204
        );
    }
    let me = app.get(&format!("/scoops/{id}"), Some(&ann)).await.body;
    assert_eq!(me["viewCount"], 2);
    assert_eq!(
        app.get(&format!("/scoops/{id}"), Some(&bob)).await.body["seen"],
        true
    );
    let viewers = app
        .get(&format!("/scoops/{id}/viewers?limit=1"), Some(&ann))
        .await
        .body;
    assert_eq!(viewers["items"][0]["user"]["handle"], "cat");
    assert!(viewers["items"][0]["viewedAt"].is_string());
    let cursor = viewers["nextCursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/scoops/{id}/viewers?cursor={cursor}"), Some(&ann))
        .await
        .body;
    assert_eq!(rest["items"][0]["user"]["handle"], "bob");
    app.get(&format!("/scoops/{id}/viewers"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.post("/block", Some(&cat), json!({"handle": "ann"}))
        .await;
    let viewers = app
        .get(&format!("/scoops/{id}/viewers"), Some(&ann))
        .await
        .body;
    assert_eq!(
        viewers["items"].as_array().unwrap().len(),
        1,
        "a viewer who blocked me is not listed"
    );
}

#[tokio::test]
async fn blocks_hide_scoops_both_ways() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let id = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    let ann_id = id_of(&app, &ann).await;
    assert_eq!(
        authors(&app.get("/scoops/feed", Some(&bob)).await.body),
        vec!["ann"]
    );
    app.post("/block", Some(&ann), json!({"handle": "bob"}))
        .await;
    app.get(&format!("/scoops/{id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/scoops/user/{ann_id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.post(&format!("/scoops/{id}/view"), Some(&bob), json!({}))
        .await
        .assert_error(404, "not_found");
    assert!(authors(&app.get("/scoops/feed", Some(&bob)).await.body).is_empty());
}

#[tokio::test]
async fn the_feed_puts_me_first_then_unseen_then_seen_authors() {
    let app = TestApp::new().await;
    let me = app.user_with_handle("me_user").await;
    let seen = app.user_with_handle("seen_one").await;
    let older = app.user_with_handle("older_one").await;
    let newer = app.user_with_handle("newer_one").await;
    for h in ["seen_one", "older_one", "newer_one"] {
        app.post("/follow", Some(&me), json!({"handle": h})).await;
    }
    let watched = scoop(&app, &seen).await["id"].as_str().unwrap().to_owned();
    scoop(&app, &older).await;
    scoop(&app, &newer).await;
    scoop(&app, &me).await;
    app.post(&format!("/scoops/{watched}/view"), Some(&me), json!({}))
        .await;
    let page = app.get("/scoops/feed?limit=2", Some(&me)).await.body;
    assert_eq!(authors(&page), vec!["me_user", "newer_one"]);
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/scoops/feed?cursor={cursor}"), Some(&me))
        .await
        .body;
    assert_eq!(authors(&rest), vec!["older_one", "seen_one"]);
    assert_eq!(rest["items"][1]["allSeen"], true);
    assert_eq!(rest["items"][0]["allSeen"], false);
}

#[tokio::test]
async fn deletion_is_for_the_author_or_an_admin_and_goes_with_the_account() {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "mod@example.com")]).await;
    let admin = app.token("mod@example.com").await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let first = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    let second = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    app.delete(&format!("/scoops/{first}"), Some(&bob))
        .await
        .assert_error(403, "forbidden");
    assert_eq!(
        app.delete(&format!("/scoops/{first}"), Some(&ann))
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&format!("/scoops/{second}"), Some(&admin))
            .await
            .status,
        204
    );
    app.get(&format!("/scoops/{second}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    let third = scoop(&app, &bob).await["id"].as_str().unwrap().to_owned();
    app.post(&format!("/scoops/{third}/view"), Some(&ann), json!({}))
        .await;
    let mine = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    app.delete("/me", Some(&ann)).await;
    assert_eq!(
        app.get(&format!("/scoops/{third}"), Some(&bob)).await.body["viewCount"],
        0
    );
    app.get(&format!("/scoops/{mine}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_viewer_who_blocks_the_author_no_longer_sees_their_scoops() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let id = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    let ann_id = id_of(&app, &ann).await;
    app.post("/block", Some(&bob), json!({"handle": "ann"}))
        .await;
    app.get(&format!("/scoops/{id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/scoops/user/{ann_id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.post(&format!("/scoops/{id}/view"), Some(&bob), json!({}))
        .await
        .assert_error(404, "not_found");
    let viewers = app.get(&format!("/scoops/{id}/viewers"), Some(&ann)).await;
    assert!(viewers.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_suspended_authors_scoops_vanish_but_a_moderator_can_still_remove_them() {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "mod@example.com")]).await;
    let admin = app.token("mod@example.com").await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let id = scoop(&app, &ann).await["id"].as_str().unwrap().to_owned();
    let ann_id = id_of(&app, &ann).await;
    let r = app
        .post(
            &format!("/admin/users/{ann_id}/suspend"),
            Some(&admin),
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    app.get(&format!("/scoops/{id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/scoops/user/{ann_id}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
    // Hidden from everyone, the moderator included, yet still theirs to delete.
    assert_eq!(
        app.delete(&format!("/scoops/{id}"), Some(&admin))
            .await
            .status,
        204
    );
    app.delete(&format!("/scoops/{id}"), Some(&admin))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_scoops_alt_text_is_shown_wherever_the_scoop_is() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let key = app.upload_png(&ann, "scoop").await;
    let r = app
        .post(
            "/scoops",
            Some(&ann),
            json!({"mediaKey": key, "alt": "  A scooter on the beach\nat low tide ", "caption": "tide"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let alt = "A scooter on the beach\nat low tide";
    assert_eq!(r.body["media"]["alt"], alt);
    assert_eq!(r.body["media"]["key"], key.as_str());
    assert_eq!(r.body["media"]["status"], "ready");
    let id = r.body["id"].as_str().unwrap();
    let one = app.get(&format!("/scoops/{id}"), Some(&bob)).await;
    assert_eq!(one.body["media"]["alt"], alt, "one scoop");
    let mine = app.get("/scoops/me", Some(&ann)).await;
    assert_eq!(mine.body["items"][0]["media"]["alt"], alt, "my scoops");
    let ann_id = id_of(&app, &ann).await;
    let theirs = app.get(&format!("/scoops/user/{ann_id}"), Some(&bob)).await;
    assert_eq!(
        theirs.body["items"][0]["media"]["alt"], alt,
        "a user's scoops"
    );
    let feed = app.get("/scoops/feed", Some(&bob)).await;
    assert_eq!(
        feed.body["items"][0]["scoops"][0]["media"]["alt"], alt,
        "the feed"
    );
    // The shape before alt text still works, and has none.
    let plain = scoop(&app, &ann).await;
    assert_eq!(plain["media"]["alt"], json!(null));
    let blank = app
        .post(
            "/scoops",
            Some(&ann),
            json!({"mediaKey": app.upload_png(&ann, "scoop").await, "alt": "  "}),
        )
        .await;
    assert_eq!(blank.body["media"]["alt"], json!(null), "{:?}", blank.body);
}

#[tokio::test]
async fn bad_scoop_alt_text_is_refused_and_only_on_my_own_upload() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let key = app.upload_png(&ann, "scoop").await;
    for alt in [
        json!("x".repeat(1501)),
        json!("bell\u{7}"),
        json!("a\ttab"),
        json!(3),
    ] {
        let r = app
            .post("/scoops", Some(&ann), json!({"mediaKey": key, "alt": alt}))
            .await;
        r.assert_error(400, "validation_failed");
        assert_eq!(r.body["error"]["field"], "alt", "{alt}: {:?}", r.body);
    }
    let theirs = app.upload_png(&bob, "scoop").await;
    let r = app
        .post(
            "/scoops",
            Some(&ann),
            json!({"mediaKey": theirs, "alt": "mine now"}),
        )
        .await;
    r.assert_error(400, "invalid_media");
    assert_eq!(r.body["error"]["field"], "mediaKey");
    let mine = app.get("/scoops/me", Some(&ann)).await;
    assert_eq!(mine.body["items"], json!([]), "nothing was posted");
    // Exactly at the limit is taken.
    let r = app
        .post(
            "/scoops",
            Some(&ann),
            json!({"mediaKey": key, "alt": "é".repeat(1500)}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}
