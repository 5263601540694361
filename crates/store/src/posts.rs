//! Access patterns of posts, comments and reactions. Counters (`posts_count` on the
//! author, `comment_count` and reaction counts on the post) change in the same
//! transaction as the rows they count.

use crate::StoreResult;
use scooter_core::media::Media;
use scooter_core::notification::NewNotification;
use scooter_core::post::{Attachment, Comment, Post, Reaction, ReactionCounts, ReactionType};
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};

/// What a page of posts shows beside them, read in one call: their authors, their
/// media and the viewer's own reactions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostContext {
    /// The posts' authors that exist, in no particular order.
    pub authors: Vec<User>,
    /// The posts' media, in each post's order.
    pub media: Vec<PostMedia>,
    /// `(post id, reaction)` for the viewer's reactions on these posts.
    pub my_reactions: Vec<(String, ReactionType)>,
}

/// An upload as attached to a post: the upload, and the alt text its author gave it
/// there (a property of the attachment, not of the upload).
#[derive(Debug, Clone, PartialEq)]
pub struct PostMedia {
    /// The post.
    pub post_id: String,
    /// The upload.
    pub media: Media,
    /// What it shows, in words, for screen readers.
    pub alt: Option<String>,
}

/// A new post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    /// UUIDv7 chosen by the caller.
    pub id: String,
    /// Author.
    pub author: UserId,
    /// Text.
    pub text: String,
    /// Users mentioned (already resolved from handles).
    pub mentions: Vec<UserId>,
    /// Attached media with their alt text, in order (checked by the domain: mine, ready,
    /// purpose post).
    pub media: Vec<Attachment>,
    /// When.
    pub created_at: Timestamp,
}

/// An `Idempotency-Key` and a digest of the request that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idempotency<'a> {
    /// The client's key.
    pub key: &'a str,
    /// A digest of what the request asked for, so that the key sent again with a
    /// different request is refused instead of answered with the first result.
    pub fingerprint: &'a str,
}

/// What an idempotency key was used for before, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// The same request: the id of what it made.
    Same(String),
    /// A different request.
    Different,
}

impl Earlier {
    /// The outcome of a create that found this earlier use.
    pub fn into_created<T>(self) -> Created<T> {
        match self {
            Self::Same(id) => Created::Replayed(id),
            Self::Different => Created::KeyReused,
        }
    }

    /// Reads an earlier use: its resource and fingerprint (none on keys stored before
    /// fingerprints were, which replay as before).
    pub fn of(resource: String, stored: Option<&str>, presented: &str) -> Self {
        match stored {
            Some(f) if f != presented => Self::Different,
            _ => Self::Same(resource),
        }
    }
}

/// The result of a create with an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created<T> {
    /// Newly created.
    New(T),
    /// The key was used before by the same user for the same request: the id of what
    /// it created then.
    Replayed(String),
    /// The key was used before by the same user for a different request: nothing made.
    KeyReused,
}

/// Position in a list of comments: the comment id (UUIDv7, oldest first).
pub type CommentKey = String;
/// Position in a list of reactions (newest first): time, user id, type.
pub type ReactionKey = (i64, String, String);

/// The outcome of a reaction toggle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toggled {
    /// Whether the caller now has this reaction on the post.
    pub reacted: bool,
    /// The post's counts after the toggle.
    pub counts: ReactionCounts,
}

/// What a reaction request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionChange {
    /// Add it if I have not reacted so, remove it if I have (the original API's POST).
    Toggle,
    /// Have it (idempotent: a retry changes nothing).
    Add,
    /// Not have it (idempotent).
    Remove,
}

/// Posts, comments and reactions.
#[async_trait::async_trait]
pub trait PostStore: Send + Sync {
    /// Creates a post (and its mention entities), counting it on the author. With a key
    /// already used by the same author, creates nothing and returns the earlier post's id.
    /// `notify` (mentions) is written with the post, with push jobs.
    async fn create_post(
        &self,
        post: NewPost,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Created<Post>>;

    /// One post.
    async fn get_post(&self, id: &str) -> StoreResult<Option<Post>>;

    /// Deletes a post with its comments, reactions and mentions, and queues the deletion
    /// of its media files; `false` if none.
    async fn delete_post(&self, id: &str) -> StoreResult<bool>;

    /// The home feed: `user`'s own posts and those of everyone they follow, newest first,
    /// before the post id `before`, authors suspended left out. The cost of a page is
    /// bounded by (accounts followed × limit) index entries, whatever the table size.
    async fn home_feed(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>>;

    /// One author's posts, newest first, before the post id `before`.
    async fn user_posts(
        &self,
        author: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>>;

    /// Adds a comment, counting it on the post; `None` when the post does not exist.
    /// An idempotency key works as in [`PostStore::create_post`].
    async fn add_comment(
        &self,
        comment: Comment,
        mentions: Vec<UserId>,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Option<Created<Comment>>>;

    /// A comment by its id alone (reports name comments by id).
    async fn comment_by_id(&self, comment_id: &str) -> StoreResult<Option<Comment>>;

    /// One comment of a post.
    async fn get_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<Option<Comment>>;

    /// Deletes a comment, correcting the post's count; `false` if none.
    async fn delete_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<bool>;

    /// Comments of a post, oldest first, after `after`, without those whose author is
    /// suspended or has a block either way with `viewer`.
    async fn list_comments(
        &self,
        post_id: &str,
        viewer: &UserId,
        after: Option<&CommentKey>,
        limit: u32,
    ) -> StoreResult<Vec<Comment>>;

    /// Changes `user`'s reaction of `kind` on a post; `None` when the post does not
    /// exist. `notify` is written only when the reaction is added (and only once per
    /// dedupe key, so taking it back and adding it again does not notify twice).
    async fn react(
        &self,
        post_id: &str,
        user: &UserId,
        kind: ReactionType,
        change: ReactionChange,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<Option<Toggled>>;

    /// [`PostStore::react`] with [`ReactionChange::Toggle`].
    async fn toggle_reaction(
        &self,
        post_id: &str,
        user: &UserId,
        kind: ReactionType,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<Option<Toggled>> {
        self.react(post_id, user, kind, ReactionChange::Toggle, at, notify)
            .await
    }

    /// Reactions on a post, newest first, with the same hiding rule as comments.
    async fn list_reactions(
        &self,
        post_id: &str,
        viewer: &UserId,
        after: Option<&ReactionKey>,
        limit: u32,
    ) -> StoreResult<Vec<Reaction>>;

    /// `user`'s reactions on each of these posts, in one round trip.
    async fn my_reactions(
        &self,
        user: &UserId,
        post_ids: &[String],
    ) -> StoreResult<Vec<(String, ReactionType)>>;
}
