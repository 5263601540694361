//! Small builders the tests share.

use scooter_core::user::NewUser;
use scooter_core::{Email, Handle, Timestamp, UserId};
use scooter_store::{EnsureOutcome, Store};
use std::sync::Arc;

/// The store under test.
pub type Db = Arc<dyn Store>;

/// A new user (not yet stored) with a unique address.
pub fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: Email::from_stored(format!("{name}-{}@example.com", UserId::generate())),
        email_verified: true,
        created_at: Timestamp::now(),
    }
}

/// A stored user.
pub async fn user(db: &Db, name: &str) -> UserId {
    let new = new_user(name);
    let id = new.id.clone();
    match db.ensure_user(new).await {
        Ok(EnsureOutcome::Active(_)) => id,
        other => panic!("creating {name}: {other:?}"),
    }
}

/// A stored user with a handle.
pub async fn user_with_handle(db: &Db, handle: &str) -> UserId {
    let id = user(db, handle).await;
    let h = Handle::parse(handle).unwrap_or_else(|e| panic!("{e}"));
    db.set_handle(&id, &h)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    id
}

/// Parses a handle in a test.
pub fn handle(s: &str) -> Handle {
    Handle::parse(s).unwrap_or_else(|e| panic!("{e}"))
}
