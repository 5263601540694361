//! Access patterns over users.

use crate::StoreResult;
use scooter_core::user::{NewUser, NotificationPrefs, User};
use scooter_core::{Handle, Timestamp, UserId};

/// The result of making sure a profile exists for a signed-in identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsureOutcome {
    /// The profile exists (it may have just been created).
    Active(Box<User>),
    /// The account was deleted; its id must never come back to life.
    Deleted,
}

/// A change to the editable profile fields; `None` leaves a field as it is, and
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    /// New display name.
    pub display_name: Option<Option<String>>,
    /// New bio.
    pub bio: Option<Option<String>>,
}

/// Position in the search ranking: rank (0 exact handle, 1 handle prefix, 2 name word),
/// then lower-case handle, then id as the final tie-break.
pub type SearchKey = (u8, String, String);

/// One search result with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// Where it sits in the ranking.
    pub key: SearchKey,
    /// The user found.
    pub user: User,
}

/// Users and their profiles.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// One user by id; `None` when there is none (or it was deleted).
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;

    /// The users with these ids that exist, in no particular order (one round trip for
    /// a page of summaries, never one per item).
    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>>;

    /// One user by handle, ignoring case.
    async fn user_by_handle(&self, handle: &Handle) -> StoreResult<Option<User>>;

    /// The users with these handles (ignoring case), in one call; unknown ones are
    /// left out.
    async fn users_by_handles(&self, handles: &[Handle]) -> StoreResult<Vec<User>>;

    /// Returns the user, creating the profile from `new` on first sight. A deleted id
    /// (tombstoned) is never recreated.
    async fn ensure_user(&self, new: NewUser) -> StoreResult<EnsureOutcome>;

    /// Sets the handle. `Conflict("handle")` when another user holds it, ignoring case;
    /// `None` when the user does not exist.
    async fn set_handle(&self, id: &UserId, handle: &Handle) -> StoreResult<Option<User>>;

    /// Applies a profile patch.
    async fn update_profile(&self, id: &UserId, patch: ProfilePatch) -> StoreResult<Option<User>>;

    /// Replaces the notification preferences.
    async fn set_notification_prefs(
        &self,
        id: &UserId,
        prefs: NotificationPrefs,
    ) -> StoreResult<Option<User>>;

    /// Records that the user accepted a terms version at a time.
    async fn accept_terms(
        &self,
        id: &UserId,
        version: &str,
        at: Timestamp,
    ) -> StoreResult<Option<User>>;

    /// Deletes the account and everything that is its own, in one transaction, and
    /// leaves a tombstone so the id is never recreated. `false` when already gone.
    async fn delete_user(&self, id: &UserId, at: Timestamp) -> StoreResult<bool>;

    /// Users whose handle starts with `prefix` or one of whose display-name words does,
    /// in ranking order after `after`, at most `limit`. `prefix` is lower case. Users
    /// without a handle, suspended users and users with a block either way with
    /// `viewer` are left out.
    async fn search_users(
        &self,
        viewer: &UserId,
        prefix: &str,
        after: Option<&SearchKey>,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>>;
}
