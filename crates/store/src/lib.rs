//! The store traits: one method per use case, shaped by access patterns so that every
//! backend (SQLite, PostgreSQL, DynamoDB) can implement each as one atomic operation
//! with keys and indexes. No driver types appear here; backends translate their own
//! errors into [`StoreError`], and hold no business rules.
//!
//! - [`users`]: profiles, handles, preferences, terms, search, deletion.
//! - [`accounts`]: built-in sign-in: credentials and refresh-token families.
//! - [`invites`]: invite codes.
//! - [`social`]: follows and blocks.
//! - [`moderation`]: reports and suspensions.
//! - [`posts`]: posts, comments, reactions and the feed.
//! - [`notifications`], [`push`], [`jobs`]: notifications, push devices, the job outbox.
//! - [`media`]: uploads and their processing state.
//! - [`scoops`]: 24-hour stories, their views and the scoops feed.
//! - [`timelines`]: home timelines written on post (fan-out on write).
//! - [`bulk`]: many rows at a time, for `scooterbooter seed` only.

pub mod accounts;
pub mod bulk;
pub mod error;
pub mod invites;
pub mod jobs;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod posts;
pub mod push;
pub mod scoops;
pub mod social;
pub mod timelines;
pub mod users;

pub use accounts::{
    AccountStore, Credential, EndSessions, NewRefreshToken, RotateOutcome, SessionInfo,
    SignupOutcome,
};
pub use bulk::BulkLoad;
pub use error::{StoreError, StoreResult};
pub use invites::{CreateInviteOutcome, InviteStore, RedeemOutcome};
pub use jobs::{JobKinds, JobStore};
pub use media::{MediaStore, MediaUpdate};
pub use moderation::{ModerationStore, ReportFilter, ReportOutcome, ResolveOutcome};
pub use notifications::{ListedNotification, NotificationStore};
pub use posts::{
    CommentKey, Created, Earlier, Idempotency, NewPost, PostContext, PostMedia, PostStore,
    ReactionChange, ReactionKey, Toggled,
};
pub use push::PushStore;
pub use scoops::{AuthorScoops, ScoopFeedKey, ScoopStore, SeenScoop};
pub use social::{Edge, EdgeKey, FollowOutcome, SocialStore};
pub use timelines::{FanOut, TimelinePage, TimelineSettings, TimelineStore};
pub use users::{EnsureOutcome, ProfilePatch, SearchHit, SearchKey, UserStore};

/// Everything a backend provides. Services hold an `Arc<dyn Store>` chosen once at start.
#[async_trait::async_trait]
pub trait Store:
    UserStore
    + AccountStore
    + InviteStore
    + SocialStore
    + ModerationStore
    + PostStore
    + NotificationStore
    + PushStore
    + JobStore
    + MediaStore
    + ScoopStore
    + TimelineStore
    + BulkLoad
    + Send
    + Sync
    + 'static
{
    /// A cheap round trip proving the backend answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// The authors, media and `viewer`'s reactions of a page of posts. This default
    /// makes three calls; the SQL backends answer in one statement, since on a page
    /// read the round trips, not the lookups, are the cost.
    async fn post_context(
        &self,
        viewer: &scooter_core::UserId,
        posts: &[scooter_core::post::Post],
    ) -> StoreResult<PostContext> {
        let mut authors: Vec<scooter_core::UserId> =
            posts.iter().map(|p| p.author.clone()).collect();
        authors.sort();
        authors.dedup();
        let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
        Ok(PostContext {
            authors: self.get_users(&authors).await?,
            media: self.media_for_posts(&ids).await?,
            my_reactions: self.my_reactions(viewer, &ids).await?,
        })
    }

    /// Finishes the tail of a use case a crash cut off ([`jobs::STORE_TAIL_JOB`], with
    /// its payload). Idempotent. Backends whose use cases are each one transaction never
    /// queue such a job, so reaching this is a fault.
    async fn resume_tail(&self, payload: &str) -> StoreResult<()> {
        Err(StoreError::Backend(
            format!("this backend queues no tail jobs (payload {payload:?})").into(),
        ))
    }

    /// Capacity units `(read, write)` consumed since start, for a backend billed by
    /// them (DynamoDB); `None` for the others.
    fn consumed_capacity(&self) -> Option<(f64, f64)> {
        None
    }

    /// Closes connections, waiting for statements in flight (on shutdown).
    async fn close(&self);
}
