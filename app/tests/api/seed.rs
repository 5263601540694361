//! `scooterbooter seed`: a seeded graph is usable through the API with the tokens it
//! writes, and seeding twice is refused.

use crate::helpers::TestApp;
use scooterbooter::seed::{self, SeedError, SeedPlan};

#[tokio::test]
async fn a_seeded_graph_serves_feeds_profiles_and_scoops_to_its_tokens() {
    let t = TestApp::new().await;
    let store = t.app.store.as_ref();
    let plan = SeedPlan {
        users: 30,
        follows_per_user: 5,
        posts_per_user: 4,
        scoops_per_user: 1,
        seed: 7,
    };
    seed::load(store, &plan, "1").await.unwrap();
    assert!(matches!(
        seed::load(store, &plan, "1").await,
        Err(SeedError::NotEmpty)
    ));

    let issuer = &t.app.ctx.local_auth.as_ref().unwrap().issuer;
    let mut out = Vec::new();
    let written = seed::write_tokens(store, issuer, 3, &mut out)
        .await
        .unwrap();
    assert_eq!(written, 3);
    let lines = String::from_utf8(out).unwrap();
    let first: Vec<&str> = lines.lines().next().unwrap().split(' ').collect();
    let (token, handle, post) = (first[0], first[1], first[2]);

    let me = t.get("/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["handle"], "rider1");
    assert_eq!(me.body["followingCount"], 5);
    assert_eq!(me.body["postsCount"], 4);
    assert_eq!(me.body["onboarding"]["needsTerms"], false);
    assert_eq!(me.body["onboarding"]["needsHandle"], false);

    let feed = t.get("/feed?limit=50", Some(token)).await;
    assert_eq!(feed.status, 200);
    // My 4 posts and my 5 follows' 4 each, newest first.
    let items = feed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 24);
    assert_eq!(items[0]["id"], post);
    let ids: Vec<&str> = items.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));

    assert_eq!(
        t.get(&format!("/u/{handle}"), Some(token)).await.status,
        200
    );
    let scoops = t.get("/scoops/feed", Some(token)).await;
    assert_eq!(scoops.status, 200);
    assert_eq!(scoops.body["items"].as_array().unwrap().len(), 6);
    let search = t.get("/search?q=rider2", Some(token)).await;
    assert_eq!(search.status, 200);
    assert!(!search.body["items"].as_array().unwrap().is_empty());
}
