//! Request and response bodies of the scoops service.

use scooter_core::Timestamp;
use scooter_http::{AttachmentView, UserSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /scoops`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateScoopRequest {
    /// My ready upload with purpose `scoop`.
    pub media_key: String,
    /// What the image or video shows, in words, for screen readers: up to 1,500
    /// characters, newlines allowed, no other control characters; blank or `null` is
    /// none. Returned as `media.alt`.
    #[serde(default)]
    #[schema(max_length = 1500, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$")]
    pub alt: Option<String>,
    /// At most 200 characters, one paragraph or several (newlines, no tabs).
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*$")]
    pub caption: Option<String>,
}

/// A scoop.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScoopView {
    /// Scoop id.
    pub id: String,
    /// Who posted it.
    pub author: UserSummary,
    /// The image or video, with its alt text.
    pub media: AttachmentView,
    /// Optional words.
    pub caption: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// When it vanishes.
    pub expires_at: Timestamp,
    /// Whether I viewed it.
    pub seen: bool,
    /// Viewers other than the author; only for the author, `null` for everyone else.
    pub view_count: Option<i64>,
}

/// One author's live scoops in the feed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScoopAuthorView {
    /// The author.
    pub author: UserSummary,
    /// Their live scoops, oldest first.
    pub scoops: Vec<ScoopView>,
    /// Whether I viewed them all.
    pub all_seen: bool,
}

/// A list that is always one page (an author's live scoops are few).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScoopList {
    /// Live scoops, oldest first.
    pub items: Vec<ScoopView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// Someone who viewed my scoop.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViewerView {
    /// Who.
    pub user: UserSummary,
    /// When.
    pub viewed_at: Timestamp,
}
