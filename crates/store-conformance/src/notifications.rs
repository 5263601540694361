//! Notifications, push devices and the job outbox.

use crate::fixtures::{Db, user_with_handle};
use crate::posts::post;
use scooter_core::ids::new_id;
use scooter_core::notification::{
    NewJob, NewNotification, NotificationType, Platform, PushService,
};
use scooter_core::post::ReactionType;
use scooter_core::user::{NotificationPrefs, Suspension};
use scooter_core::{Timestamp, UserId};
use std::time::Duration;

fn note(
    recipient: &UserId,
    actor: &UserId,
    kind: NotificationType,
    dedupe: &str,
) -> NewNotification {
    NewNotification {
        id: new_id(),
        recipient: recipient.clone(),
        kind,
        actor: actor.clone(),
        post_id: None,
        comment_id: None,
        reaction: None,
        dedupe: dedupe.into(),
        created_at: Timestamp::now(),
    }
}

async fn due_jobs(db: &Db) -> Vec<scooter_core::notification::Job> {
    db.claim_jobs(
        Timestamp::now().plus_seconds(1),
        Duration::from_secs(60),
        100,
    )
    .await
    .unwrap()
}

/// A follow writes its notification and a push job in the same call; the same event
/// again writes nothing; lists are newest first; reading marks only my own.
pub async fn notifications_are_written_with_their_cause_once(db: Db) {
    let ann = user_with_handle(&db, "n_ann").await;
    let bob = user_with_handle(&db, "n_bob").await;
    let cat = user_with_handle(&db, "n_cat").await;
    let f = note(&ann, &bob, NotificationType::Follow, "follow:bob");
    db.follow(&bob, &ann, Timestamp::now(), Some(&f))
        .await
        .unwrap();
    let p = post(&db, &ann, "react to me").await;
    let mut r = note(
        &ann,
        &cat,
        NotificationType::Reaction,
        "reaction:p:fire:cat",
    );
    r.post_id = Some(p.id.clone());
    r.reaction = Some(ReactionType::Fire);
    for _ in 0..3 {
        let mut again = r.clone();
        again.id = new_id();
        db.toggle_reaction(
            &p.id,
            &cat,
            ReactionType::Fire,
            Timestamp::now(),
            Some(&again),
        )
        .await
        .unwrap();
    }
    let listed = db.list_notifications(&ann, None, 10).await.unwrap();
    // Each comes with its actor, read in the same statement.
    assert_eq!(
        listed
            .iter()
            .map(|l| l.actor.id.clone())
            .collect::<Vec<_>>(),
        vec![cat.clone(), bob.clone()]
    );
    assert_eq!(
        listed[0].actor,
        db.get_user(&cat).await.unwrap().expect("cat")
    );
    // The reaction is about the post: its text comes along; the follow has none.
    assert_eq!(listed[0].post_text.as_deref(), Some("react to me"));
    assert_eq!(listed[1].post_text, None);
    assert_eq!(listed[1].comment_text, None);
    let listed: Vec<_> = listed.into_iter().map(|l| l.notification).collect();
    assert_eq!(
        listed.iter().map(|n| n.kind).collect::<Vec<_>>(),
        vec![NotificationType::Reaction, NotificationType::Follow]
    );
    assert_eq!(listed[0].reaction, Some(ReactionType::Fire));
    assert_eq!(listed[1].id, f.id);
    let older = db
        .list_notifications(&ann, Some(&listed[0].id), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(db.unread_count(&ann).await.unwrap(), 2);
    assert_eq!(
        db.mark_read(&cat, std::slice::from_ref(&f.id), Timestamp::now())
            .await
            .unwrap(),
        0,
        "not cat's"
    );
    assert_eq!(
        db.mark_read(&ann, &[f.id.clone(), "nope".into()], Timestamp::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(db.unread_count(&ann).await.unwrap(), 1);
    assert_eq!(db.mark_all_read(&ann, Timestamp::now()).await.unwrap(), 1);
    assert_eq!(db.unread_count(&ann).await.unwrap(), 0);
    // (The post above also queued its timeline fan-out.)
    let jobs: Vec<_> = due_jobs(&db)
        .await
        .into_iter()
        .filter(|j| j.kind != scooter_store::timelines::FAN_OUT_JOB)
        .collect();
    assert_eq!(jobs.len(), 2, "one push job per new notification");
    assert!(jobs.iter().all(|j| j.kind == "push"));
    let mut payloads: Vec<_> = jobs.iter().map(|j| j.payload.clone()).collect();
    payloads.sort();
    let mut ids: Vec<_> = listed.iter().map(|n| n.id.clone()).collect();
    ids.sort();
    assert_eq!(payloads, ids);
}

/// Notifications from an actor hidden from the recipient are not listed or counted;
/// deleting the post removes those about it.
pub async fn hidden_actors_and_deleted_posts_leave_no_notifications(db: Db) {
    let ann = user_with_handle(&db, "h_ann").await;
    let bob = user_with_handle(&db, "h_bob").await;
    let cat = user_with_handle(&db, "h_cat").await;
    let p = post(&db, &ann, "about this").await;
    let mut m = note(&ann, &bob, NotificationType::Mention, "mention:x");
    m.post_id = Some(p.id.clone());
    db.create_post(
        scooter_store::NewPost {
            id: new_id(),
            author: bob.clone(),
            text: "@h_ann".into(),
            mentions: vec![ann.clone()],
            media: vec![],
            created_at: Timestamp::now(),
        },
        None,
        &[m],
    )
    .await
    .unwrap();
    db.follow(
        &cat,
        &ann,
        Timestamp::now(),
        Some(&note(&ann, &cat, NotificationType::Follow, "follow:cat")),
    )
    .await
    .unwrap();
    assert_eq!(db.unread_count(&ann).await.unwrap(), 2);
    db.block(&ann, &cat, Timestamp::now()).await.unwrap();
    db.set_suspension(
        &bob,
        Some(Suspension {
            reason: "x".into(),
            at: Timestamp::now(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(db.unread_count(&ann).await.unwrap(), 0);
    assert!(
        db.list_notifications(&ann, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    db.set_suspension(&bob, None).await.unwrap();
    assert_eq!(
        db.list_notifications(&ann, None, 10).await.unwrap().len(),
        1
    );
    db.delete_post(&p.id).await.unwrap();
    assert!(
        db.list_notifications(&ann, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// No push job for a recipient who turned push off; pushing is recorded once.
pub async fn push_jobs_follow_the_recipients_preference(db: Db) {
    let ann = user_with_handle(&db, "p_ann").await;
    let bob = user_with_handle(&db, "p_bob").await;
    let off = NotificationPrefs {
        push: false,
        ..NotificationPrefs::default()
    };
    db.set_notification_prefs(&ann, off).await.unwrap();
    let n = note(&ann, &bob, NotificationType::Follow, "follow:p_bob");
    db.follow(&bob, &ann, Timestamp::now(), Some(&n))
        .await
        .unwrap();
    assert!(due_jobs(&db).await.is_empty());
    assert_eq!(
        db.list_notifications(&ann, None, 10).await.unwrap().len(),
        1,
        "in-app still"
    );
    assert!(db.mark_pushed(&n.id, Timestamp::now()).await.unwrap());
    assert!(!db.mark_pushed(&n.id, Timestamp::now()).await.unwrap());
    assert!(
        db.get_notification(&n.id)
            .await
            .unwrap()
            .and_then(|n| n.pushed_at)
            .is_some()
    );
}

fn job(kind: &str, dedupe: Option<&str>) -> NewJob {
    NewJob {
        id: new_id(),
        kind: kind.into(),
        payload: "p".into(),
        dedupe: dedupe.map(Into::into),
        run_at: Timestamp::now(),
    }
}

/// A claimed job is leased: not claimed again until the lease runs out (a crashed
/// worker), a worker whose lease was taken over changes nothing, failures retry later
/// or give up, and completion removes it.
pub async fn jobs_are_leased_retried_and_buried(db: Db) {
    db.enqueue_job(job("work", Some("k"))).await.unwrap();
    db.enqueue_job(job("work", Some("k"))).await.unwrap();
    let now = Timestamp::now().plus_seconds(1);
    let first = db
        .claim_jobs(now, Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "the dedupe key made one job");
    assert_eq!(first[0].attempts, 1);
    assert!(
        db.claim_jobs(now, Duration::from_secs(30), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let after_lease = now.plus_seconds(31);
    let again = db
        .claim_jobs(after_lease, Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(
        (again.len(), again[0].attempts),
        (1, 2),
        "a dead worker's job runs again"
    );
    let id = again[0].id.clone();
    db.complete_job(&id, 1).await.unwrap();
    db.fail_job(&id, 1, "stale worker", None).await.unwrap();
    db.fail_job(&id, 2, "boom", Some(after_lease.plus_seconds(60)))
        .await
        .unwrap();
    assert!(
        db.claim_jobs(after_lease, Duration::from_secs(30), 10)
            .await
            .unwrap()
            .is_empty(),
        "not yet due"
    );
    let later = db
        .claim_jobs(after_lease.plus_seconds(61), Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(later[0].last_error.as_deref(), Some("boom"));
    db.fail_job(&id, 3, "fatal", None).await.unwrap();
    let dead = db.dead_jobs(10).await.unwrap();
    assert_eq!(
        (dead.len(), dead[0].last_error.as_deref()),
        (1, Some("fatal"))
    );
    assert!(
        db.claim_jobs(after_lease.plus_seconds(3600), Duration::from_secs(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    db.enqueue_job(job("work", None)).await.unwrap();
    let fresh = db
        .claim_jobs(
            Timestamp::now().plus_seconds(1),
            Duration::from_secs(30),
            10,
        )
        .await
        .unwrap();
    db.complete_job(&fresh[0].id, fresh[0].attempts)
        .await
        .unwrap();
    assert!(
        db.claim_jobs(
            Timestamp::now().plus_seconds(3600),
            Duration::from_secs(30),
            10
        )
        .await
        .unwrap()
        .is_empty()
    );
}

/// Workers claiming at the same time never get the same job.
pub async fn parallel_claims_never_share_a_job(db: Db) {
    for _ in 0..30 {
        db.enqueue_job(job("work", None)).await.unwrap();
    }
    let now = Timestamp::now().plus_seconds(1);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.claim_jobs(now, Duration::from_secs(60), 7)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap().into_iter().map(|j| j.id));
    }
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no job claimed twice");
    assert_eq!(total, 30);
}

/// A token belongs to the newest account that registers it; unregistering someone
/// else's token does nothing; deleting an account forgets its devices.
pub async fn push_devices_move_and_only_their_owner_removes_them(db: Db) {
    let ann = user_with_handle(&db, "d_ann").await;
    let bob = user_with_handle(&db, "d_bob").await;
    let t = "ExponentPushToken[abc]";
    let expo = PushService::Expo;
    db.register_device(&ann, t, Platform::Ios, expo, Timestamp::now())
        .await
        .unwrap();
    db.register_device(
        &ann,
        "ExponentPushToken[two]",
        Platform::Android,
        expo,
        Timestamp::now(),
    )
    .await
    .unwrap();
    db.register_device(&ann, t, Platform::Ios, expo, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(db.devices_of(&ann).await.unwrap().len(), 2);
    db.register_device(&bob, t, Platform::Ios, expo, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(db.devices_of(&ann).await.unwrap().len(), 1);
    assert!(!db.unregister_device(&ann, t).await.unwrap());
    assert_eq!(db.devices_of(&bob).await.unwrap().len(), 1);
    db.forget_device(t).await.unwrap();
    assert!(db.devices_of(&bob).await.unwrap().is_empty());
    db.delete_user(&ann, Timestamp::now()).await.unwrap();
    assert!(db.devices_of(&ann).await.unwrap().is_empty());
}

/// A device keeps the push service it was registered with (Expo, FCM or APNs), and a
/// token registered again records the service given last.
pub async fn push_devices_carry_their_service(db: Db) {
    let ann = user_with_handle(&db, "s_ann").await;
    let apns = "ab".repeat(32);
    let devices = [
        (
            "ExponentPushToken[s-expo]",
            Platform::Ios,
            PushService::Expo,
        ),
        ("fcm-token:APA91b", Platform::Android, PushService::Fcm),
        (apns.as_str(), Platform::Ios, PushService::Apns),
    ];
    for (i, (token, platform, service)) in devices.into_iter().enumerate() {
        let at = Timestamp::from_millis(1_000 + i64::try_from(i).unwrap());
        db.register_device(&ann, token, platform, service, at)
            .await
            .unwrap();
    }
    let found: Vec<(String, Platform, PushService)> = db
        .devices_of(&ann)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.token, d.platform, d.service))
        .collect();
    let want: Vec<(String, Platform, PushService)> = devices
        .iter()
        .map(|(t, p, s)| ((*t).to_owned(), *p, *s))
        .collect();
    assert_eq!(found, want);
    db.register_device(
        &ann,
        "fcm-token:APA91b",
        Platform::Android,
        PushService::Apns,
        Timestamp::from_millis(2_000),
    )
    .await
    .unwrap();
    let moved = db.devices_of(&ann).await.unwrap();
    let fcm = moved.iter().find(|d| d.token == "fcm-token:APA91b");
    assert_eq!(fcm.map(|d| d.service), Some(PushService::Apns));
    // The longest token the API takes fits every backend's keys (DynamoDB's sort key
    // holds 1,024 bytes, prefix included).
    let longest = "f".repeat(scooter_core::notification::MAX_NATIVE_TOKEN);
    assert!(PushService::Fcm.accepts_token(&longest));
    db.register_device(
        &ann,
        &longest,
        Platform::Android,
        PushService::Fcm,
        Timestamp::from_millis(3_000),
    )
    .await
    .unwrap();
    assert!(
        db.devices_of(&ann)
            .await
            .unwrap()
            .iter()
            .any(|d| d.token == longest)
    );
}

/// The clean-up deletes what outlived its use and keeps what is still needed.
pub async fn stale_rows_are_purged(db: Db) {
    let ann = user_with_handle(&db, "purge_ann").await;
    let now = Timestamp::now();
    let old = now.plus_seconds(-10 * 24 * 3600);
    for (hash, expires) in [("old-token", old), ("live-token", now.plus_seconds(3600))] {
        let t = scooter_store::NewRefreshToken {
            token_hash: hash.into(),
            family_id: hash.into(),
            user_id: ann.clone(),
            issued_at: old,
            expires_at: expires,
            client: None,
        };
        db.insert_refresh_token(t).await.unwrap();
    }
    let gone = db.purge_stale(now).await.unwrap();
    // The expired token, and the session it alone kept alive.
    assert_eq!(gone, 2);
    let sessions: Vec<String> = db
        .list_sessions(&ann, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(sessions, vec!["live-token".to_owned()]);
    let rotated = db
        .rotate_refresh_token(
            "live-token",
            "next",
            now,
            now.plus_seconds(60),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    assert!(
        matches!(rotated, scooter_store::RotateOutcome::Rotated { .. }),
        "the live one stays"
    );
}

/// A claim takes only the kinds its lane names.
pub async fn claims_take_only_the_kinds_asked_for(db: Db) {
    use scooter_core::notification::NewJob;
    use scooter_store::JobKinds;
    let now = Timestamp::now();
    for kind in ["lane_slow", "lane_fast", "lane_other"] {
        db.enqueue_job(NewJob {
            id: new_id(),
            kind: kind.into(),
            payload: String::new(),
            dedupe: None,
            run_at: now,
        })
        .await
        .unwrap();
    }
    let lease = Duration::from_secs(30);
    let kinds = |jobs: Vec<scooter_core::notification::Job>| {
        let mut k: Vec<String> = jobs.into_iter().map(|j| j.kind).collect();
        k.sort();
        k
    };
    let slow = db
        .claim_jobs_of(now, lease, 10, JobKinds::Only(&["lane_slow"]))
        .await
        .unwrap();
    assert_eq!(kinds(slow), vec!["lane_slow".to_owned()]);
    let rest = db
        .claim_jobs_of(now, lease, 10, JobKinds::Except(&["lane_slow"]))
        .await
        .unwrap();
    assert_eq!(
        kinds(rest),
        vec!["lane_fast".to_owned(), "lane_other".to_owned()]
    );
    assert!(db.claim_jobs(now, lease, 10).await.unwrap().is_empty());
}
