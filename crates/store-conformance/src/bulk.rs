//! Bulk loading (`scooterbooter seed`): rows land usable by every other method.

use crate::fixtures::Db;
use crate::posts::whole_feed;
use scooter_core::ids::new_id;
use scooter_core::{Handle, Timestamp, UserId};
use scooter_store::bulk::{SeedFollow, SeedPost, SeedScoop, SeedUser};

/// Loaded users, follows, posts and scoops are counted after `recount`, found by search
/// and by handle, and appear in the feeds.
pub async fn bulk_loaded_rows_are_counted_and_found(db: Db) {
    let now = Timestamp::now();
    let users: Vec<SeedUser> = (1..=3)
        .map(|i| SeedUser {
            id: UserId::generate(),
            email: format!("bulk{i}@example.com"),
            handle: format!("Bulk{i}"),
            display_name: format!("Bulk Rider {i}"),
            terms_version: "1".into(),
            created_at: now,
        })
        .collect();
    db.load_users(&users).await.unwrap();
    let [a, b, c] = [&users[0].id, &users[1].id, &users[2].id];
    let edge = |x: &UserId, y: &UserId| SeedFollow {
        follower: x.clone(),
        followee: y.clone(),
        created_at: now,
    };
    db.load_follows(&[edge(a, b), edge(a, c), edge(b, c)])
        .await
        .unwrap();
    let posts: Vec<SeedPost> = [b, c, c, a]
        .iter()
        .map(|author| SeedPost {
            id: new_id(),
            author: (*author).clone(),
            text: "seeded".into(),
            created_at: now,
        })
        .collect();
    db.load_posts(&posts).await.unwrap();
    db.load_scoops(&[SeedScoop {
        id: new_id(),
        author: c.clone(),
        media_key: "seed/one.jpg".into(),
        created_at: now,
        expires_at: now.plus_seconds(3600),
    }])
    .await
    .unwrap();
    db.recount().await.unwrap();

    let user_a = db.get_user(a).await.unwrap().expect("a");
    assert_eq!(
        (
            user_a.following_count,
            user_a.followers_count,
            user_a.posts_count
        ),
        (2, 0, 1)
    );
    let user_c = db.get_user(c).await.unwrap().expect("c");
    assert_eq!((user_c.followers_count, user_c.posts_count), (2, 2));
    assert_eq!(user_c.terms.map(|(v, _)| v).as_deref(), Some("1"));
    let by_handle = db
        .user_by_handle(&Handle::parse("bulk2").unwrap())
        .await
        .unwrap();
    assert_eq!(by_handle.map(|u| u.id), Some(b.clone()));
    let found = db.search_users(a, "bulk r", None, 10).await.unwrap();
    assert!(found.is_empty(), "a space is not part of a search term");
    let found = db.search_users(a, "rider", None, 10).await.unwrap();
    assert_eq!(found.len(), 3);
    let mut expected: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
    expected.sort();
    expected.reverse();
    assert_eq!(whole_feed(&db, a, 2).await, expected);
    let live = db.live_scoops_of(c, a, now).await.unwrap();
    assert_eq!(live.len(), 1);
}
