//! Posts, the feed, comments and reactions, from both sides of every rule.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::Method;
use axum::http::Request;
use serde_json::{Value, json};
use std::sync::Arc;

async fn post(app: &TestApp, token: &str, text: &str) -> String {
    let r = app
        .post("/posts", Some(token), json!({ "text": text }))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn texts(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn with_admin() -> (TestApp, String) {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "mod@example.com")]).await;
    let admin = app.token("mod@example.com").await;
    (app, admin)
}

#[tokio::test]
async fn a_new_post_has_the_full_shape_and_counts_on_the_author() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let r = app
        .post(
            "/posts",
            Some(&ann),
            json!({"text": "  First ride with @bob!  "}),
        )
        .await;
    assert_eq!(r.status, 201);
    let p = &r.body;
    assert_eq!(p["text"], "First ride with @bob!");
    assert_eq!(p["author"]["handle"], "ann");
    assert!(p["author"].get("email").is_none());
    assert_eq!(p["media"], json!([]));
    assert_eq!(p["commentCount"], 0);
    assert_eq!(
        p["reactionCounts"],
        json!({"like": 0, "fire": 0, "scooter": 0, "laugh": 0, "wow": 0, "sad": 0})
    );
    assert_eq!(p["myReactions"], json!([]));
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 1);
    let got = app
        .get(&format!("/posts/{}", p["id"].as_str().unwrap()), Some(&ann))
        .await;
    assert_eq!(got.body["id"], p["id"]);
}

#[tokio::test]
async fn bad_posts_are_refused_and_nothing_is_created() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bad = [
        (json!({"text": "   "}), "validation_failed", "text"),
        (
            json!({"text": "x".repeat(2001)}),
            "validation_failed",
            "text",
        ),
        (
            json!({"text": "look", "media": ["ann/abc.jpg"]}),
            "invalid_media",
            "media",
        ),
        (
            json!({"text": "hi", "authorId": "someone"}),
            "validation_failed",
            "authorId",
        ),
        (
            json!({"text": "hi", "commentCount": 99}),
            "validation_failed",
            "commentCount",
        ),
    ];
    for (body, code, field) in bad {
        let r = app.post("/posts", Some(&ann), body).await;
        r.assert_error(400, code);
        assert_eq!(r.body["error"]["field"], field);
    }
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 0);
}

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_creates_one_post() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let send_text = |key: &str, text: &str| {
        Request::post("/posts")
            .header("authorization", format!("Bearer {ann}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(json!({ "text": text }).to_string()))
            .unwrap()
    };
    let send = |key: &str| send_text(key, "once");
    let first = app.send(send("retry-1")).await;
    let second = app.send(send("retry-1")).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    assert_eq!(first.body["id"], second.body["id"]);
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 1);
    // The key again with a different post: refused, not answered with the first one.
    let other = app.send(send_text("retry-1", "something else")).await;
    other.assert_error(422, "idempotency_key_reused");
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 1);
    app.send(send(&"k".repeat(256)))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn the_feed_is_mine_and_my_follows_and_pages_stably() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let eve = app.user_with_handle("eve").await;
    app.post("/follow", Some(&ann), json!({"handle": "bob"}))
        .await;
    for i in 0..3 {
        post(&app, &ann, &format!("ann {i}")).await;
        post(&app, &bob, &format!("bob {i}")).await;
        post(&app, &eve, &format!("eve {i}")).await;
    }
    let first = app.get("/feed?limit=4", Some(&ann)).await.body;
    assert_eq!(texts(&first), vec!["bob 2", "ann 2", "bob 1", "ann 1"]);
    post(&app, &bob, "breaking").await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/feed?cursor={cursor}"), Some(&ann))
        .await
        .body;
    assert_eq!(texts(&rest), vec!["bob 0", "ann 0"]);
    assert_eq!(rest["nextCursor"], json!(null));
    // A follower's timeline gets the post from its fan-out job (the worker runs it within
    // moments); the author sees their own at once.
    assert_eq!(
        texts(&app.get("/feed?limit=1", Some(&bob)).await.body),
        vec!["breaking"]
    );
    app.drain_jobs().await;
    assert_eq!(
        texts(&app.get("/feed?limit=1", Some(&ann)).await.body),
        vec!["breaking"]
    );
    app.get("/feed?cursor=bogus", Some(&ann))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn blocked_and_suspended_authors_vanish_from_feeds_posts_and_lists() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    app.post("/follow", Some(&ann), json!({"handle": "bob"}))
        .await;
    app.post("/follow", Some(&ann), json!({"handle": "cat"}))
        .await;
    let bob_post = post(&app, &bob, "bob says").await;
    let cat_post = post(&app, &cat, "cat says").await;
    app.post("/block", Some(&bob), json!({"handle": "ann"}))
        .await;
    assert_eq!(
        texts(&app.get("/feed", Some(&ann)).await.body),
        vec!["cat says"]
    );
    for token in [&ann, &bob] {
        let other = if token == &ann { "bob" } else { "ann" };
        app.get(&format!("/u/{other}/posts"), Some(token))
            .await
            .assert_error(404, "not_found");
    }
    app.get(&format!("/posts/{bob_post}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    let cat_id = app.get("/me", Some(&cat)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/admin/users/{cat_id}/suspend"),
        Some(&admin),
        json!({"reason": "spam"}),
    )
    .await;
    assert!(texts(&app.get("/feed", Some(&ann)).await.body).is_empty());
    app.get(&format!("/posts/{cat_post}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    app.get("/u/cat/posts", Some(&ann))
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        texts(&app.get("/u/cat/posts", Some(&cat)).await.body),
        vec!["cat says"]
    );
}

#[tokio::test]
async fn only_the_author_or_an_admin_deletes_a_post() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let eve = app.user_with_handle("eve").await;
    let p = post(&app, &ann, "mine").await;
    let path = format!("/posts/{p}");
    app.delete(&path, Some(&bob))
        .await
        .assert_error(403, "forbidden");
    app.post("/block", Some(&ann), json!({"handle": "eve"}))
        .await;
    app.delete(&path, Some(&eve))
        .await
        .assert_error(404, "not_found");
    app.post(
        &format!("/comments/{p}"),
        Some(&bob),
        json!({"text": "nice"}),
    )
    .await;
    assert_eq!(app.get(&path, Some(&bob)).await.status, 200);
    assert_eq!(app.delete(&path, Some(&ann)).await.status, 204);
    app.get(&path, Some(&ann))
        .await
        .assert_error(404, "not_found");
    app.get(&format!("/comments/{p}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 0);
    let q = post(&app, &ann, "moderated").await;
    assert_eq!(
        app.delete(&format!("/posts/{q}"), Some(&admin))
            .await
            .status,
        204
    );
    app.delete("/posts/nope", Some(&ann))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn comments_list_oldest_first_and_respect_blocks() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let eve = app.user_with_handle("eve").await;
    let p = post(&app, &ann, "ride report").await;
    let path = format!("/comments/{p}");
    for (token, text) in [(&bob, "first"), (&eve, "second"), (&bob, "third")] {
        let r = app.post(&path, Some(token), json!({ "text": text })).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.body["postId"], p.as_str());
    }
    let all = app.get(&format!("{path}?limit=2"), Some(&ann)).await.body;
    assert_eq!(texts(&all), vec!["first", "second"]);
    let cursor = all["nextCursor"].as_str().unwrap();
    assert_eq!(
        texts(
            &app.get(&format!("{path}?cursor={cursor}"), Some(&ann))
                .await
                .body
        ),
        vec!["third"]
    );
    app.post("/block", Some(&ann), json!({"handle": "eve"}))
        .await;
    assert_eq!(
        texts(&app.get(&path, Some(&ann)).await.body),
        vec!["first", "third"]
    );
    app.post(&path, Some(&eve), json!({"text": "let me in"}))
        .await
        .assert_error(404, "not_found");
    app.get(&path, Some(&eve))
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        app.get(&format!("/posts/{p}"), Some(&ann)).await.body["commentCount"],
        3
    );
    app.post(&path, Some(&bob), json!({"text": "  "}))
        .await
        .assert_error(400, "validation_failed");
    app.post(&path, Some(&bob), json!({"text": "x".repeat(1001)}))
        .await
        .assert_error(400, "validation_failed");
    app.post("/comments/nope", Some(&bob), json!({"text": "hi"}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn comment_deletion_is_for_its_author_the_posts_author_or_an_admin() {
    let (app, admin) = with_admin().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    let p = post(&app, &ann, "post").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = app
            .post(
                &format!("/comments/{p}"),
                Some(&bob),
                json!({"text": "bob's"}),
            )
            .await;
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let path = |c: &str| format!("/comments/{p}/{c}");
    app.delete(&path(&ids[0]), Some(&cat))
        .await
        .assert_error(403, "forbidden");
    app.delete(&format!("/comments/other-post/{}", ids[0]), Some(&bob))
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.delete(&path(&ids[0]), Some(&bob)).await.status, 204);
    assert_eq!(app.delete(&path(&ids[1]), Some(&ann)).await.status, 204);
    assert_eq!(app.delete(&path(&ids[2]), Some(&admin)).await.status, 204);
    app.delete(&path(&ids[2]), Some(&admin))
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        app.get(&format!("/posts/{p}"), Some(&ann)).await.body["commentCount"],
        0
    );
}

#[tokio::test]
async fn a_retried_reaction_is_not_undone() {
    // PUT and DELETE name the state wanted, so an app's automatic retry repeats it
    // instead of flipping it back as the toggle would.
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let eve = app.user_with_handle("eve").await;
    let p = post(&app, &ann, "like me").await;
    let like = format!("/reactions/{p}/like");
    for _ in 0..3 {
        let r = app.request(Method::PUT, &like, Some(&bob), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (r.body["reacted"].clone(), r.body["counts"]["like"].clone()),
            (json!(true), json!(1))
        );
    }
    let seen = app.get(&format!("/posts/{p}"), Some(&bob)).await.body;
    assert_eq!(seen["myReactions"], json!(["like"]));
    // Only the first add notifies the author.
    app.drain_jobs().await;
    let notes = app.get("/notifications", Some(&ann)).await.body;
    assert_eq!(notes["items"].as_array().map(Vec::len), Some(1));
    for _ in 0..2 {
        let r = app.delete(&like, Some(&bob)).await;
        assert_eq!(
            (r.body["reacted"].clone(), r.body["counts"]["like"].clone()),
            (json!(false), json!(0))
        );
    }
    // The attacker's side: a bad type, a missing post, a post hidden by a block.
    let r = app
        .request(
            Method::PUT,
            &format!("/reactions/{p}/love"),
            Some(&bob),
            None,
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "type");
    app.request(Method::PUT, "/reactions/nope/like", Some(&bob), None)
        .await
        .assert_error(404, "not_found");
    app.post("/block", Some(&ann), json!({"handle": "eve"}))
        .await;
    app.request(Method::PUT, &like, Some(&eve), None)
        .await
        .assert_error(404, "not_found");
    app.delete(&like, Some(&eve))
        .await
        .assert_error(404, "not_found");
    app.request(Method::PUT, &like, None, None)
        .await
        .assert_error(401, "missing_token");
}

#[tokio::test]
async fn reactions_toggle_show_as_mine_and_respect_blocks() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let eve = app.user_with_handle("eve").await;
    let p = post(&app, &ann, "react!").await;
    let path = format!("/reactions/{p}");
    let r = app.post(&path, Some(&bob), json!({"type": "fire"})).await;
    assert_eq!(r.body["reacted"], true);
    assert_eq!(r.body["counts"]["fire"], 1);
    app.post(&path, Some(&bob), json!({"type": "scooter"}))
        .await;
    let seen = app.get(&format!("/posts/{p}"), Some(&bob)).await.body;
    assert_eq!(seen["myReactions"], json!(["fire", "scooter"]));
    assert_eq!(
        app.get(&format!("/posts/{p}"), Some(&ann)).await.body["myReactions"],
        json!([])
    );
    let feed = app.get("/u/ann/posts", Some(&bob)).await.body;
    assert_eq!(feed["items"][0]["myReactions"], json!(["fire", "scooter"]));
    let list = app.get(&path, Some(&ann)).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["user"]["handle"], "bob");
    let r = app.post(&path, Some(&bob), json!({"type": "fire"})).await;
    assert_eq!(
        (r.body["reacted"].clone(), r.body["counts"]["fire"].clone()),
        (json!(false), json!(0))
    );
    let r = app.post(&path, Some(&bob), json!({"type": "love"})).await;
    r.assert_error(400, "validation_failed");
    assert_eq!(r.body["error"]["field"], "type");
    app.post("/block", Some(&ann), json!({"handle": "eve"}))
        .await;
    app.post(&path, Some(&eve), json!({"type": "sad"}))
        .await
        .assert_error(404, "not_found");
    app.get(&path, Some(&eve))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn reaction_counts_stay_exact_under_a_storm() {
    let app = Arc::new(TestApp::new().await);
    let ann = app.user_with_handle("ann").await;
    let p = post(&app, &ann, "storm").await;
    let mut tokens = Vec::new();
    for i in 0..12 {
        tokens.push(app.user_with_handle(&format!("fan{i}")).await);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let (app, p) = (app.clone(), p.clone());
            tokio::spawn(async move {
                for _ in 0..(3 + i % 2) {
                    let r = app
                        .post(
                            &format!("/reactions/{p}"),
                            Some(&t),
                            json!({"type": "like"}),
                        )
                        .await;
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let count =
        app.get(&format!("/posts/{p}"), Some(&ann)).await.body["reactionCounts"]["like"].clone();
    let rows = app
        .get(&format!("/reactions/{p}?limit=100"), Some(&ann))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rows, 6);
    assert_eq!(count, json!(rows));
}

#[tokio::test]
async fn deleting_my_account_removes_my_posts_comments_and_reactions_everywhere() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let kept = post(&app, &bob, "bob's post").await;
    let gone = post(&app, &ann, "ann's post").await;
    app.post(
        &format!("/comments/{kept}"),
        Some(&ann),
        json!({"text": "from ann"}),
    )
    .await;
    app.post(
        &format!("/reactions/{kept}"),
        Some(&ann),
        json!({"type": "wow"}),
    )
    .await;
    app.post(
        &format!("/reactions/{gone}"),
        Some(&bob),
        json!({"type": "like"}),
    )
    .await;
    assert_eq!(app.delete("/me", Some(&ann)).await.status, 204);
    let p = app.get(&format!("/posts/{kept}"), Some(&bob)).await.body;
    assert_eq!(
        (
            p["commentCount"].clone(),
            p["reactionCounts"]["wow"].clone()
        ),
        (json!(0), json!(0))
    );
    assert!(texts(&app.get(&format!("/comments/{kept}"), Some(&bob)).await.body).is_empty());
    app.get(&format!("/posts/{gone}"), Some(&bob))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn with_feed_timeline_the_feed_reads_timelines_and_hides_what_it_must() {
    let app = TestApp::with_env(&[("FEED", "timeline")]).await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    for who in ["bob", "cat"] {
        app.post("/follow", Some(&ann), json!({"handle": who}))
            .await;
    }
    post(&app, &bob, "before").await;
    // The first read builds ann's timeline from the follow graph.
    assert_eq!(
        texts(&app.get("/feed", Some(&ann)).await.body),
        vec!["before"]
    );
    post(&app, &bob, "bob after").await;
    post(&app, &cat, "cat after").await;
    post(&app, &ann, "mine").await;
    app.drain_jobs().await;
    assert_eq!(
        texts(&app.get("/feed", Some(&ann)).await.body),
        vec!["mine", "cat after", "bob after", "before"]
    );
    // A block hides the blocker's posts at once, whatever the timeline holds.
    app.post("/block", Some(&cat), json!({"handle": "ann"}))
        .await;
    app.post("/unfollow", Some(&ann), json!({"handle": "bob"}))
        .await;
    assert_eq!(
        texts(&app.get("/feed", Some(&ann)).await.body),
        vec!["mine"]
    );
}

#[tokio::test]
async fn the_hourly_clean_up_keeps_read_timelines_and_drops_all_when_the_feed_is_pulled() {
    use scooter_jobs::{JobHandler, MaintenanceJob};
    let app = TestApp::with_env(&[("FEED", "timeline")]).await;
    let ann = app.user_with_handle("ann").await;
    app.get("/feed", Some(&ann)).await;
    let id = scooter_core::UserId::parse(
        app.get("/me", Some(&ann)).await.body["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let job = scooter_core::notification::Job {
        id: "m".into(),
        kind: "maintenance".into(),
        payload: String::new(),
        attempts: 1,
        last_error: None,
        created_at: scooter_core::Timestamp::now(),
    };
    let store = app.app.store.clone();
    let on = scooter_store::TimelineSettings {
        enabled: true,
        ..Default::default()
    };
    MaintenanceJob::new(store.clone(), on)
        .run(&job)
        .await
        .unwrap();
    assert!(
        store.timeline_page(&id, None, 20).await.unwrap().is_some(),
        "read today: kept"
    );
    let off = scooter_store::TimelineSettings::default();
    MaintenanceJob::new(store.clone(), off)
        .run(&job)
        .await
        .unwrap();
    assert!(
        store.timeline_page(&id, None, 20).await.unwrap().is_none(),
        "pulled feed: dropped"
    );
}

/// The alt texts of a post's media, in order.
fn alts(post: &Value) -> Vec<Value> {
    post["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["alt"].clone())
        .collect()
}

#[tokio::test]
async fn media_carry_their_alt_text_wherever_the_post_is_shown() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let keys = [
        app.upload_png(&ann, "post").await,
        app.upload_png(&ann, "post").await,
        app.upload_png(&ann, "post").await,
        app.upload_png(&ann, "post").await,
    ];
    let longest = "é".repeat(1500);
    // Keys and objects mix in one list; blank alt text is none.
    let r = app
        .post(
            "/posts",
            Some(&ann),
            json!({"text": "harbour", "media": [
                {"key": keys[0], "alt": "  Two scooters by the harbour\nat sunset  "},
                keys[1],
                {"key": keys[2], "alt": " \n "},
                {"key": keys[3], "alt": longest},
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let expected = vec![
        json!("Two scooters by the harbour\nat sunset"),
        json!(null),
        json!(null),
        json!(longest),
    ];
    assert_eq!(alts(&r.body), expected);
    // The rest of the media's shape is as before, beside the alt text.
    let first = &r.body["media"][0];
    assert_eq!(first["key"], keys[0].as_str());
    assert_eq!(first["status"], "ready");
    assert_eq!(first["url"], format!("/files/{}", keys[0]));
    let id = r.body["id"].as_str().unwrap();
    let one = app.get(&format!("/posts/{id}"), Some(&bob)).await;
    assert_eq!(alts(&one.body), expected, "the post");
    let mine = app.get("/feed", Some(&ann)).await;
    assert_eq!(alts(&mine.body["items"][0]), expected, "the author's feed");
    app.drain_jobs().await;
    let theirs = app.get("/feed", Some(&bob)).await;
    assert_eq!(
        alts(&theirs.body["items"][0]),
        expected,
        "a follower's feed"
    );
    let listed = app.get("/u/ann/posts", Some(&bob)).await;
    assert_eq!(alts(&listed.body["items"][0]), expected, "the user's posts");
}

#[tokio::test]
async fn bad_alt_text_is_refused_and_nothing_is_created() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let key = app.upload_png(&ann, "post").await;
    let refused = [
        (json!({"key": key, "alt": "x".repeat(1501)}), "media"),
        (json!({"key": key, "alt": "a bell\u{7}"}), "media"),
        (json!({"key": key, "alt": "a\ttab"}), "media"),
        (json!({"key": key, "alt": "c1\u{9b}"}), "media"),
        (json!({"key": key, "alt": 7}), "media[0]"),
        (json!({"key": key, "description": "x"}), "media[0]"),
        (json!({"alt": "no key"}), "media[0]"),
        (json!(42), "media[0]"),
    ];
    for (item, field) in refused {
        let r = app
            .post("/posts", Some(&ann), json!({"text": "x", "media": [item]}))
            .await;
        r.assert_error(400, "validation_failed");
        assert_eq!(r.body["error"]["field"], field, "{item}: {:?}", r.body);
    }
    let r = app
        .post(
            "/posts",
            Some(&ann),
            json!({"text": "x", "media": [key, true]}),
        )
        .await;
    assert_eq!(
        r.body["error"]["message"],
        "each media item must be an upload key or an object with `key` and optional `alt`"
    );
    let r = app
        .post(
            "/posts",
            Some(&ann),
            json!({"text": "x", "media": [key, {"key": "post/x/y.png", "alt": "x".repeat(1501)}]}),
        )
        .await;
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("media[1].alt"),
        "the message says which: {:?}",
        r.body
    );
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 0);
}

#[tokio::test]
async fn alt_text_cannot_be_attached_to_someone_elses_media() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let theirs = app.upload_png(&bob, "post").await;
    let scoop = app.upload_png(&ann, "scoop").await;
    for key in [theirs.as_str(), scoop.as_str(), "post/nobody/x.png"] {
        let r = app
            .post(
                "/posts",
                Some(&ann),
                json!({"text": "x", "media": [{"key": key, "alt": "mine now"}]}),
            )
            .await;
        r.assert_error(400, "invalid_media");
        assert_eq!(r.body["error"]["field"], "media");
    }
    assert_eq!(app.get("/me", Some(&ann)).await.body["postsCount"], 0);
}

#[tokio::test]
async fn an_idempotency_key_tells_posts_apart_by_their_alt_text() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let key = app.upload_png(&ann, "post").await;
    let send = |media: Value| {
        let req = Request::post("/posts")
            .header("authorization", format!("Bearer {ann}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "alt-1")
            .body(Body::from(json!({"text": "x", "media": media}).to_string()))
            .unwrap();
        app.send(req)
    };
    let first = send(json!([{"key": key, "alt": "a scooter"}])).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = send(json!([{"key": key, "alt": "a scooter"}])).await;
    assert_eq!(again.body["id"], first.body["id"]);
    send(json!([{"key": key, "alt": "another scooter"}]))
        .await
        .assert_error(422, "idempotency_key_reused");
    send(json!([key]))
        .await
        .assert_error(422, "idempotency_key_reused");
}
