//! Request and response bodies of the posts service.

use scooter_core::Timestamp;
use scooter_core::post::{Comment, ReactionCounts, ReactionType};
use scooter_http::{AttachmentView, UserSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /posts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"text": "First ride of the season with @ann", "media": []}))]
pub struct CreatePostRequest {
    /// Up to 2,000 characters, blank only with media; `@handle` mentions are recorded.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub text: String,
    /// My ready uploads (purpose post) to attach, at most 10, in order: each a key, or
    /// a key with its alt text (the two forms mix in one list).
    #[serde(default)]
    pub media: Vec<MediaInput>,
}

/// One medium to attach: an upload's key alone, or `{key, alt}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    untagged,
    expecting = "each media item must be an upload key or an object with `key` and optional `alt`"
)]
pub enum MediaInput {
    /// The key of my ready upload, without alt text.
    Key(String),
    /// The key with alt text.
    WithAlt(MediaWithAlt),
}

impl MediaInput {
    /// The upload's key.
    pub fn key(&self) -> &str {
        match self {
            Self::Key(k) => k,
            Self::WithAlt(m) => &m.key,
        }
    }

    /// The alt text as sent, if any.
    pub fn alt(&self) -> Option<&str> {
        match self {
            Self::Key(_) => None,
            Self::WithAlt(m) => m.alt.as_deref(),
        }
    }
}

/// An upload to attach, with what it shows in words for screen readers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"key": "post/0199d6a4-7b1e-7c3a-9f00-1a2b3c4d5e6f.jpg", "alt": "Two scooters parked by the harbour at sunset"}))]
pub struct MediaWithAlt {
    /// The key of my ready upload (purpose post).
    pub key: String,
    /// Alt text: up to 1,500 characters, newlines allowed, no other control characters;
    /// blank or `null` is none.
    #[serde(default)]
    #[schema(max_length = 1500, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$")]
    pub alt: Option<String>,
}

/// A post as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    /// Post id.
    pub id: String,
    /// Who wrote it.
    pub author: UserSummary,
    /// The text.
    pub text: String,
    /// Attached media, each with its alt text.
    pub media: Vec<AttachmentView>,
    /// When.
    pub created_at: Timestamp,
    /// Comments on it.
    pub comment_count: i64,
    /// Reactions by type.
    pub reaction_counts: ReactionCounts,
    /// The caller's own reactions on it.
    pub my_reactions: Vec<ReactionType>,
}

/// `POST /comments/{postId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"text": "Nice route! Where did you start?"}))]
pub struct CommentRequest {
    /// 1–1,000 characters, not all blank.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub text: String,
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    /// Comment id.
    pub id: String,
    /// The post it is on.
    pub post_id: String,
    /// Who wrote it.
    pub author: UserSummary,
    /// The text.
    pub text: String,
    /// When.
    pub created_at: Timestamp,
}

impl CommentView {
    /// Renders a comment with its author.
    pub fn new(c: &Comment, author: UserSummary) -> Self {
        Self {
            id: c.id.clone(),
            post_id: c.post_id.clone(),
            author,
            text: c.text.clone(),
            created_at: c.created_at,
        }
    }
}

/// `POST /reactions/{postId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"type": "fire"}))]
pub struct ReactionRequest {
    /// like, fire, scooter, laugh, wow or sad.
    #[serde(rename = "type")]
    pub kind: ReactionType,
}

/// The result of a reaction toggle.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToggleResponse {
    /// Whether I now have this reaction on the post.
    pub reacted: bool,
    /// The post's counts after the toggle.
    pub counts: ReactionCounts,
}

/// One user's reaction.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    /// Who.
    pub user: UserSummary,
    /// Which.
    #[serde(rename = "type")]
    pub kind: ReactionType,
    /// When.
    pub created_at: Timestamp,
}
