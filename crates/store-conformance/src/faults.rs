//! Writes under failure. A backend's own fault tests make its writes fail (a full disk,
//! a commit the database refuses, a dropped connection) and check the one rule with
//! these helpers: a write the store acknowledged is readable at once and counted, and a
//! write it refused left nothing behind.

use crate::fixtures::{Db, user_with_handle};
use scooter_core::ids::new_id;
use scooter_core::{Timestamp, UserId};
use scooter_store::{Created, NewPost, StoreError};

/// What a run of writes got back from the store.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Ids of posts the store acknowledged.
    pub acked: Vec<String>,
    /// Ids of posts the store refused, with the error.
    pub refused: Vec<(String, StoreError)>,
}

impl Ledger {
    /// Refusals that say the storage is full.
    pub fn full(&self) -> usize {
        self.refused
            .iter()
            .filter(|(_, e)| matches!(e, StoreError::StorageFull(_)))
            .count()
    }

    /// Every refusal says the storage is full (not a failure, not "unavailable").
    pub fn assert_all_full(&self) {
        let other = self
            .refused
            .iter()
            .find(|(_, e)| !matches!(e, StoreError::StorageFull(_)));
        assert!(
            other.is_none(),
            "a refusal that is not 'storage full': {other:?}"
        );
    }
}

/// A user to post as.
pub async fn author(db: &Db) -> UserId {
    user_with_handle(db, &format!("w{}", &new_id()[24..])).await
}

/// One post of about `text_len` bytes with an idempotency key (so each write touches
/// several tables), recorded in `ledger`.
pub async fn post_once(db: &Db, author: &UserId, text_len: usize, ledger: &mut Ledger) {
    post_text(db, author, "x".repeat(text_len), ledger).await;
}

/// One post of `text` with an idempotency key, recorded in `ledger`.
pub async fn post_text(db: &Db, author: &UserId, text: String, ledger: &mut Ledger) {
    let id = new_id();
    let new = NewPost {
        id: id.clone(),
        author: author.clone(),
        text,
        mentions: vec![],
        media: vec![],
        created_at: Timestamp::now(),
    };
    let key = format!("k-{id}");
    let idempotency = scooter_store::Idempotency {
        key: &key,
        fingerprint: &key,
    };
    match db.create_post(new, Some(idempotency), &[]).await {
        Ok(Created::New(p)) => ledger.acked.push(p.id),
        Ok(other) => panic!("a fresh key was used before: {other:?}"),
        Err(e) => ledger.refused.push((id, e)),
    }
}

/// Whether a refused write may still have been stored: a connection that dies during
/// COMMIT leaves the outcome unknown to the client (it retries with its idempotency
/// key), so only "acknowledged implies stored" can be required then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusals {
    /// A refusal stored nothing.
    StoredNothing,
    /// A refusal may or may not have been stored.
    OutcomeUnknown,
}

/// Every acknowledged post is readable; with [`Refusals::StoredNothing`] no refused post
/// exists; the author's count is exactly what is stored.
pub async fn assert_ledger_holds(db: &Db, author: &UserId, ledger: &Ledger) {
    assert_ledger(db, author, ledger, Refusals::StoredNothing).await;
}

/// [`assert_ledger_holds`] with the rule for refusals spelt out.
pub async fn assert_ledger(db: &Db, author: &UserId, ledger: &Ledger, refusals: Refusals) {
    let mut missing = Vec::new();
    for id in &ledger.acked {
        if db.get_post(id).await.unwrap().is_none() {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged posts are not in the store (first: {})",
        missing.len(),
        ledger.acked.len(),
        missing[0]
    );
    let mut stored_anyway = 0;
    for (id, e) in &ledger.refused {
        if db.get_post(id).await.unwrap().is_some() {
            assert_eq!(
                refusals,
                Refusals::OutcomeUnknown,
                "post {id} was refused ({e}) but exists"
            );
            stored_anyway += 1;
        }
    }
    let user = db.get_user(author).await.unwrap().unwrap();
    assert_eq!(
        user.posts_count,
        i64::try_from(ledger.acked.len() + stored_anyway).unwrap(),
        "the author's count matches the stored posts"
    );
}
