//! Home timelines: a list of post ids per user, written when a post is made (fan-out on
//! write), so `GET /feed` reads one user's list instead of pulling every followed
//! author's posts. One partition per user in every backend (a DynamoDB partition key).
//!
//! The rules every backend keeps:
//!
//! - **Authoritative window.** A user's timeline holds every visible post at or above
//!   its *horizon* (`""`: all of them). Pages below the horizon are pulled from the
//!   follow graph as before, so a trimmed or freshly built timeline is never wrong, only
//!   shorter. A user without a timeline (a new deployment, a restore) gets one on first
//!   read ([`TimelineStore::rebuild_timeline`]).
//! - **Filtered at read.** An entry is shown only while the viewer still follows its
//!   author (or is the author), the author is not suspended and the post exists, so
//!   unfollows, blocks, suspensions and deletions are right at once whatever order
//!   writes and fan-outs run in; entries of that kind are cleaned up as they are found
//!   (unfollow and block remove them; trimming drops the rest).
//! - **Follows backfill.** A follow copies the followee's posts above the follower's
//!   horizon (at most 200; beyond them the horizon rises), in the follow's transaction.
//! - **Active readers only.** Timelines exist for users who read their feed: built on
//!   the first read, their `read_at` refreshed at most daily, dropped after
//!   [`TimelineSettings::idle`] without a read. A fan-out writes only to existing
//!   timelines, so a post costs its author's *active* followers, not all of them (on
//!   SQLite every entry is a random page write: 200 followers each with a timeline held
//!   posting to ~90/s in the benchmark, bench/NOTES.md).
//! - **Pulled authors.** An author whose followers reach the fan-out limit is marked
//!   *pulled* (for good: a later drop below the limit would leave gaps) and is no longer
//!   fanned out; pages merge the pulled authors the viewer follows at read time.

use crate::StoreResult;
use scooter_core::post::Post;
use scooter_core::{Timestamp, UserId};

/// Job kind that copies a new post into its author's followers' timelines (payload: the
/// post id).
pub const FAN_OUT_JOB: &str = "timeline_fan_out";

/// How timelines are kept (`TIMELINE_KEEP`, `TIMELINE_FANOUT_MAX_FOLLOWERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineSettings {
    /// Whether `GET /feed` reads timelines (`FEED=timeline`) or pulls from the follow
    /// graph (`FEED=pull`, the default: on a single SQLite writer, fan-out costs far
    /// more than it saves; bench/NOTES.md). The store must be opened to match.
    pub enabled: bool,
    /// Entries a timeline keeps (built, and trimmed back to, by the hourly clean-up).
    pub keep: u32,
    /// Authors with this many followers or more are pulled at read, not fanned out.
    pub max_followers: u64,
    /// A timeline not read for this long is dropped (rebuilt on its next read).
    pub idle: std::time::Duration,
}

impl Default for TimelineSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            keep: 800,
            max_followers: 10_000,
            idle: std::time::Duration::from_secs(14 * 24 * 3600),
        }
    }
}

/// A page of a timeline, and when its owner last read it (as recorded, at most daily).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelinePage {
    /// The posts, newest first.
    pub posts: Vec<Post>,
    /// The recorded last read.
    pub read_at: Timestamp,
}

/// How a fan-out went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// The post was added to this many followers' timelines.
    Written(u64),
    /// The author has too many followers: marked pulled, nothing written.
    Pulled,
    /// The post no longer exists.
    Gone,
}

/// Per-user timelines.
#[async_trait::async_trait]
pub trait TimelineStore: Send + Sync {
    /// A page of `user`'s home feed, newest first, strictly before `before`: the
    /// timeline above its horizon, merged with followed pulled authors, continued below
    /// the horizon from the follow graph. `None` when `user` has no timeline yet.
    async fn timeline_page(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Option<TimelinePage>>;

    /// Records that `user` read their timeline at `now` (callers do it at most daily).
    async fn touch_timeline(&self, user: &UserId, now: Timestamp) -> StoreResult<()>;

    /// Drops the timelines last read before `cutoff`; returns how many.
    async fn expire_timelines(&self, cutoff: Timestamp) -> StoreResult<u64>;

    /// (Re)builds `user`'s timeline from follows and posts with at most `keep` entries.
    /// Safe beside concurrent posts and fan-outs: the timeline is registered first, so a
    /// fan-out that runs during the build writes to it, and the backfill covers what
    /// was posted before.
    async fn rebuild_timeline(&self, user: &UserId, keep: u32, now: Timestamp) -> StoreResult<()>;

    /// Copies `post_id` into the timelines of its author's followers who have one, or
    /// marks the author pulled when they have `max_followers` or more. Idempotent.
    async fn fan_out_post(&self, post_id: &str, max_followers: u64) -> StoreResult<FanOut>;

    /// Drops entries beyond the newest `keep` of every timeline longer than
    /// `keep + slack`, raising those timelines' horizons; returns entries dropped.
    async fn trim_timelines(&self, keep: u32, slack: u32) -> StoreResult<u64>;

    /// Forgets every timeline (they are rebuilt on next read); returns how many.
    async fn drop_timelines(&self) -> StoreResult<u64> {
        self.expire_timelines(Timestamp::from_millis(i64::MAX))
            .await
    }

    /// Ids of users after `after`, in id order: the accounts a full rebuild walks.
    async fn timeline_users(&self, after: Option<&UserId>, limit: u32) -> StoreResult<Vec<UserId>>;
}
