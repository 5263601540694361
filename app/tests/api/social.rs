//! Follows, blocks, profiles and their lists, from both sides of every rule.

use crate::helpers::TestApp;
use serde_json::{Value, json};
use std::sync::Arc;

fn handles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["handle"].as_str().unwrap().to_owned())
        .collect()
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.get("/me", Some(token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every handle in a paged list, following `nextCursor`.
async fn all(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut url = format!("{path}?limit=3");
    loop {
        let r = app.get(&url, Some(token)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        out.extend(handles(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(c) => url = format!("{path}?limit=3&cursor={c}"),
            None => return out,
        }
    }
}

#[tokio::test]
async fn follow_by_handle_or_id_is_idempotent_and_shows_on_profiles() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let bob_id = user_id(&app, &bob).await;
    let r = app
        .post("/follow", Some(&ann), json!({"handle": "BOB"}))
        .await;
    assert_eq!(
        r.body,
        json!({"userId": bob_id, "following": true, "followsYou": false, "blocked": false})
    );
    let again = app
        .post("/follow", Some(&ann), json!({"userId": bob_id}))
        .await;
    assert_eq!(again.body, r.body);
    let profile = app.get("/u/bob", Some(&ann)).await.body;
    assert_eq!(
        (
            profile["followersCount"].clone(),
            profile["isFollowing"].clone()
        ),
        (json!(1), json!(true))
    );
    assert!(profile.get("email").is_none());
    let back = app.get("/u/ann", Some(&bob)).await.body;
    assert_eq!(
        (back["followingCount"].clone(), back["followsYou"].clone()),
        (json!(1), json!(true))
    );
    assert_eq!(all(&app, &ann, "/u/bob/followers").await, vec!["ann"]);
    assert_eq!(all(&app, &bob, "/u/ann/following").await, vec!["bob"]);
    let r = app
        .post("/unfollow", Some(&ann), json!({"handle": "bob"}))
        .await;
    assert_eq!(r.body["following"], false);
    assert_eq!(
        app.post("/unfollow", Some(&ann), json!({"handle": "bob"}))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/u/bob", Some(&ann)).await.body["followersCount"],
        0
    );
}

#[tokio::test]
async fn bad_targets_are_refused() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let ann_id = user_id(&app, &ann).await;
    app.post("/follow", Some(&ann), json!({"handle": "ann"}))
        .await
        .assert_error(400, "cannot_target_self");
    app.post("/block", Some(&ann), json!({"userId": ann_id}))
        .await
        .assert_error(400, "cannot_target_self");
    app.post("/follow", Some(&ann), json!({"handle": "nobody"}))
        .await
        .assert_error(404, "not_found");
    app.post("/follow", Some(&ann), json!({"userId": "no-such-id"}))
        .await
        .assert_error(404, "not_found");
    app.post("/follow", Some(&ann), json!({}))
        .await
        .assert_error(400, "validation_failed");
    app.post("/follow", Some(&ann), json!({"handle": "x", "userId": "y"}))
        .await
        .assert_error(400, "validation_failed");
    app.post(
        "/follow",
        Some(&ann),
        json!({"handle": "bob", "notify": true}),
    )
    .await
    .assert_error(400, "validation_failed");
    app.get("/u/nobody", Some(&ann))
        .await
        .assert_error(404, "not_found");
    app.get("/u/not%20a%20handle", Some(&ann))
        .await
        .assert_error(404, "not_found");
    app.get("/u/ann", None)
        .await
        .assert_error(401, "missing_token");
}

#[tokio::test]
async fn a_block_cuts_both_ways_and_unblocking_restores_no_follow() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let cat = app.user_with_handle("cat").await;
    app.post("/follow", Some(&ann), json!({"handle": "bob"}))
        .await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    app.post("/follow", Some(&cat), json!({"handle": "bob"}))
        .await;
    let r = app
        .post("/block", Some(&ann), json!({"handle": "bob"}))
        .await;
    assert_eq!(r.body["blocked"], true);
    // Neither sees the other: profiles and lists are 404 both ways.
    for (me, other) in [(&ann, "bob"), (&bob, "ann")] {
        app.get(&format!("/u/{other}"), Some(me))
            .await
            .assert_error(404, "not_found");
        app.get(&format!("/u/{other}/followers"), Some(me))
            .await
            .assert_error(404, "not_found");
        app.get(&format!("/u/{other}/following"), Some(me))
            .await
            .assert_error(404, "not_found");
        app.post("/follow", Some(me), json!({"handle": other}))
            .await
            .assert_error(404, "not_found");
    }
    // The follows both ways are gone, counts corrected; the blocked user is out of
    // other lists and search for the blocker.
    let me = app.get("/me", Some(&ann)).await.body;
    assert_eq!(
        (me["followersCount"].clone(), me["followingCount"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        all(&app, &ann, "/u/cat/following").await,
        Vec::<String>::new()
    );
    assert_eq!(all(&app, &cat, "/u/cat/following").await, vec!["bob"]);
    assert!(handles(&app.get("/search?q=bob", Some(&ann)).await.body).is_empty());
    assert!(handles(&app.get("/search?q=ann", Some(&bob)).await.body).is_empty());
    assert_eq!(all(&app, &ann, "/blocked").await, vec!["bob"]);
    // Whoever is blocked cannot even learn the other's id by blocking back.
    let r = app
        .post("/block", Some(&bob), json!({"handle": "ann"}))
        .await;
    r.assert_error(404, "not_found");
    let r = app
        .post("/unblock", Some(&bob), json!({"handle": "ann"}))
        .await;
    r.assert_error(404, "not_found");
    // Blocking again is idempotent.
    let r = app
        .post("/block", Some(&ann), json!({"handle": "bob"}))
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post("/unblock", Some(&ann), json!({"handle": "bob"}))
        .await;
    assert_eq!(
        r.body,
        json!({"userId": r.body["userId"], "following": false, "followsYou": false, "blocked": false})
    );
    assert_eq!(
        app.get("/u/bob", Some(&ann)).await.body["isFollowing"],
        false
    );
    assert!(all(&app, &ann, "/blocked").await.is_empty());
}

#[tokio::test]
async fn lists_page_newest_first_without_repeats() {
    let app = TestApp::new().await;
    let star = app.user_with_handle("star").await;
    let mut expected = Vec::new();
    for i in 0..7 {
        let fan = app.user_with_handle(&format!("fan{i}")).await;
        app.post("/follow", Some(&fan), json!({"handle": "star"}))
            .await;
        expected.push(format!("fan{i}"));
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    expected.reverse();
    assert_eq!(all(&app, &star, "/u/star/followers").await, expected);
    app.get("/u/star/followers?cursor=garbage", Some(&star))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn counts_stay_exact_under_a_storm_of_concurrent_toggles() {
    let app = Arc::new(TestApp::new().await);
    app.user_with_handle("target").await;
    let mut fans = Vec::new();
    for i in 0..16 {
        fans.push(app.user_with_handle(&format!("storm{i}")).await);
    }
    let tasks: Vec<_> = fans
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let app = app.clone();
            tokio::spawn(async move {
                for round in 0..(5 + i % 2) {
                    let path = if round % 2 == 0 {
                        "/follow"
                    } else {
                        "/unfollow"
                    };
                    let r = app
                        .post(path, Some(&token), json!({"handle": "target"}))
                        .await;
                    assert_eq!(r.status, 200, "{:?}", r.body);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let viewer = app.user_with_handle("observer").await;
    let rows = all(&app, &viewer, "/u/target/followers").await.len();
    let count = app.get("/u/target", Some(&viewer)).await.body["followersCount"]
        .as_u64()
        .unwrap();
    assert_eq!(
        rows, 8,
        "even fans end following (5 toggles), odd fans end not following (6)"
    );
    assert_eq!(count, rows as u64);
}

#[tokio::test]
async fn deleting_my_account_takes_me_out_of_others_counts() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    app.post("/follow", Some(&ann), json!({"handle": "bob"}))
        .await;
    app.post("/follow", Some(&bob), json!({"handle": "ann"}))
        .await;
    let me = app.get("/me", Some(&bob)).await.body;
    assert_eq!(
        (me["followersCount"].clone(), me["followingCount"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(app.delete("/me", Some(&ann)).await.status, 204);
    let me = app.get("/me", Some(&bob)).await.body;
    assert_eq!(
        (me["followersCount"].clone(), me["followingCount"].clone()),
        (json!(0), json!(0))
    );
    assert!(all(&app, &bob, "/u/bob/followers").await.is_empty());
    assert!(all(&app, &bob, "/u/bob/following").await.is_empty());
}

#[tokio::test]
async fn a_follow_between_pages_neither_repeats_nor_hides_anyone() {
    let app = TestApp::new().await;
    let star = app.user_with_handle("star").await;
    for i in 0..4 {
        let fan = app.user_with_handle(&format!("early{i}")).await;
        app.post("/follow", Some(&fan), json!({"handle": "star"}))
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let first = app.get("/u/star/followers?limit=2", Some(&star)).await.body;
    let late = app.user_with_handle("late").await;
    app.post("/follow", Some(&late), json!({"handle": "star"}))
        .await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/u/star/followers?limit=10&cursor={cursor}"),
            Some(&star),
        )
        .await
        .body;
    let mut seen = handles(&first);
    seen.extend(handles(&rest));
    assert_eq!(seen, vec!["early3", "early2", "early1", "early0"]);
}
