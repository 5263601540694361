//! Follows and blocks: idempotence, counters, lists, and the block rule.

use crate::fixtures::{Db, user_with_handle};
use scooter_core::user::Suspension;
use scooter_core::{Timestamp, UserId};
use scooter_store::{EdgeKey, FollowOutcome};

async fn counts(db: &Db, id: &UserId) -> (i64, i64) {
    let u = db.get_user(id).await.unwrap().expect("user");
    (u.followers_count, u.following_count)
}

/// Every follower of `user` as `viewer` sees them, by paging `page` at a time.
pub async fn all_followers(db: &Db, user: &UserId, viewer: &UserId, page: u32) -> Vec<UserId> {
    let mut out = Vec::new();
    let mut after: Option<EdgeKey> = None;
    loop {
        let edges = db
            .list_followers(user, viewer, after.as_ref(), page)
            .await
            .unwrap();
        if edges.is_empty() {
            return out;
        }
        after = edges.last().map(|e| e.key.clone());
        out.extend(edges.into_iter().map(|e| e.user.id));
    }
}

/// Following twice is one edge and one count.
pub async fn follow_is_idempotent_and_counted_once(db: Db) {
    let a = user_with_handle(&db, "fa_user").await;
    let b = user_with_handle(&db, "fb_user").await;
    let now = Timestamp::now();
    assert_eq!(
        db.follow(&a, &b, now, None).await.unwrap(),
        FollowOutcome::Followed
    );
    assert_eq!(
        db.follow(&a, &b, now, None).await.unwrap(),
        FollowOutcome::AlreadyFollowing
    );
    assert_eq!(counts(&db, &a).await, (0, 1));
    assert_eq!(counts(&db, &b).await, (1, 0));
    let rel = db.relationship(&a, &b).await.unwrap();
    assert!(rel.following && !rel.followed_by && !rel.blocked_either_way());
    assert!(db.relationship(&b, &a).await.unwrap().followed_by);
    assert!(db.unfollow(&a, &b).await.unwrap());
    assert!(!db.unfollow(&a, &b).await.unwrap());
    assert_eq!(counts(&db, &a).await, (0, 0));
    assert_eq!(counts(&db, &b).await, (0, 0));
    let ghost = UserId::generate();
    assert_eq!(
        db.follow(&a, &ghost, now, None).await.unwrap(),
        FollowOutcome::Unavailable
    );
}

/// A block removes follows both ways, prevents new ones both ways, and unblocking does
/// not restore them.
pub async fn a_block_cuts_follows_both_ways(db: Db) {
    let a = user_with_handle(&db, "ba_user").await;
    let b = user_with_handle(&db, "bb_user").await;
    let now = Timestamp::now();
    db.follow(&a, &b, now, None).await.unwrap();
    db.follow(&b, &a, now, None).await.unwrap();
    assert!(db.block(&a, &b, now).await.unwrap());
    assert!(!db.block(&a, &b, now).await.unwrap(), "idempotent");
    assert_eq!(counts(&db, &a).await, (0, 0));
    assert_eq!(counts(&db, &b).await, (0, 0));
    assert_eq!(
        db.follow(&a, &b, now, None).await.unwrap(),
        FollowOutcome::Blocked
    );
    assert_eq!(
        db.follow(&b, &a, now, None).await.unwrap(),
        FollowOutcome::Blocked
    );
    let rel = db.relationship(&b, &a).await.unwrap();
    assert!(rel.blocked_by && !rel.blocking);
    let listed = db.list_blocked(&a, None, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|e| e.user.id.clone()).collect::<Vec<_>>(),
        vec![b.clone()]
    );
    assert!(db.unblock(&a, &b).await.unwrap());
    assert!(!db.unblock(&a, &b).await.unwrap());
    assert!(!db.relationship(&a, &b).await.unwrap().following);
    assert_eq!(
        db.follow(&a, &b, now, None).await.unwrap(),
        FollowOutcome::Followed
    );
}

/// Lists are newest first and page without repeats or gaps.
pub async fn follower_lists_page_newest_first(db: Db) {
    let star = user_with_handle(&db, "star").await;
    let mut fans = Vec::new();
    for i in 0..7 {
        let fan = user_with_handle(&db, &format!("fan{i}")).await;
        db.follow(&fan, &star, Timestamp::from_millis(1_000 + i), None)
            .await
            .unwrap();
        fans.push(fan);
    }
    fans.reverse();
    assert_eq!(all_followers(&db, &star, &star, 3).await, fans);
    let following = db.list_following(&fans[0], &star, None, 10).await.unwrap();
    assert_eq!(
        following.into_iter().map(|e| e.user.id).collect::<Vec<_>>(),
        vec![star]
    );
}

/// Suspended users and users with a block either way with the viewer are left out.
pub async fn lists_hide_suspended_and_blocked_users(db: Db) {
    let star = user_with_handle(&db, "star2").await;
    let viewer = user_with_handle(&db, "viewer").await;
    let plain = user_with_handle(&db, "plain").await;
    let banned = user_with_handle(&db, "banned").await;
    let hostile = user_with_handle(&db, "hostile").await;
    let now = Timestamp::now();
    for u in [&plain, &banned, &hostile] {
        db.follow(u, &star, now, None).await.unwrap();
    }
    let s = Suspension {
        reason: "spam".into(),
        at: now,
    };
    db.set_suspension(&banned, Some(s)).await.unwrap();
    db.block(&hostile, &viewer, now).await.unwrap();
    assert_eq!(
        all_followers(&db, &star, &viewer, 10).await,
        vec![plain.clone()]
    );
    let mut seen_by_star = all_followers(&db, &star, &star, 10).await;
    seen_by_star.sort();
    let mut expected = vec![plain, hostile];
    expected.sort();
    assert_eq!(seen_by_star, expected);
}

/// Suspension takes a user out of everyone's counts, reinstatement puts them back, and
/// repeating either changes nothing.
pub async fn suspension_moves_a_user_out_of_counts_and_back(db: Db) {
    let x = user_with_handle(&db, "suspect").await;
    let fan = user_with_handle(&db, "sfan").await;
    let idol = user_with_handle(&db, "sidol").await;
    let now = Timestamp::now();
    db.follow(&fan, &x, now, None).await.unwrap();
    db.follow(&x, &idol, now, None).await.unwrap();
    let s = Suspension {
        reason: "harassment".into(),
        at: now,
    };
    for _ in 0..2 {
        let u = db
            .set_suspension(&x, Some(s.clone()))
            .await
            .unwrap()
            .expect("user");
        assert_eq!(
            u.suspension.as_ref().map(|s| s.reason.as_str()),
            Some("harassment")
        );
        assert_eq!(counts(&db, &fan).await, (0, 0));
        assert_eq!(counts(&db, &idol).await, (0, 0));
    }
    assert_eq!(
        db.follow(&fan, &x, now, None).await.unwrap(),
        FollowOutcome::Unavailable
    );
    for _ in 0..2 {
        db.set_suspension(&x, None).await.unwrap();
        assert_eq!(counts(&db, &fan).await, (0, 1));
        assert_eq!(counts(&db, &idol).await, (1, 0));
    }
    assert_eq!(
        db.set_suspension(&UserId::generate(), None).await.unwrap(),
        None
    );
}

/// Deleting a user takes them out of the counts of everyone they were connected to,
/// once: a suspended user was already out of them.
pub async fn deleting_a_user_corrects_connected_counts(db: Db) {
    let x = user_with_handle(&db, "leaving").await;
    let fan = user_with_handle(&db, "dfan").await;
    let idol = user_with_handle(&db, "didol").await;
    let now = Timestamp::now();
    db.follow(&fan, &x, now, None).await.unwrap();
    db.follow(&x, &idol, now, None).await.unwrap();
    db.follow(&idol, &fan, now, None).await.unwrap();
    assert_eq!(counts(&db, &fan).await, (1, 1));
    db.delete_user(&x, now).await.unwrap();
    assert_eq!(counts(&db, &fan).await, (1, 0));
    assert_eq!(counts(&db, &idol).await, (0, 1));

    let banned = user_with_handle(&db, "dbanned").await;
    db.follow(&fan, &banned, now, None).await.unwrap();
    db.follow(&banned, &idol, now, None).await.unwrap();
    let s = Suspension {
        reason: "spam".into(),
        at: now,
    };
    db.set_suspension(&banned, Some(s)).await.unwrap();
    db.delete_user(&banned, now).await.unwrap();
    assert_eq!(counts(&db, &fan).await, (1, 0), "not decremented twice");
    assert_eq!(counts(&db, &idol).await, (0, 1));
}

/// Edges to an account deleted mid-request fail as a missing reference, not a crash.
pub async fn an_edge_to_a_missing_user_is_a_missing_reference(db: Db) {
    let a = user_with_handle(&db, "edge_a").await;
    let ghost = UserId::generate();
    let r = db.block(&a, &ghost, Timestamp::now()).await;
    assert!(
        matches!(r, Err(scooter_store::StoreError::MissingReference)),
        "{r:?}"
    );
}

/// Edges made in the same millisecond still page in a stable order without repeats.
pub async fn edges_with_equal_times_page_without_repeats(db: Db) {
    let star = user_with_handle(&db, "tie_star").await;
    let at = Timestamp::from_millis(5_000);
    let mut fans = Vec::new();
    for i in 0..6 {
        let fan = user_with_handle(&db, &format!("tie_fan{i}")).await;
        db.follow(&fan, &star, at, None).await.unwrap();
        fans.push(fan);
    }
    let mut seen = all_followers(&db, &star, &star, 4).await;
    assert_eq!(seen.len(), 6);
    seen.sort();
    seen.dedup();
    fans.sort();
    assert_eq!(seen, fans);
}

/// Many users following and unfollowing one user at once: the counters equal the rows.
pub async fn counters_stay_exact_under_a_follow_storm(db: Db) {
    let star = user_with_handle(&db, "stormstar").await;
    let mut fans = Vec::new();
    for i in 0..12 {
        fans.push(user_with_handle(&db, &format!("storm{i}")).await);
    }
    let tasks: Vec<_> = fans
        .iter()
        .enumerate()
        .map(|(i, fan)| {
            let (db, fan, star) = (db.clone(), fan.clone(), star.clone());
            tokio::spawn(async move {
                // Odd fans end following; even fans end not following.
                for round in 0..(6 + i % 2) {
                    if round % 2 == 0 {
                        db.follow(&fan, &star, Timestamp::now(), None)
                            .await
                            .unwrap();
                        db.follow(&star, &fan, Timestamp::now(), None)
                            .await
                            .unwrap();
                    } else {
                        db.unfollow(&fan, &star).await.unwrap();
                        db.unfollow(&star, &fan).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rows = all_followers(&db, &star, &star, 5).await.len() as i64;
    assert_eq!(rows, 6);
    let (followers, following) = counts(&db, &star).await;
    assert_eq!((followers, following), (rows, 6));
    for fan in &fans {
        let (fr, fg) = counts(&db, fan).await;
        let listed = all_followers(&db, fan, fan, 5).await.len() as i64;
        assert_eq!(fr, listed);
        assert_eq!(
            fg, listed,
            "each fan follows the star exactly when the star follows back"
        );
    }
}

/// Search leaves out suspended users and users with a block either way.
pub async fn search_hides_suspended_and_blocked_users(db: Db) {
    let viewer = user_with_handle(&db, "seeker").await;
    let blocker = user_with_handle(&db, "hidea").await;
    let blocked = user_with_handle(&db, "hideb").await;
    let banned = user_with_handle(&db, "hidec").await;
    user_with_handle(&db, "hided").await;
    let now = Timestamp::now();
    db.block(&blocker, &viewer, now).await.unwrap();
    db.block(&viewer, &blocked, now).await.unwrap();
    let s = Suspension {
        reason: "spam".into(),
        at: now,
    };
    db.set_suspension(&banned, Some(s)).await.unwrap();
    let hits = db.search_users(&viewer, "hide", None, 10).await.unwrap();
    let handles: Vec<String> = hits
        .into_iter()
        .filter_map(|h| h.user.handle.map(|h| h.to_string()))
        .collect();
    assert_eq!(handles, vec!["hided"]);
}

/// Batched reads for mentions: users by handle ignoring case (unknown ones left out),
/// and which of several users have a block either way with one.
pub async fn mentions_resolve_users_and_blocks_in_one_call_each(db: Db) {
    let ann = user_with_handle(&db, "mb_ann").await;
    let bob = user_with_handle(&db, "mb_bob").await;
    let cat = user_with_handle(&db, "mb_cat").await;
    let dan = user_with_handle(&db, "mb_dan").await;
    let handles: Vec<_> = ["MB_Bob", "mb_cat", "mb_nobody", "mb_dan"]
        .iter()
        .map(|h| crate::fixtures::handle(h))
        .collect();
    let mut found: Vec<UserId> = db
        .users_by_handles(&handles)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    found.sort();
    let mut want = vec![bob.clone(), cat.clone(), dan.clone()];
    want.sort();
    assert_eq!(found, want);
    assert!(db.users_by_handles(&[]).await.unwrap().is_empty());

    let now = Timestamp::now();
    db.block(&ann, &bob, now).await.unwrap();
    db.block(&cat, &ann, now).await.unwrap();
    let mut blocked = db
        .blocked_either_way_among(&ann, &[bob.clone(), cat.clone(), dan.clone()])
        .await
        .unwrap();
    blocked.sort();
    let mut want = vec![bob, cat];
    want.sort();
    assert_eq!(blocked, want);
    assert!(
        db.blocked_either_way_among(&ann, &[])
            .await
            .unwrap()
            .is_empty()
    );
}
