//! Tails (the unbounded part of a use case a worker resumes after a crash) seen from the
//! wrong side: a tail job naming a live account or post, a forged or malformed payload.
//! None may take anything away; resuming a finished tail changes nothing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use scooter_core::post::Comment;
use scooter_core::user::NewUser;
use scooter_core::{Email, Handle, Timestamp, UserId};
use scooter_store::{EnsureOutcome, NewPost, Store};
use scooter_store_dynamodb::testing;

async fn rider(db: &dyn Store, handle: &str) -> UserId {
    let id = UserId::generate();
    let new = NewUser {
        id: id.clone(),
        email: Email::from_stored(format!("{handle}@example.com")),
        email_verified: true,
        created_at: Timestamp::now(),
    };
    assert!(matches!(
        db.ensure_user(new).await.unwrap(),
        EnsureOutcome::Active(_)
    ));
    db.set_handle(&id, &Handle::parse(handle).unwrap())
        .await
        .unwrap();
    id
}

async fn post_with_comment(db: &dyn Store, author: &UserId) -> String {
    let id = scooter_core::ids::new_id();
    let post = NewPost {
        id: id.clone(),
        author: author.clone(),
        text: "ride".into(),
        mentions: Vec::new(),
        media: Vec::new(),
        created_at: Timestamp::now(),
    };
    db.create_post(post, None, &[]).await.unwrap();
    let comment = Comment {
        id: scooter_core::ids::new_id(),
        post_id: id.clone(),
        author: author.clone(),
        text: "nice".into(),
        created_at: Timestamp::now(),
    };
    db.add_comment(comment, Vec::new(), None, &[])
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_tail_naming_a_live_account_or_post_takes_nothing() {
    let store = testing::fresh_store(false).await;
    let db: &dyn Store = &store;
    let ann = rider(db, "tail_ann").await;
    let bob = rider(db, "tail_bob").await;
    db.follow(&bob, &ann, Timestamp::now(), None).await.unwrap();
    let post = post_with_comment(db, &ann).await;

    db.resume_tail(&format!("delete_user:{}", ann.as_str()))
        .await
        .unwrap();
    db.resume_tail(&format!("delete_post:{post}"))
        .await
        .unwrap();
    db.resume_tail(&format!("recount:{}", ann.as_str()))
        .await
        .unwrap();

    let me = db.get_user(&ann).await.unwrap().expect("still there");
    assert_eq!((me.followers_count, me.posts_count), (1, 1));
    assert!(db.get_post(&post).await.unwrap().is_some());
    let comments = db.list_comments(&post, &bob, None, 10).await.unwrap();
    assert_eq!(comments.len(), 1, "the live post keeps its comment");
    assert!(db.relationship(&bob, &ann).await.unwrap().following);
}

#[tokio::test]
async fn forged_tail_payloads_are_refused() {
    let store = testing::fresh_store(false).await;
    let db: &dyn Store = &store;
    for payload in ["", "delete_user", "drop_tables:users", "no colon at all"] {
        assert!(db.resume_tail(payload).await.is_err(), "{payload:?}");
    }
    assert!(
        db.claim_jobs(
            Timestamp::now().plus_seconds(3600),
            std::time::Duration::from_secs(60),
            10
        )
        .await
        .unwrap()
        .is_empty(),
        "nothing queued by a refused tail"
    );
}

#[tokio::test]
async fn resuming_a_finished_deletion_changes_nothing() {
    let store = testing::fresh_store(false).await;
    let db: &dyn Store = &store;
    let ann = rider(db, "gone_ann").await;
    let bob = rider(db, "gone_bob").await;
    db.follow(&bob, &ann, Timestamp::now(), None).await.unwrap();
    db.follow(&ann, &bob, Timestamp::now(), None).await.unwrap();
    let post = post_with_comment(db, &ann).await;
    assert!(db.delete_user(&ann, Timestamp::now()).await.unwrap());

    db.resume_tail(&format!("delete_user:{}", ann.as_str()))
        .await
        .unwrap();

    assert!(db.get_user(&ann).await.unwrap().is_none());
    assert!(db.get_post(&post).await.unwrap().is_none());
    let b = db.get_user(&bob).await.unwrap().unwrap();
    assert_eq!(
        (b.followers_count, b.following_count),
        (0, 0),
        "counted once"
    );
    // The deletion's own jobs (the media purge) remain; no tail job does.
    let jobs = db
        .claim_jobs(
            Timestamp::now().plus_seconds(3600),
            std::time::Duration::from_secs(60),
            10,
        )
        .await
        .unwrap();
    assert!(jobs.iter().all(|j| j.kind != "store_tail"), "{jobs:?}");
}
