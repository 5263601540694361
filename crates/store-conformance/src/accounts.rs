//! Password accounts and refresh-token families.

use crate::fixtures::{Db, new_user, user};
use scooter_core::invite::InviteCode;
use scooter_core::{Email, Timestamp, UserId};
use scooter_store::{CreateInviteOutcome, NewRefreshToken, RotateOutcome, SignupOutcome};
use std::time::Duration;

fn token(hash: &str, family: &str, user: &UserId, expires_at: Timestamp) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        user_id: user.clone(),
        issued_at: Timestamp::now(),
        expires_at,
        client: Some("ScooterBooter/1.0 (iPhone)".into()),
    }
}

fn later() -> Timestamp {
    Timestamp::now().plus_seconds(3600)
}

/// A second account with the same address is refused; the credential is found by address.
pub async fn a_password_account_is_created_once_per_email(db: Db) {
    let new = new_user("pw");
    let created = db
        .create_password_account(new.clone(), Some("$argon2id$hash"), None)
        .await
        .unwrap();
    assert!(matches!(created, SignupOutcome::Created(ref u) if u.id == new.id));
    let mut twin = new_user("pw2");
    twin.email = new.email.clone();
    let again = db
        .create_password_account(twin.clone(), Some("$argon2id$other"), None)
        .await
        .unwrap();
    assert_eq!(again, SignupOutcome::EmailTaken);
    assert_eq!(db.get_user(&twin.id).await.unwrap(), None);
    let cred = db
        .credential_by_email(&new.email)
        .await
        .unwrap()
        .expect("credential");
    assert_eq!(
        (cred.user_id, cred.password_hash.as_str()),
        (new.id.clone(), "$argon2id$hash")
    );
    assert_eq!(db.user_id_by_email(&new.email).await.unwrap(), Some(new.id));
    let nobody = Email::parse("nobody@example.com").unwrap();
    assert_eq!(db.credential_by_email(&nobody).await.unwrap(), None);
}

/// An unknown or used invite at sign-up rolls the whole sign-up back.
pub async fn a_bad_invite_at_signup_creates_nothing(db: Db) {
    let new = new_user("bad-invite");
    let code = InviteCode::from_random([3; 10]);
    let out = db
        .create_password_account(new.clone(), Some("h"), Some(&code))
        .await
        .unwrap();
    assert_eq!(out, SignupOutcome::InviteInvalid);
    assert_eq!(db.get_user(&new.id).await.unwrap(), None);
    assert_eq!(db.credential_by_email(&new.email).await.unwrap(), None);
}

/// A valid invite at sign-up is used up and the account is marked invited.
pub async fn an_invite_at_signup_is_redeemed(db: Db) {
    let owner = user(&db, "owner").await;
    let code = InviteCode::from_random([5; 10]);
    let made = db
        .create_invite(&owner, &code, 5, Timestamp::now())
        .await
        .unwrap();
    assert!(matches!(made, CreateInviteOutcome::Created(_)));
    let out = db
        .create_password_account(new_user("guest"), Some("h"), Some(&code))
        .await
        .unwrap();
    let SignupOutcome::Created(guest) = out else {
        panic!("{out:?}")
    };
    assert!(guest.invited_at.is_some());
    let out = db
        .create_password_account(new_user("late"), Some("h"), Some(&code))
        .await
        .unwrap();
    assert_eq!(out, SignupOutcome::InviteInvalid);
    let listed = db.list_invites(&owner).await.unwrap();
    assert!(listed[0].used_at.is_some());
}

/// Rotation spends the presented token; presenting it again revokes the family,
/// including the token that replaced it.
pub async fn refresh_tokens_rotate_and_reuse_revokes_the_family(db: Db) {
    let id = user(&db, "rot").await;
    db.insert_refresh_token(token("t1", "fam", &id, later()))
        .await
        .unwrap();
    let now = Timestamp::now();
    assert_eq!(
        db.rotate_refresh_token("t1", "t2", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap()
            .user(),
        Some(&id.clone())
    );
    assert_eq!(
        db.rotate_refresh_token("t2", "t3", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap()
            .user(),
        Some(&id.clone())
    );
    assert_eq!(
        db.rotate_refresh_token("t1", "t4", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Reused
    );
    assert_eq!(
        db.rotate_refresh_token("t3", "t5", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    // Another family is untouched.
    db.insert_refresh_token(token("o1", "other", &id, later()))
        .await
        .unwrap();
    assert_eq!(
        db.rotate_refresh_token("o1", "o2", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap()
            .user(),
        Some(&id)
    );
}

/// A spent token presented again within the grace window is the same refresh repeated:
/// it gets a sibling token and both answers keep working. After the window, or once the
/// family is revoked, it is reuse again.
pub async fn a_refresh_repeated_within_the_grace_window_keeps_the_session(db: Db) {
    let id = user(&db, "grace").await;
    db.insert_refresh_token(token("g1", "fam-g", &id, later()))
        .await
        .unwrap();
    let grace = std::time::Duration::from_secs(20);
    let t0 = Timestamp::now();
    let rotate = |presented: &'static str, next: &'static str, at: Timestamp| {
        let db = db.clone();
        async move {
            db.rotate_refresh_token(presented, next, at, later(), grace)
                .await
                .unwrap()
        }
    };
    assert_eq!(rotate("g1", "g2", t0).await.user(), Some(&id.clone()));
    // The repeat, 5 s later: a sibling, nothing revoked.
    assert_eq!(
        rotate("g1", "g2b", t0.plus_seconds(5)).await.user(),
        Some(&id.clone())
    );
    // Both answers work; the window counts from the first spend, not the repeat.
    assert_eq!(
        rotate("g2", "g3", t0.plus_seconds(6)).await.user(),
        Some(&id.clone())
    );
    assert_eq!(
        rotate("g2b", "g3b", t0.plus_seconds(6)).await.user(),
        Some(&id.clone())
    );
    // 21 s after the first spend: reuse, the whole family goes.
    assert_eq!(
        rotate("g1", "g4", t0.plus_seconds(21)).await,
        RotateOutcome::Reused
    );
    for live in ["g3", "g3b"] {
        assert_eq!(
            rotate(live, "never", t0.plus_seconds(22)).await,
            RotateOutcome::Invalid
        );
    }
    // Signing out ends the window too.
    db.insert_refresh_token(token("h1", "fam-h", &id, later()))
        .await
        .unwrap();
    assert_eq!(rotate("h1", "h2", t0).await.user(), Some(&id.clone()));
    assert!(db.revoke_refresh_family("h2").await.unwrap());
    assert_eq!(
        rotate("h1", "h2b", t0.plus_seconds(1)).await,
        RotateOutcome::Invalid
    );
}

/// A session is listed from sign-in until it can no longer refresh; refreshing marks
/// it used; ending one, or all but one, revokes their tokens; another user's session is
/// never touched.
pub async fn sessions_are_listed_and_ended_by_their_owner(db: Db) {
    use scooter_store::{EndSessions, SessionInfo};
    let ann = user(&db, "sess_ann").await;
    let bob = user(&db, "sess_bob").await;
    let t0 = Timestamp::now();
    for (hash, family, who) in [
        ("s-phone", "sess-phone", &ann),
        ("s-tablet", "sess-tablet", &ann),
        ("s-web", "sess-web", &ann),
        ("s-bob", "sess-bob", &bob),
    ] {
        db.insert_refresh_token(token(hash, family, who, later()))
            .await
            .unwrap();
    }
    let ids = |list: Vec<SessionInfo>| {
        let mut ids: Vec<String> = list.into_iter().map(|s| s.id).collect();
        ids.sort();
        ids
    };
    let listed = db.list_sessions(&ann, t0).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed[0].client.as_deref(),
        Some("ScooterBooter/1.0 (iPhone)")
    );
    // A refresh keeps the session and marks it used.
    let later_on = t0.plus_seconds(60);
    let out = db
        .rotate_refresh_token("s-phone", "s-phone-2", later_on, later(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        out,
        RotateOutcome::Rotated {
            user: ann.clone(),
            session: "sess-phone".into()
        }
    );
    let phone = db
        .list_sessions(&ann, later_on)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == "sess-phone")
        .expect("still listed");
    assert_eq!(phone.last_used_at, later_on);
    // Another user's session id ends nothing.
    assert_eq!(
        db.end_sessions(&bob, EndSessions::One("sess-tablet"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.end_sessions(&ann, EndSessions::One("sess-tablet"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.rotate_refresh_token("s-tablet", "x", later_on, later(), Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        ids(db.list_sessions(&ann, later_on).await.unwrap()),
        vec!["sess-phone".to_owned(), "sess-web".to_owned()]
    );
    // All but the current one.
    assert_eq!(
        db.end_sessions(&ann, EndSessions::AllBut(Some("sess-phone")))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ids(db.list_sessions(&ann, later_on).await.unwrap()),
        vec!["sess-phone".to_owned()]
    );
    assert_eq!(
        db.rotate_refresh_token("s-phone-2", "s-phone-3", later_on, later(), Duration::ZERO)
            .await
            .unwrap()
            .user(),
        Some(&ann)
    );
    assert_eq!(
        ids(db.list_sessions(&bob, later_on).await.unwrap()),
        vec!["sess-bob".to_owned()]
    );
    // Signing out hides the session; an expired one is not listed either.
    assert!(db.revoke_refresh_family("s-phone-3").await.unwrap());
    assert!(db.list_sessions(&ann, later_on).await.unwrap().is_empty());
    let far = Timestamp::now().plus_seconds(7200);
    assert!(db.list_sessions(&bob, far).await.unwrap().is_empty());
}

/// Expired tokens, revoked families and unknown tokens are all invalid.
pub async fn expired_and_revoked_refresh_tokens_are_invalid(db: Db) {
    let id = user(&db, "exp").await;
    let past = Timestamp::now().plus_seconds(-10);
    db.insert_refresh_token(token("old", "f-old", &id, past))
        .await
        .unwrap();
    let now = Timestamp::now();
    assert_eq!(
        db.rotate_refresh_token("old", "x", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    db.insert_refresh_token(token("live", "f-live", &id, later()))
        .await
        .unwrap();
    assert!(db.revoke_refresh_family("live").await.unwrap());
    assert_eq!(
        db.rotate_refresh_token("live", "y", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    assert!(!db.revoke_refresh_family("unknown").await.unwrap());
    assert_eq!(
        db.rotate_refresh_token("unknown", "z", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
}

/// Deleting an account removes its credential, refresh tokens and invites, and frees
/// its address for a new account.
pub async fn deleting_a_user_removes_credentials_and_tokens(db: Db) {
    let new = new_user("leaver");
    db.create_password_account(new.clone(), Some("h"), None)
        .await
        .unwrap();
    db.insert_refresh_token(token("leave-1", "f", &new.id, later()))
        .await
        .unwrap();
    let code = InviteCode::from_random([9; 10]);
    db.create_invite(&new.id, &code, 5, Timestamp::now())
        .await
        .unwrap();
    assert!(db.delete_user(&new.id, Timestamp::now()).await.unwrap());
    assert_eq!(db.credential_by_email(&new.email).await.unwrap(), None);
    let now = Timestamp::now();
    assert_eq!(
        db.rotate_refresh_token("leave-1", "n", now, later(), std::time::Duration::ZERO)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    assert!(db.list_invites(&new.id).await.unwrap().is_empty());
    let mut again = new_user("returner");
    again.email = new.email.clone();
    let out = db
        .create_password_account(again, Some("h"), None)
        .await
        .unwrap();
    assert!(matches!(out, SignupOutcome::Created(_)));
}

/// An account without a password (made by the operator) is found by address but has
/// no credential, and still blocks a sign-up with the same address.
pub async fn an_account_without_a_password_has_no_credential(db: Db) {
    let new = new_user("operator-made");
    let out = db
        .create_password_account(new.clone(), None, None)
        .await
        .unwrap();
    assert!(matches!(out, SignupOutcome::Created(_)));
    assert_eq!(db.user_id_by_email(&new.email).await.unwrap(), Some(new.id));
    assert_eq!(db.credential_by_email(&new.email).await.unwrap(), None);
    let mut twin = new_user("twin");
    twin.email = new.email.clone();
    let again = db
        .create_password_account(twin, Some("h"), None)
        .await
        .unwrap();
    assert_eq!(again, SignupOutcome::EmailTaken);
}

/// A barred address digest stays barred; others are not.
pub async fn barred_addresses_are_remembered(db: Db) {
    let now = Timestamp::now();
    assert!(!db.is_address_barred("d-1").await.unwrap());
    db.bar_address("d-1", now).await.unwrap();
    db.bar_address("d-1", now).await.unwrap();
    assert!(db.is_address_barred("d-1").await.unwrap());
    assert!(!db.is_address_barred("d-2").await.unwrap());
}
