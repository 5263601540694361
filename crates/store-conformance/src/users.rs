//! Users: profiles, handles, preferences, terms, search, deletion.

use crate::fixtures::{Db, handle, new_user, user, user_with_handle};
use scooter_core::Timestamp;
use scooter_core::user::NotificationPrefs;
use scooter_store::{EnsureOutcome, ProfilePatch, StoreError};

/// `ensure_user` creates on first sight and afterwards returns the same profile.
pub async fn ensure_user_creates_a_profile_once(db: Db) {
    let new = new_user("ann");
    let first = db
        .ensure_user(new.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let EnsureOutcome::Active(first) = first else {
        panic!("not active")
    };
    assert_eq!(first.id, new.id);
    assert!(first.handle.is_none());
    assert_eq!(first.prefs, NotificationPrefs::default());
    let mut again = new.clone();
    again.email_verified = false;
    let second = db
        .ensure_user(again)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second, EnsureOutcome::Active(first.clone()));
    assert_eq!(db.get_user(&new.id).await.ok().flatten(), Some(*first));
}

/// After `delete_user`, the same id is reported deleted and not recreated.
pub async fn a_deleted_user_is_never_recreated(db: Db) {
    let new = new_user("bob");
    db.ensure_user(new.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        db.delete_user(&new.id, Timestamp::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert!(
        !db.delete_user(&new.id, Timestamp::now())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(
        db.ensure_user(new.clone()).await.ok(),
        Some(EnsureOutcome::Deleted)
    );
    assert_eq!(db.get_user(&new.id).await.ok(), Some(None));
}

/// A handle held by one user cannot be set by another in any letter case.
pub async fn handles_are_unique_ignoring_case(db: Db) {
    let a = user(&db, "a").await;
    let b = user(&db, "b").await;
    let set = db
        .set_handle(&a, &handle("Rider_One"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        set.and_then(|u| u.handle).map(|h| h.to_string()),
        Some("Rider_One".into())
    );
    let clash = db.set_handle(&b, &handle("rider_one")).await;
    assert!(
        matches!(clash, Err(StoreError::Conflict("handle"))),
        "{clash:?}"
    );
    let found = db
        .user_by_handle(&handle("RIDER_ONE"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.map(|u| u.id), Some(a.clone()));
    // Re-setting your own handle in another case is not a conflict.
    assert!(db.set_handle(&a, &handle("rider_ONE")).await.is_ok());
}

/// Changing a handle, or deleting the account, frees the old one.
pub async fn a_freed_handle_can_be_taken_again(db: Db) {
    let a = user_with_handle(&db, "first_name").await;
    let b = user(&db, "b").await;
    db.set_handle(&a, &handle("second_name"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(db.set_handle(&b, &handle("first_name")).await.is_ok());
    db.delete_user(&a, Timestamp::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = user(&db, "c").await;
    assert!(db.set_handle(&c, &handle("second_name")).await.is_ok());
}

/// Many users setting the same handle at once: exactly one succeeds.
pub async fn two_users_racing_for_a_handle_yield_one_winner(db: Db) {
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(user(&db, &format!("racer{i}")).await);
    }
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let db = db.clone();
            tokio::spawn(async move { db.set_handle(&id, &handle("the_prize")).await })
        })
        .collect();
    let mut wins = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(Some(_))) => wins += 1,
            Ok(Err(StoreError::Conflict("handle"))) => conflicts += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((wins, conflicts), (1, 7));
}

/// A patch changes the fields it names, clears those set to `None`, and keeps the rest.
pub async fn profile_patches_change_only_named_fields(db: Db) {
    let id = user_with_handle(&db, "patchy").await;
    let patch = ProfilePatch {
        display_name: Some(Some("Patchy McPatch".into())),
        bio: Some(Some("rides daily".into())),
    };
    db.update_profile(&id, patch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let only_bio = ProfilePatch {
        display_name: None,
        bio: Some(None),
    };
    let u = db
        .update_profile(&id, only_bio)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(u.display_name.as_deref(), Some("Patchy McPatch"));
    assert_eq!(u.bio, None);
    let missing = scooter_core::UserId::generate();
    assert_eq!(
        db.update_profile(&missing, ProfilePatch::default())
            .await
            .ok(),
        Some(None)
    );
}

/// Preferences and accepted terms are stored and read back.
pub async fn preferences_and_terms_are_recorded(db: Db) {
    let id = user(&db, "prefs").await;
    let prefs = NotificationPrefs {
        reaction: false,
        push: false,
        ..NotificationPrefs::default()
    };
    let u = db.set_notification_prefs(&id, prefs).await.ok().flatten();
    assert_eq!(u.map(|u| u.prefs), Some(prefs));
    let at = Timestamp::from_millis(1_700_000_000_123);
    let u = db.accept_terms(&id, "2026-11", at).await.ok().flatten();
    assert_eq!(u.and_then(|u| u.terms), Some(("2026-11".into(), at)));
    let stored = db.get_user(&id).await.ok().flatten();
    assert_eq!(stored.map(|u| u.prefs), Some(prefs));
}

async fn search_handles(db: &Db, q: &str, limit: u32) -> Vec<String> {
    let hits = db
        .search_users(&scooter_core::UserId::generate(), q, None, limit)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    hits.into_iter()
        .filter_map(|h| h.user.handle.map(|h| h.to_string()))
        .collect()
}

/// Exact handle first, then handle prefixes, then display-name words; never more
/// than the limit.
pub async fn search_ranks_exact_then_handle_prefix_then_name_words(db: Db) {
    let named = user_with_handle(&db, "zed_rider").await;
    let patch = ProfilePatch {
        display_name: Some(Some("Sam Sprocket".into())),
        bio: None,
    };
    db.update_profile(&named, patch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    user_with_handle(&db, "samuel").await;
    user_with_handle(&db, "sam").await;
    user_with_handle(&db, "other").await;
    assert_eq!(
        search_handles(&db, "sam", 10).await,
        vec!["sam", "samuel", "zed_rider"]
    );
    assert_eq!(search_handles(&db, "spro", 10).await, vec!["zed_rider"]);
    assert_eq!(search_handles(&db, "sam", 2).await.len(), 2);
    assert!(search_handles(&db, "nobody", 10).await.is_empty());
}

/// Paging through results with the last key yields every match exactly once.
pub async fn search_pages_do_not_repeat_or_skip(db: Db) {
    for i in 0..7 {
        user_with_handle(&db, &format!("pager{i}")).await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let hits = db
            .search_users(
                &scooter_core::UserId::generate(),
                "pager",
                after.as_ref(),
                3,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if hits.is_empty() {
            break;
        }
        after = hits.last().map(|h| h.key.clone());
        seen.extend(
            hits.into_iter()
                .filter_map(|h| h.user.handle.map(|h| h.to_string())),
        );
    }
    let expected: Vec<String> = (0..7).map(|i| format!("pager{i}")).collect();
    assert_eq!(seen, expected);
}

/// Users without a handle are not searchable; deleted users vanish from search.
pub async fn search_skips_users_without_a_handle_and_deleted_users(db: Db) {
    let id = user(&db, "nohandle").await;
    let patch = ProfilePatch {
        display_name: Some(Some("Hidden Person".into())),
        bio: None,
    };
    db.update_profile(&id, patch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(search_handles(&db, "hidden", 10).await.is_empty());
    let gone = user_with_handle(&db, "goner").await;
    db.delete_user(&gone, Timestamp::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(search_handles(&db, "goner", 10).await.is_empty());
}

/// A batch lookup returns the users that exist and skips the rest.
pub async fn users_are_fetched_in_one_batch(db: Db) {
    let a = user(&db, "batch-a").await;
    let b = user(&db, "batch-b").await;
    let missing = scooter_core::UserId::generate();
    let mut found: Vec<_> = db
        .get_users(&[a.clone(), missing, b.clone()])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|u| u.id)
        .collect();
    found.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(found, expected);
    assert!(
        db.get_users(&[])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}
