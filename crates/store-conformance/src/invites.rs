//! Invite codes: quotas and one-time redemption.

use crate::fixtures::{Db, user};
use scooter_core::Timestamp;
use scooter_core::invite::InviteCode;
use scooter_store::{CreateInviteOutcome, RedeemOutcome};

fn code(n: u8) -> InviteCode {
    InviteCode::from_random([n, n.wrapping_add(1), 2, 3, 4, 5, 6, 7, 8, 9])
}

/// Parallel creations never exceed the quota.
pub async fn invites_respect_the_quota_even_in_parallel(db: Db) {
    let owner = user(&db, "quota").await;
    let tasks: Vec<_> = (0..10u8)
        .map(|i| {
            let db = db.clone();
            let owner = owner.clone();
            tokio::spawn(async move {
                db.create_invite(&owner, &code(i), 3, Timestamp::now())
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            CreateInviteOutcome::Created(_) => created += 1,
            CreateInviteOutcome::QuotaExhausted => {}
        }
    }
    assert_eq!(created, 3);
    assert_eq!(db.list_invites(&owner).await.unwrap().len(), 3);
}

/// A code is used once; the second user is refused.
pub async fn an_invite_is_redeemed_once(db: Db) {
    let owner = user(&db, "inviter").await;
    let c = code(40);
    db.create_invite(&owner, &c, 5, Timestamp::now())
        .await
        .unwrap();
    let a = user(&db, "first").await;
    let b = user(&db, "second").await;
    assert_eq!(
        db.redeem_invite(&a, &c, Timestamp::now()).await.unwrap(),
        RedeemOutcome::Redeemed
    );
    assert_eq!(
        db.redeem_invite(&b, &c, Timestamp::now()).await.unwrap(),
        RedeemOutcome::Invalid
    );
    assert!(
        db.get_user(&a)
            .await
            .unwrap()
            .and_then(|u| u.invited_at)
            .is_some()
    );
    assert!(
        db.get_user(&b)
            .await
            .unwrap()
            .and_then(|u| u.invited_at)
            .is_none()
    );
    assert_eq!(
        db.redeem_invite(&b, &code(77), Timestamp::now())
            .await
            .unwrap(),
        RedeemOutcome::Invalid
    );
}

/// Your own code does not count, and an invited user cannot redeem again.
pub async fn own_code_and_second_redemption_are_refused(db: Db) {
    let owner = user(&db, "self").await;
    let mine = code(50);
    db.create_invite(&owner, &mine, 5, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        db.redeem_invite(&owner, &mine, Timestamp::now())
            .await
            .unwrap(),
        RedeemOutcome::OwnCode
    );
    let other = user(&db, "friend").await;
    let theirs = code(60);
    let spare = code(70);
    db.create_invite(&other, &theirs, 5, Timestamp::now())
        .await
        .unwrap();
    db.create_invite(&other, &spare, 5, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        db.redeem_invite(&owner, &theirs, Timestamp::now())
            .await
            .unwrap(),
        RedeemOutcome::Redeemed
    );
    assert_eq!(
        db.redeem_invite(&owner, &spare, Timestamp::now())
            .await
            .unwrap(),
        RedeemOutcome::AlreadyInvited
    );
}
