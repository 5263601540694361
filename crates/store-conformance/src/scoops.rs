//! Scoops: expiry without clean-up, views, viewers, the feed order, purging.

use crate::fixtures::{Db, user_with_handle};
use scooter_core::ids::new_id;
use scooter_core::media::{Media, MediaKind, MediaPurpose, MediaStatus};
use scooter_core::scoop::Scoop;
use scooter_core::user::Suspension;
use scooter_core::{Timestamp, UserId};
use scooter_store::ScoopFeedKey;
use scooter_store::media::PURGE_MEDIA_JOB;
use std::time::Duration;

/// A ready scoop upload of `owner`.
async fn scoop_media(db: &Db, owner: &UserId) -> String {
    let key = format!("scoop/{owner}/{}.jpg", new_id());
    db.create_media(Media {
        key: key.clone(),
        owner: owner.clone(),
        purpose: MediaPurpose::Scoop,
        kind: MediaKind::Image,
        content_type: "image/jpeg".into(),
        size: 10,
        status: MediaStatus::Ready,
        width: None,
        height: None,
        duration_ms: None,
        thumb_key: None,
        blurhash: None,
        error: None,
        created_at: Timestamp::now(),
    })
    .await
    .unwrap();
    key
}

/// A scoop by `author` made at `at` living `secs` seconds.
pub async fn scoop_at(db: &Db, author: &UserId, at: i64, secs: i64) -> Scoop {
    let s = Scoop {
        id: new_id(),
        author: author.clone(),
        media_key: scoop_media(db, author).await,
        media_alt: None,
        caption: None,
        created_at: Timestamp::from_millis(at),
        expires_at: Timestamp::from_millis(at).plus_seconds(secs),
        view_count: 0,
    };
    db.create_scoop(s.clone()).await.unwrap();
    s
}

/// A scoop is visible until its expiry and gone the moment it passes; views count once
/// per viewer and never the author's own.
pub async fn scoops_expire_without_clean_up_and_count_views_once(db: Db) {
    let ann = user_with_handle(&db, "s_ann").await;
    let bob = user_with_handle(&db, "s_bob").await;
    let t0 = 1_000_000;
    let s = scoop_at(&db, &ann, t0, 60).await;
    let before = Timestamp::from_millis(t0 + 59_000);
    let after = Timestamp::from_millis(t0 + 60_000);
    assert!(db.get_scoop(&s.id, before).await.unwrap().is_some());
    assert!(
        db.get_scoop(&s.id, after).await.unwrap().is_none(),
        "gone at expiry"
    );
    assert!(
        db.live_scoops_of(&ann, &bob, after)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.record_view(&s.id, &bob, before).await.unwrap());
    assert!(db.record_view(&s.id, &bob, before).await.unwrap());
    assert!(
        db.record_view(&s.id, &ann, before).await.unwrap(),
        "the author's own view is accepted…"
    );
    assert!(
        !db.record_view(&s.id, &bob, after).await.unwrap(),
        "an expired scoop cannot be viewed"
    );
    let live = db.get_scoop(&s.id, before).await.unwrap().expect("live");
    assert_eq!(live.view_count, 1, "…but not counted");
    let seen = db.live_scoops_of(&ann, &bob, before).await.unwrap();
    assert!(seen[0].seen);
    let unseen = db.live_scoops_of(&ann, &ann, before).await.unwrap();
    assert!(!unseen[0].seen);
    let viewers = db.list_viewers(&s.id, &ann, None, 10).await.unwrap();
    assert_eq!(
        viewers
            .iter()
            .map(|(u, _)| u.id.clone())
            .collect::<Vec<_>>(),
        vec![bob.clone()]
    );
    db.block(&bob, &ann, Timestamp::now()).await.unwrap();
    assert!(
        db.list_viewers(&s.id, &ann, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "a viewer who blocked the owner is not listed"
    );
}

/// The feed: me first, then followed authors with something unseen, then those all
/// seen; newest first within each; strangers and suspended authors left out.
pub async fn the_scoop_feed_puts_me_then_unseen_then_seen(db: Db) {
    let me = user_with_handle(&db, "f_me").await;
    let old_unseen = user_with_handle(&db, "f_old").await;
    let new_unseen = user_with_handle(&db, "f_new").await;
    let seen = user_with_handle(&db, "f_seen").await;
    let stranger = user_with_handle(&db, "f_stranger").await;
    let banned = user_with_handle(&db, "f_banned").await;
    for u in [&old_unseen, &new_unseen, &seen, &banned] {
        db.follow(&me, u, Timestamp::now(), None).await.unwrap();
    }
    let t0 = 2_000_000;
    scoop_at(&db, &me, t0, 3600).await;
    scoop_at(&db, &me, t0 + 500, 3600).await;
    scoop_at(&db, &me, t0 - 100_000, 60).await; // expired by `now`
    scoop_at(&db, &old_unseen, t0 + 1_000, 3600).await;
    let nu = scoop_at(&db, &new_unseen, t0 + 2_000, 3600).await;
    let s = scoop_at(&db, &seen, t0 + 3_000, 3600).await;
    scoop_at(&db, &stranger, t0 + 4_000, 3600).await;
    scoop_at(&db, &banned, t0 + 5_000, 3600).await;
    db.set_suspension(
        &banned,
        Some(Suspension {
            reason: "x".into(),
            at: Timestamp::now(),
        }),
    )
    .await
    .unwrap();
    let now = Timestamp::from_millis(t0 + 10_000);
    db.record_view(&s.id, &me, now).await.unwrap();
    // Someone else's view is not mine: new_unseen stays unseen for me.
    db.record_view(&nu.id, &stranger, now).await.unwrap();
    let mut order = Vec::new();
    let mut after: Option<ScoopFeedKey> = None;
    loop {
        let page = db.scoop_feed(&me, now, after.as_ref(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|a| a.key.clone());
        order.extend(page);
    }
    let authors: Vec<_> = order.iter().map(|a| a.author.clone()).collect();
    assert_eq!(authors, vec![me, new_unseen, old_unseen, seen]);
    // Each author carries only their own live scoops, oldest first, with my seen flags.
    let shape: Vec<(usize, Vec<bool>)> = order
        .iter()
        .map(|a| {
            assert!(a.scoops.iter().all(|s| s.scoop.author == a.author));
            assert!(
                a.scoops
                    .windows(2)
                    .all(|w| w[0].scoop.created_at <= w[1].scoop.created_at)
            );
            (a.scoops.len(), a.scoops.iter().map(|s| s.seen).collect())
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (2, vec![false, false]),
            (1, vec![false]),
            (1, vec![false]),
            (1, vec![true]),
        ]
    );
}

/// Deleting a scoop removes it and queues its media for deletion; the purge job only
/// purges once expired; a deleted viewer leaves the count.
pub async fn deleted_and_expired_scoops_are_purged(db: Db) {
    let ann = user_with_handle(&db, "p_ann2").await;
    let bob = user_with_handle(&db, "p_bob2").await;
    let now = Timestamp::now();
    let s = scoop_at(&db, &ann, now.millis(), 3600).await;
    db.record_view(&s.id, &bob, now).await.unwrap();
    db.delete_user(&bob, now).await.unwrap();
    assert_eq!(
        db.get_scoop(&s.id, now)
            .await
            .unwrap()
            .map(|s| s.view_count),
        Some(0)
    );
    assert!(
        !db.purge_expired_scoop(&s.id, now).await.unwrap(),
        "still live"
    );
    assert!(
        db.purge_expired_scoop(&s.id, now.plus_seconds(3601))
            .await
            .unwrap()
    );
    assert_eq!(
        db.get_media(&s.media_key).await.unwrap().map(|m| m.status),
        Some(MediaStatus::Removed)
    );
    let other = scoop_at(&db, &ann, now.millis(), 3600).await;
    assert!(db.delete_scoop(&other.id).await.unwrap());
    assert!(!db.delete_scoop(&other.id).await.unwrap());
    let jobs = db
        .claim_jobs(now.plus_seconds(7200), Duration::from_secs(60), 100)
        .await
        .unwrap();
    let purged: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == PURGE_MEDIA_JOB)
        .map(|j| j.payload.clone())
        .collect();
    assert!(
        purged.contains(&s.media_key) && purged.contains(&other.media_key),
        "{purged:?}"
    );
}

/// One scoop as a viewer may see it, in one read: live, author not suspended, no block
/// either way (the author always sees their own), with the viewer's seen flag.
pub async fn a_single_scoop_is_read_with_its_visibility_in_one_call(db: Db) {
    let ann = user_with_handle(&db, "vs_ann").await;
    let bob = user_with_handle(&db, "vs_bob").await;
    let cat = user_with_handle(&db, "vs_cat").await;
    let now = Timestamp::now();
    let s = scoop_at(&db, &ann, now.millis(), 60).await;
    let seen = |v: Option<scooter_store::SeenScoop>| v.map(|v| (v.scoop.id, v.seen));
    assert_eq!(
        seen(db.visible_scoop(&s.id, &bob, now).await.unwrap()),
        Some((s.id.clone(), false))
    );
    assert!(db.record_view(&s.id, &bob, now).await.unwrap());
    assert_eq!(
        seen(db.visible_scoop(&s.id, &bob, now).await.unwrap()),
        Some((s.id.clone(), true))
    );
    let later = now.plus_seconds(61);
    assert_eq!(
        db.visible_scoop(&s.id, &bob, later).await.unwrap(),
        None,
        "expired"
    );
    db.block(&cat, &ann, now).await.unwrap();
    assert_eq!(
        db.visible_scoop(&s.id, &cat, now).await.unwrap(),
        None,
        "a block either way"
    );
    db.block(&ann, &bob, now).await.unwrap();
    assert_eq!(
        db.visible_scoop(&s.id, &bob, now).await.unwrap(),
        None,
        "blocked by the author"
    );
    let susp = Suspension {
        reason: "spam".into(),
        at: now,
    };
    db.set_suspension(&ann, Some(susp)).await.unwrap();
    let dan = user_with_handle(&db, "vs_dan").await;
    assert_eq!(
        db.visible_scoop(&s.id, &dan, now).await.unwrap(),
        None,
        "suspended author"
    );
    assert_eq!(
        seen(db.visible_scoop(&s.id, &ann, now).await.unwrap()),
        Some((s.id.clone(), false)),
        "the author sees their own"
    );
    assert_eq!(
        db.visible_scoop("no-such-scoop", &ann, now).await.unwrap(),
        None
    );
}

/// A scoop's alt text is read back exactly wherever the scoop is (one read, visible,
/// an author's live scoops, the feed); none stays none.
pub async fn a_scoop_keeps_its_alt_text(db: Db) {
    let ann = user_with_handle(&db, "alt_s_ann").await;
    let now = Timestamp::now();
    let alt = "Ann's red scooter by the harbour\nat sunset, 🛴 «Hafen»";
    let with = Scoop {
        id: new_id(),
        author: ann.clone(),
        media_key: scoop_media(&db, &ann).await,
        media_alt: Some(alt.to_owned()),
        caption: Some("evening".into()),
        created_at: now,
        expires_at: now.plus_seconds(60),
        view_count: 0,
    };
    db.create_scoop(with.clone()).await.unwrap();
    let without = scoop_at(&db, &ann, now.millis() + 1, 60).await;
    let alt_of = |s: &Scoop| (s.id.clone(), s.media_alt.clone());
    let expected = vec![
        (with.id.clone(), Some(alt.to_owned())),
        (without.id.clone(), None),
    ];
    let one = db.get_scoop(&with.id, now).await.unwrap().expect("live");
    assert_eq!(one, with);
    let visible = db.visible_scoop(&with.id, &ann, now).await.unwrap();
    assert_eq!(visible.map(|v| alt_of(&v.scoop)), Some(expected[0].clone()));
    let live = db.live_scoops_of(&ann, &ann, now).await.unwrap();
    assert_eq!(
        live.iter().map(|s| alt_of(&s.scoop)).collect::<Vec<_>>(),
        expected
    );
    let feed = db.scoop_feed(&ann, now, None, 10).await.unwrap();
    let in_feed: Vec<_> = feed
        .iter()
        .flat_map(|a| a.scoops.iter().map(|s| alt_of(&s.scoop)))
        .collect();
    assert_eq!(in_feed, expected);
}
