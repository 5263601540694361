//! Access patterns of the follow graph and blocks. Counters (`followers_count`,
//! `following_count`) change in the same transaction as the edges they count, and
//! count only edges whose other end is not suspended.

use crate::StoreResult;
use scooter_core::notification::NewNotification;
use scooter_core::social::Relationship;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};

/// Position in a newest-first list of edges: when the edge was made, then the user id.
pub type EdgeKey = (i64, String);

/// A user in an edge list, with the edge's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Where it sits in the list.
    pub key: EdgeKey,
    /// The user at the other end.
    pub user: User,
}

/// The result of a follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowOutcome {
    /// A new follow edge.
    Followed,
    /// It existed already (follow is idempotent).
    AlreadyFollowing,
    /// A block stands between the two; nothing was written. Checked in the same
    /// transaction so a block racing a follow can never leave both edges.
    Blocked,
    /// The user to follow does not exist or is suspended.
    Unavailable,
}

/// The follow graph and blocks.
#[async_trait::async_trait]
pub trait SocialStore: Send + Sync {
    /// How `viewer` and `other` stand to each other.
    async fn relationship(&self, viewer: &UserId, other: &UserId) -> StoreResult<Relationship>;

    /// Those of `others` with a block either way with `user`, in one call.
    async fn blocked_either_way_among(
        &self,
        user: &UserId,
        others: &[UserId],
    ) -> StoreResult<Vec<UserId>>;

    /// `follower` follows `followee`, writing `notify` (and its push job) with a new edge.
    async fn follow(
        &self,
        follower: &UserId,
        followee: &UserId,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<FollowOutcome>;

    /// Removes the follow edge; `false` if there was none.
    async fn unfollow(&self, follower: &UserId, followee: &UserId) -> StoreResult<bool>;

    /// `blocker` blocks `blocked`, removing follow edges in both directions. `false` if
    /// the block existed already.
    async fn block(&self, blocker: &UserId, blocked: &UserId, at: Timestamp) -> StoreResult<bool>;

    /// Removes the block; follows are not restored. `false` if there was none.
    async fn unblock(&self, blocker: &UserId, blocked: &UserId) -> StoreResult<bool>;

    /// Users `blocker` blocks, newest first, after `after`; suspended users left out.
    async fn list_blocked(
        &self,
        blocker: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>>;

    /// Followers of `user`, newest first, as `viewer` may see them: suspended users
    /// and users with a block either way with `viewer` left out.
    async fn list_followers(
        &self,
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>>;

    /// Users `user` follows, with the same rules as [`SocialStore::list_followers`].
    async fn list_following(
        &self,
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>>;
}
