//! Home timelines: built on first read, fanned out on write, filtered at read, pulled
//! below the horizon and for authors with many followers, trimmed.

use crate::fixtures::{Db, user_with_handle};
use crate::posts::post;
use scooter_core::user::Suspension;
use scooter_core::{Timestamp, UserId};
use scooter_store::timelines::{FAN_OUT_JOB, FanOut};
use std::time::Duration;

/// Ids of one timeline page.
async fn page(db: &Db, user: &UserId, before: Option<&str>, limit: u32) -> Vec<String> {
    db.timeline_page(user, before, limit)
        .await
        .unwrap()
        .expect("the user has a timeline")
        .posts
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// Every id of a timeline, page by page.
async fn all_pages(db: &Db, user: &UserId, limit: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let next = page(db, user, out.last().map(String::as_str), limit).await;
        let done = next.len() < limit as usize;
        out.extend(next);
        if done {
            return out;
        }
    }
}

/// Ids of the pull query's page (the reference the timeline must agree with).
async fn pulled(db: &Db, user: &UserId) -> Vec<String> {
    db.home_feed(user, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// A post by `author`, fanned out at once.
async fn fanned(db: &Db, author: &UserId, text: &str) -> String {
    let p = post(db, author, text).await;
    db.fan_out_post(&p.id, 10_000).await.unwrap();
    p.id
}

/// A user without a timeline gets `None`; a rebuild makes one from follows and posts,
/// newest first, my own posts included and strangers' not.
pub async fn a_timeline_is_built_from_follows_and_posts(db: Db) {
    let ann = user_with_handle(&db, "tl_ann").await;
    let bob = user_with_handle(&db, "tl_bob").await;
    let eve = user_with_handle(&db, "tl_eve").await;
    db.follow(&ann, &bob, Timestamp::now(), None).await.unwrap();
    let b1 = post(&db, &bob, "b1").await.id;
    let _stranger = post(&db, &eve, "e1").await.id;
    let a1 = post(&db, &ann, "a1").await.id;
    assert!(db.timeline_page(&ann, None, 20).await.unwrap().is_none());
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(page(&db, &ann, None, 20).await, vec![a1, b1]);
    assert_eq!(page(&db, &ann, None, 20).await, pulled(&db, &ann).await);
    // An empty timeline is still a timeline (not rebuilt on every read).
    let loner = user_with_handle(&db, "tl_loner").await;
    db.rebuild_timeline(&loner, 800, Timestamp::now())
        .await
        .unwrap();
    let empty = db.timeline_page(&loner, None, 20).await.unwrap();
    assert!(empty.is_some_and(|p| p.posts.is_empty()));
}

/// My post is in my timeline at once; a follower's gets it either in the post's own
/// transaction (a backend may copy to a small audience inline) or from the fan-out job
/// queued with the post; running the fan-out again adds nothing.
pub async fn a_post_reaches_followers_through_its_fan_out(db: Db) {
    let ann = user_with_handle(&db, "fo_ann").await;
    let bob = user_with_handle(&db, "fo_bob").await;
    let cat = user_with_handle(&db, "fo_cat").await;
    db.follow(&ann, &bob, Timestamp::now(), None).await.unwrap();
    for u in [&ann, &bob, &cat] {
        db.rebuild_timeline(u, 800, Timestamp::now()).await.unwrap();
    }
    let p = post(&db, &bob, "hello").await.id;
    assert_eq!(
        page(&db, &bob, None, 20).await,
        vec![p.clone()],
        "mine at once"
    );
    let jobs = db
        .claim_jobs(
            Timestamp::now().plus_seconds(1),
            Duration::from_secs(60),
            100,
        )
        .await
        .unwrap();
    let queued = jobs.iter().any(|j| j.kind == FAN_OUT_JOB && j.payload == p);
    if queued {
        assert!(
            page(&db, &ann, None, 20).await.is_empty(),
            "not before the job"
        );
        assert_eq!(
            db.fan_out_post(&p, 10_000).await.unwrap(),
            FanOut::Written(1)
        );
    } else {
        assert_eq!(
            page(&db, &ann, None, 20).await,
            vec![p.clone()],
            "inline, else queued"
        );
    }
    assert_eq!(page(&db, &ann, None, 20).await, vec![p.clone()]);
    assert!(page(&db, &cat, None, 20).await.is_empty(), "not a follower");
    assert_eq!(
        db.fan_out_post(&p, 10_000).await.unwrap(),
        FanOut::Written(0)
    );
    assert_eq!(page(&db, &ann, None, 20).await, vec![p]);
}

/// Unfollow, a block either way, the author's suspension and the post's deletion hide
/// entries at once, whatever the fan-out did.
pub async fn hidden_content_leaves_the_timeline_at_once(db: Db) {
    let ann = user_with_handle(&db, "hx_ann").await;
    let [bob, cat, dan, eve] = [
        user_with_handle(&db, "hx_bob").await,
        user_with_handle(&db, "hx_cat").await,
        user_with_handle(&db, "hx_dan").await,
        user_with_handle(&db, "hx_eve").await,
    ];
    let now = Timestamp::now();
    for u in [&bob, &cat, &dan, &eve] {
        db.follow(&ann, u, now, None).await.unwrap();
    }
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    let pb = fanned(&db, &bob, "bob").await;
    let pc = fanned(&db, &cat, "cat").await;
    let pd = fanned(&db, &dan, "dan").await;
    let pe = fanned(&db, &eve, "eve").await;
    assert_eq!(
        page(&db, &ann, None, 20).await,
        vec![pe.clone(), pd.clone(), pc.clone(), pb.clone()]
    );

    db.unfollow(&ann, &bob).await.unwrap();
    db.block(&cat, &ann, now).await.unwrap();
    let s = Suspension {
        reason: "spam".into(),
        at: now,
    };
    db.set_suspension(&dan, Some(s)).await.unwrap();
    assert!(db.delete_post(&pe).await.unwrap());
    assert!(page(&db, &ann, None, 20).await.is_empty());
    assert_eq!(page(&db, &ann, None, 20).await, pulled(&db, &ann).await);

    // A fan-out that runs after the unfollow (a queued job) still shows nothing.
    assert_eq!(
        db.fan_out_post(&pb, 10_000).await.unwrap(),
        FanOut::Written(0)
    );
    assert_eq!(db.fan_out_post(&pe, 10_000).await.unwrap(), FanOut::Gone);
    assert!(page(&db, &ann, None, 20).await.is_empty());
    db.set_suspension(&dan, None).await.unwrap();
    assert_eq!(
        page(&db, &ann, None, 20).await,
        vec![pd],
        "reinstated, shown again"
    );
}

/// A follow copies the followee's earlier posts into my timeline.
pub async fn a_follow_backfills_the_followees_posts(db: Db) {
    let ann = user_with_handle(&db, "bf_ann").await;
    let bob = user_with_handle(&db, "bf_bob").await;
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(post(&db, &bob, &format!("b{i}")).await.id);
    }
    assert!(page(&db, &ann, None, 20).await.is_empty());
    db.follow(&ann, &bob, Timestamp::now(), None).await.unwrap();
    ids.reverse();
    assert_eq!(page(&db, &ann, None, 20).await, ids);
}

/// An author with as many followers as the fan-out limit is marked pulled, for good,
/// and merged into followers' pages at read time.
pub async fn authors_with_many_followers_are_merged_at_read(db: Db) {
    let ann = user_with_handle(&db, "pl_ann").await;
    let star = user_with_handle(&db, "pl_star").await;
    let bob = user_with_handle(&db, "pl_bob").await;
    let now = Timestamp::now();
    db.follow(&ann, &star, now, None).await.unwrap();
    db.follow(&ann, &bob, now, None).await.unwrap();
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    let s1 = post(&db, &star, "s1").await.id;
    assert_eq!(db.fan_out_post(&s1, 1).await.unwrap(), FanOut::Pulled);
    let b1 = fanned(&db, &bob, "b1").await;
    let s2 = post(&db, &star, "s2").await.id;
    assert_eq!(
        db.fan_out_post(&s2, 10_000).await.unwrap(),
        FanOut::Pulled,
        "pulled stays pulled"
    );
    assert_eq!(
        page(&db, &ann, None, 20).await,
        vec![s2.clone(), b1.clone(), s1.clone()]
    );
    assert_eq!(all_pages(&db, &ann, 1).await, vec![s2, b1, s1]);
}

/// A timeline shorter than the history (a small `keep`, or trimmed) continues from the
/// follow graph below its horizon: page by page, nothing missing and nothing twice.
pub async fn pages_below_the_horizon_are_pulled_without_gaps(db: Db) {
    let ann = user_with_handle(&db, "hz_ann").await;
    let bob = user_with_handle(&db, "hz_bob").await;
    let cat = user_with_handle(&db, "hz_cat").await;
    let now = Timestamp::now();
    db.follow(&ann, &bob, now, None).await.unwrap();
    db.follow(&ann, &cat, now, None).await.unwrap();
    for i in 0..6 {
        post(&db, &bob, &format!("b{i}")).await;
        post(&db, &cat, &format!("c{i}")).await;
        post(&db, &ann, &format!("a{i}")).await;
    }
    let everything = pulled(&db, &ann).await;
    assert_eq!(everything.len(), 18);
    db.rebuild_timeline(&ann, 4, Timestamp::now())
        .await
        .unwrap();
    for limit in [1, 3, 5, 20] {
        assert_eq!(
            all_pages(&db, &ann, limit).await,
            everything,
            "limit {limit}"
        );
    }

    // Trimming: fan-outs grow the timeline past `keep`, the trim cuts it back and
    // raises the horizon, and paging still sees everything.
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    let mut newer = Vec::new();
    for i in 0..6 {
        newer.push(fanned(&db, &bob, &format!("n{i}")).await);
    }
    let dropped = db.trim_timelines(5, 0).await.unwrap();
    assert_eq!(dropped, 24 - 5, "18 + 6 entries, 5 kept");
    let everything = pulled(&db, &ann).await;
    assert_eq!(everything.len(), 24);
    for limit in [2, 7, 30] {
        assert_eq!(
            all_pages(&db, &ann, limit).await,
            everything,
            "limit {limit}"
        );
    }
}

/// Dropping every timeline makes them rebuild on read; the users a full rebuild walks
/// come in id order.
pub async fn timelines_can_be_dropped_and_walked(db: Db) {
    let ann = user_with_handle(&db, "dr_ann").await;
    let bob = user_with_handle(&db, "dr_bob").await;
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    db.rebuild_timeline(&bob, 800, Timestamp::now())
        .await
        .unwrap();
    assert!(db.drop_timelines().await.unwrap() >= 2);
    assert!(db.timeline_page(&ann, None, 20).await.unwrap().is_none());
    let mut walked = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let next = db.timeline_users(after.as_ref(), 1).await.unwrap();
        let Some(last) = next.last().cloned() else {
            break;
        };
        walked.extend(next);
        after = Some(last);
    }
    assert!(walked.contains(&ann) && walked.contains(&bob));
    let mut sorted = walked.clone();
    sorted.sort();
    assert_eq!(walked, sorted);
}

/// Follows and unfollows racing posts and their fan-outs end where the pull query does:
/// with the follow in place, every post of the followee is in the timeline, once.
pub async fn follow_storms_and_fan_outs_converge(db: Db) {
    let ann = user_with_handle(&db, "st_ann").await;
    let bob = user_with_handle(&db, "st_bob").await;
    db.rebuild_timeline(&ann, 800, Timestamp::now())
        .await
        .unwrap();
    let storm = {
        let (db, ann, bob) = (db.clone(), ann.clone(), bob.clone());
        tokio::spawn(async move {
            for _ in 0..25 {
                db.follow(&ann, &bob, Timestamp::now(), None).await.unwrap();
                tokio::task::yield_now().await;
                db.unfollow(&ann, &bob).await.unwrap();
            }
            db.follow(&ann, &bob, Timestamp::now(), None).await.unwrap();
        })
    };
    let poster = {
        let (db, bob) = (db.clone(), bob.clone());
        tokio::spawn(async move {
            for i in 0..25 {
                fanned(&db, &bob, &format!("s{i}")).await;
            }
        })
    };
    storm.await.unwrap();
    poster.await.unwrap();
    let expected = pulled(&db, &ann).await;
    assert_eq!(expected.len(), 25);
    assert_eq!(all_pages(&db, &ann, 7).await, expected);
}

/// A timeline longer than one page of the build (100) is built page by page: the newest
/// `keep` exactly, the rest pulled below the horizon.
pub async fn a_long_timeline_is_built_in_pages(db: Db) {
    let ann = user_with_handle(&db, "lg_ann").await;
    let bob = user_with_handle(&db, "lg_bob").await;
    let cat = user_with_handle(&db, "lg_cat").await;
    let now = Timestamp::now();
    db.follow(&ann, &bob, now, None).await.unwrap();
    db.follow(&ann, &cat, now, None).await.unwrap();
    for i in 0..80 {
        post(&db, &bob, &format!("b{i}")).await;
        post(&db, &cat, &format!("c{i}")).await;
    }
    db.rebuild_timeline(&ann, 130, Timestamp::now())
        .await
        .unwrap();
    let everything = pulled_all(&db, &ann).await;
    assert_eq!(everything.len(), 160);
    assert_eq!(all_pages(&db, &ann, 100).await, everything);
    assert_eq!(all_pages(&db, &ann, 30).await, everything);
}

/// Every id of the pull query, page by page.
async fn pulled_all(db: &Db, user: &UserId) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    loop {
        let next: Vec<String> = db
            .home_feed(user, out.last().map(String::as_str), 50)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        let done = next.len() < 50;
        out.extend(next);
        if done {
            return out;
        }
    }
}

/// A timeline records when it was read (refreshed by its owner's reads), and timelines
/// idle past the cutoff are dropped, so fan-outs write only for active readers.
pub async fn idle_timelines_expire_and_stop_receiving_fan_outs(db: Db) {
    let ann = user_with_handle(&db, "ix_ann").await;
    let bob = user_with_handle(&db, "ix_bob").await;
    let cat = user_with_handle(&db, "ix_cat").await;
    db.follow(&ann, &cat, Timestamp::now(), None).await.unwrap();
    db.follow(&bob, &cat, Timestamp::now(), None).await.unwrap();
    let t0 = Timestamp::from_millis(1_000_000_000_000);
    db.rebuild_timeline(&ann, 800, t0).await.unwrap();
    db.rebuild_timeline(&bob, 800, t0).await.unwrap();
    let read_at = |db: Db, u: UserId| async move {
        db.timeline_page(&u, None, 20)
            .await
            .unwrap()
            .expect("timeline")
            .read_at
    };
    assert_eq!(read_at(db.clone(), ann.clone()).await, t0);
    let t1 = t0.plus_seconds(3 * 24 * 3600);
    db.touch_timeline(&ann, t1).await.unwrap();
    db.touch_timeline(&ann, t0).await.unwrap();
    assert_eq!(
        read_at(db.clone(), ann.clone()).await,
        t1,
        "never moves back"
    );
    assert_eq!(db.expire_timelines(t0.plus_seconds(3600)).await.unwrap(), 1);
    assert!(
        db.timeline_page(&bob, None, 20).await.unwrap().is_none(),
        "bob's expired"
    );
    let p = fanned(&db, &cat, "hello").await;
    assert_eq!(page(&db, &ann, None, 20).await, vec![p]);
    assert!(
        db.timeline_page(&bob, None, 20).await.unwrap().is_none(),
        "none made for bob"
    );
}
