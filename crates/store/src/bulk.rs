//! Bulk loading of synthetic data sets (`scooterbooter seed`, benchmarks).
//!
//! The use-case methods of the other traits keep every rule and counter per row; a data
//! set of a million posts cannot go in that way in minutes. These methods insert many
//! rows per statement, in one transaction per call, trusting the caller (the seeder)
//! for validity, and leave the counters to one [`BulkLoad::recount`] at the end. They
//! are never reachable from a request.

use crate::StoreResult;
use scooter_core::{Timestamp, UserId};

/// A profile with a handle, terms accepted, and a built-in account without a password.
#[derive(Debug, Clone)]
pub struct SeedUser {
    /// Id (`sub`).
    pub id: UserId,
    /// Lower-case email address, verified.
    pub email: String,
    /// A valid handle, unique ignoring case.
    pub handle: String,
    /// Display name.
    pub display_name: String,
    /// Terms version accepted at `created_at`.
    pub terms_version: String,
    /// When the profile was made.
    pub created_at: Timestamp,
}

/// `follower` follows `followee`.
#[derive(Debug, Clone)]
pub struct SeedFollow {
    /// Who follows.
    pub follower: UserId,
    /// Who is followed.
    pub followee: UserId,
    /// Since when.
    pub created_at: Timestamp,
}

/// A text post.
#[derive(Debug, Clone)]
pub struct SeedPost {
    /// UUIDv7 whose time is `created_at`, so ordering by id is ordering by time.
    pub id: String,
    /// Author.
    pub author: UserId,
    /// Text.
    pub text: String,
    /// When.
    pub created_at: Timestamp,
}

/// A scoop with its (ready, image) media row.
#[derive(Debug, Clone)]
pub struct SeedScoop {
    /// UUIDv7.
    pub id: String,
    /// Author, owner of the media.
    pub author: UserId,
    /// Key of the media row created with it.
    pub media_key: String,
    /// When it was posted.
    pub created_at: Timestamp,
    /// When it stops being visible.
    pub expires_at: Timestamp,
}

/// Many rows at a time, one transaction per call.
#[async_trait::async_trait]
pub trait BulkLoad {
    /// Inserts users with their search terms and built-in accounts.
    async fn load_users(&self, users: &[SeedUser]) -> StoreResult<()>;

    /// Inserts follow edges (both users exist; pairs are distinct and not self-follows).
    async fn load_follows(&self, follows: &[SeedFollow]) -> StoreResult<()>;

    /// Inserts posts.
    async fn load_posts(&self, posts: &[SeedPost]) -> StoreResult<()>;

    /// Inserts scoops and their media rows.
    async fn load_scoops(&self, scoops: &[SeedScoop]) -> StoreResult<()>;

    /// Sets every user's follower, following and post counters from the rows.
    async fn recount(&self) -> StoreResult<()>;
}
