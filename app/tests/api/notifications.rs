//! In-app notifications: who is told of what, and the inbox routes.

use crate::helpers::TestApp;
use serde_json::{Value, json};

fn kinds(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn post(app: &TestApp, token: &str, text: &str) -> String {
    app.post("/posts", Some(token), json!({ "text": text }))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn follows_comments_reactions_and_mentions_notify_the_right_user_once() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    app.post("/unfollow", Some(&bob), json!({"handle": "ann"}))
        .await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let p = post(&app, &ann, "my ride").await;
    app.post(
        &format!("/comments/{p}"),
        Some(&bob),
        json!({"text": "nice, @ann"}),
    )
    .await;
    for _ in 0..3 {
        app.post(
            &format!("/reactions/{p}"),
            Some(&bob),
            json!({"type": "fire"}),
        )
        .await;
    }
    post(&app, &bob, "riding with @ann today").await;
    let r = app.get("/notifications", Some(&ann)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        kinds(&r.body),
        vec!["mention", "reaction", "comment", "follow"]
    );
    let first = &r.body["items"][1];
    assert_eq!(first["actor"]["handle"], "bob");
    assert_eq!(first["postId"], p.as_str());
    assert_eq!(first["reaction"], "fire");
    assert_eq!(first["readAt"], json!(null));
    assert!(first["actor"].get("email").is_none());
    assert_eq!(
        app.get("/notifications/unread-count", Some(&ann))
            .await
            .body,
        json!({"count": 4})
    );
    assert!(
        kinds(&app.get("/notifications", Some(&bob)).await.body).is_empty(),
        "nothing for my own actions"
    );
}

#[tokio::test]
async fn the_list_shows_what_each_notification_is_about_without_more_requests() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let photo = app.upload_png(&ann, "post").await;
    let long = format!("{} the end", "a long ride along the river ".repeat(6));
    let p = app
        .post(
            "/posts",
            Some(&ann),
            json!({"text": long, "media": [photo]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app
        .post(
            &format!("/comments/{p}"),
            Some(&bob),
            json!({"text": "wow 🛴"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let items = app.get("/notifications", Some(&ann)).await.body["items"].clone();
    assert_eq!(kinds(&json!({"items": items})), vec!["follow", "comment"]);
    let follow = &items[0];
    assert_eq!(
        (follow["post"].clone(), follow["comment"].clone()),
        (json!(null), json!(null))
    );
    let comment = &items[1];
    assert_eq!(comment["actor"]["handle"], "bob");
    assert_eq!(comment["post"]["id"], p.as_str());
    let text = comment["post"]["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 101, "100 characters and an ellipsis");
    assert!(long.starts_with(text.trim_end_matches('…')) && text.ends_with('…'));
    let thumb = comment["post"]["thumbnailUrl"].as_str().unwrap();
    assert!(
        thumb.starts_with("/files/post/") && thumb.ends_with(".thumb.jpg"),
        "{thumb}"
    );
    assert_eq!(comment["comment"], json!({"id": c, "text": "wow 🛴"}));
    // A photo its owner removed is no longer previewed (its file is gone too).
    let photo_key = thumb
        .trim_start_matches("/files/")
        .trim_end_matches(".thumb.jpg")
        .to_owned();
    assert_eq!(
        app.delete(&format!("/media/{photo_key}"), Some(&ann))
            .await
            .status,
        204
    );
    let items = app.get("/notifications", Some(&ann)).await.body["items"].clone();
    assert_eq!(items[1]["post"]["thumbnailUrl"], json!(null));
}

#[tokio::test]
async fn blocks_and_preferences_stop_notifications() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    let p = post(&app, &ann, "post").await;
    app.post(
        &format!("/comments/{p}"),
        Some(&cat),
        json!({"text": "from cat"}),
    )
    .await;
    app.post("/block", Some(&ann), json!({"handle": "cat"}))
        .await;
    assert!(
        kinds(&app.get("/notifications", Some(&ann)).await.body).is_empty(),
        "a blocked actor's are hidden"
    );
    app.patch(
        "/me/notification-preferences",
        Some(&ann),
        json!({"follow": false, "mention": false}),
    )
    .await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    post(&app, &bob, "hi @ann").await;
    assert!(kinds(&app.get("/notifications", Some(&ann)).await.body).is_empty());
    app.post(
        &format!("/reactions/{p}"),
        Some(&bob),
        json!({"type": "like"}),
    )
    .await;
    assert_eq!(
        kinds(&app.get("/notifications", Some(&ann)).await.body),
        vec!["reaction"]
    );
}

#[tokio::test]
async fn reading_marks_only_my_own_notifications() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    app.post("/follow", Some(&cat), json!({"handle": "ann"}))
        .await;
    app.post("/follow", Some(&ann), json!({"handle": "bob"}))
        .await;
    let anns = app.get("/notifications", Some(&ann)).await.body;
    let bobs = app.get("/notifications", Some(&bob)).await.body;
    let bob_note = bobs["items"][0]["id"].clone();
    let r = app
        .post(
            "/notifications/read",
            Some(&ann),
            json!({"ids": [anns["items"][0]["id"], bob_note]}),
        )
        .await;
    assert_eq!(r.body, json!({"updated": 1}));
    assert_eq!(
        app.get("/notifications/unread-count", Some(&bob))
            .await
            .body["count"],
        1,
        "bob's untouched"
    );
    assert_eq!(
        app.get("/notifications/unread-count", Some(&ann))
            .await
            .body["count"],
        1
    );
    let r = app
        .post("/notifications/read-all", Some(&ann), json!({}))
        .await;
    assert_eq!(r.body, json!({"updated": 1}));
    let listed = app.get("/notifications", Some(&ann)).await.body;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["readAt"].is_string())
    );
    let many: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    app.post("/notifications/read", Some(&ann), json!({ "ids": many }))
        .await
        .assert_error(400, "validation_failed");
    app.post("/notifications/read", Some(&ann), json!({"ids": "all"}))
        .await
        .assert_error(400, "validation_failed");
    app.get("/notifications", None)
        .await
        .assert_error(401, "missing_token");
}

#[tokio::test]
async fn notifications_about_deleted_things_and_accounts_disappear() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let p = post(&app, &ann, "soon gone").await;
    app.post(
        &format!("/comments/{p}"),
        Some(&bob),
        json!({"text": "hey"}),
    )
    .await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    app.delete(&format!("/posts/{p}"), Some(&ann)).await;
    assert_eq!(
        kinds(&app.get("/notifications", Some(&ann)).await.body),
        vec!["follow"]
    );
    app.delete("/me", Some(&bob)).await;
    assert!(kinds(&app.get("/notifications", Some(&ann)).await.body).is_empty());
    app.post("/follow", Some(&ann), json!({"handle": "nobody"}))
        .await;
    app.delete("/me", Some(&ann)).await;
}

#[tokio::test]
async fn mentioning_the_posts_author_in_a_comment_notifies_them_once() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let p = post(&app, &ann, "hello").await;
    app.post(
        &format!("/comments/{p}"),
        Some(&bob),
        json!({"text": "@ann great"}),
    )
    .await;
    assert_eq!(
        kinds(&app.get("/notifications", Some(&ann)).await.body),
        vec!["comment"]
    );
}
