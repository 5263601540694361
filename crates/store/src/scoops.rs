//! Access patterns of scoops. Expiry needs no clean-up to take effect: every read
//! takes `now` and sees only live scoops; a purge job (queued with the scoop, due when
//! it expires) deletes the rows and the media afterwards.

use crate::StoreResult;
use scooter_core::scoop::Scoop;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};

/// Job kind that deletes an expired scoop (payload: the scoop id).
pub const PURGE_SCOOP_JOB: &str = "purge_scoop";

/// Most live scoops returned per author: a bound on any one read, far above what a
/// rider posts in a day.
pub const SCOOPS_PER_AUTHOR: u32 = 100;

/// A live scoop and whether the viewer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenScoop {
    /// The scoop.
    pub scoop: Scoop,
    /// The viewer has viewed it.
    pub seen: bool,
}

/// Position of an author in the scoops feed: group (0 me, 1 unseen, 2 all seen), newest
/// scoop time (negated, so larger is older), author id.
pub type ScoopFeedKey = (u8, i64, String);

/// One author's live scoops in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorScoops {
    /// Where the author sits in the feed.
    pub key: ScoopFeedKey,
    /// The author.
    pub author: UserId,
    /// Their live scoops, oldest first.
    pub scoops: Vec<SeenScoop>,
}

/// Scoops.
#[async_trait::async_trait]
pub trait ScoopStore: Send + Sync {
    /// Creates a scoop and queues its purge for when it expires.
    async fn create_scoop(&self, scoop: Scoop) -> StoreResult<()>;

    /// One scoop, if live at `now`.
    async fn get_scoop(&self, id: &str, now: Timestamp) -> StoreResult<Option<Scoop>>;

    /// One scoop as `viewer` may see it, with their seen flag: `None` when it is not live
    /// at `now`, or its author is suspended or a block stands between the two (the
    /// author always sees their own). One read for the single-scoop routes.
    async fn visible_scoop(
        &self,
        id: &str,
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<Option<SeenScoop>>;

    /// Deletes a scoop with its views, marks its media removed and queues the file
    /// deletion. `false` if there was none.
    async fn delete_scoop(&self, id: &str) -> StoreResult<bool>;

    /// An author's scoops live at `now`, oldest first, with `viewer`'s seen flags.
    async fn live_scoops_of(
        &self,
        author: &UserId,
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<Vec<SeenScoop>>;

    /// Records that `viewer` saw a live scoop (once per viewer); counted unless the viewer
    /// is the author. `false` when the scoop is gone.
    async fn record_view(&self, id: &str, viewer: &UserId, now: Timestamp) -> StoreResult<bool>;

    /// Who viewed a scoop, newest first, after `after`: suspended viewers and viewers
    /// with a block either way with `owner` left out.
    async fn list_viewers(
        &self,
        id: &str,
        owner: &UserId,
        after: Option<&(i64, String)>,
        limit: u32,
    ) -> StoreResult<Vec<(User, Timestamp)>>;

    /// The scoops feed of `viewer`: themselves and everyone they follow with live
    /// scoops, suspended authors left out, ordered by [`ScoopFeedKey`], after `after`.
    async fn scoop_feed(
        &self,
        viewer: &UserId,
        now: Timestamp,
        after: Option<&ScoopFeedKey>,
        limit: u32,
    ) -> StoreResult<Vec<AuthorScoops>>;

    /// Deletes a scoop if it expired by `now` (the purge job); `false` otherwise.
    async fn purge_expired_scoop(&self, id: &str, now: Timestamp) -> StoreResult<bool>;
}
