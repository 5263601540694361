//! Request and response bodies of the social service. Requests refuse unknown fields;
//! responses are built field by field, so no email or internal flag can leak.

use scooter_core::Timestamp;
use scooter_core::UserId;
use scooter_core::report::{ModerationAction, Report, ReportReason, ReportStatus, ReportTarget};
use scooter_core::social::Relationship;
use scooter_core::user::User;
use scooter_http::{SuspensionView, UserSummary};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Names the other user of a follow, unfollow, block or unblock: exactly one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"handle": "rider_jo"}), min_properties = 1, max_properties = 1)]
pub struct TargetRequest {
    /// The user's id.
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub user_id: Option<String>,
    /// The user's handle.
    #[serde(default)]
    #[schema(nullable = false, pattern = r"^@?[A-Za-z0-9_]{3,30}$")]
    pub handle: Option<String>,
}

/// The state between me and another user after a follow, unfollow, block or unblock.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipState {
    /// The other user's id.
    pub user_id: String,
    /// I follow them.
    pub following: bool,
    /// They follow me.
    pub follows_you: bool,
    /// I block them.
    pub blocked: bool,
}

impl RelationshipState {
    /// From a relationship as seen by me.
    pub fn new(other: &User, rel: &Relationship) -> Self {
        Self {
            user_id: other.id.to_string(),
            following: rel.following,
            follows_you: rel.followed_by,
            blocked: rel.blocking,
        }
    }
}

/// A user's public profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// Opaque user id.
    pub id: String,
    /// Public handle.
    pub handle: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar thumbnail URL.
    pub avatar_url: Option<String>,
    /// The avatar at full size.
    pub avatar_full_url: Option<String>,
    /// About them.
    pub bio: Option<String>,
    /// When they joined.
    pub created_at: Timestamp,
    /// Followers.
    pub followers_count: i64,
    /// Accounts followed.
    pub following_count: i64,
    /// Posts.
    pub posts_count: i64,
    /// I follow them.
    pub is_following: bool,
    /// They follow me.
    pub follows_you: bool,
}

impl ProfileView {
    /// Renders a visible user for the viewer.
    pub fn new(u: &User, rel: &Relationship) -> Self {
        let summary = UserSummary::from(u);
        Self {
            id: summary.id,
            handle: summary.handle,
            display_name: summary.display_name,
            avatar_url: summary.avatar_url,
            avatar_full_url: summary.avatar_full_url,
            bio: u.bio.clone(),
            created_at: u.created_at,
            followers_count: u.followers_count,
            following_count: u.following_count,
            posts_count: u.posts_count,
            is_following: rel.following,
            follows_you: rel.followed_by,
        }
    }
}

/// `POST /report`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"targetType": "post", "targetId": "0199d6a4-5b7e-7c3a-9f1e-2d4b6a8c0e12", "reason": "spam", "details": "The same link in every comment"}))]
pub struct ReportRequest {
    /// What kind of thing is reported.
    pub target_type: ReportTarget,
    /// Its id.
    pub target_id: String,
    /// Why.
    pub reason: ReportReason,
    /// Anything moderators should know (at most 1,000 characters).
    #[serde(default)]
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub details: Option<String>,
}

/// A filed report, as its reporter sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportReceipt {
    /// The report's id (the same when a report is repeated).
    pub id: String,
    /// `open` until a moderator acts.
    pub status: ReportStatus,
}

/// Query of `GET /admin/reports`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportListQuery {
    /// `open` (default) or `resolved`.
    pub status: Option<ReportStatus>,
    /// Page size: default 20, at most 100.
    #[serde(default, deserialize_with = "scooter_http::paging::documented_size")]
    pub limit: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A moderator's decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolutionView {
    /// What was done.
    pub action: ModerationAction,
    /// The moderator's note.
    pub note: Option<String>,
    /// When.
    pub resolved_at: Timestamp,
    /// Which moderator.
    pub resolved_by: Option<UserSummary>,
}

/// What a report is about, summarised for moderators.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportedContent {
    /// The account reported, or the author of the reported content; `null` once deleted.
    pub user: Option<UserSummary>,
    /// Whether that account is suspended.
    pub suspended: bool,
}

/// A report in the moderation queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminReportView {
    /// Report id.
    pub id: String,
    /// What kind of thing.
    pub target_type: ReportTarget,
    /// Its id.
    pub target_id: String,
    /// Why.
    pub reason: ReportReason,
    /// The reporter's words.
    pub details: Option<String>,
    /// Open or resolved.
    pub status: ReportStatus,
    /// When filed.
    pub created_at: Timestamp,
    /// Who filed it; `null` once their account is deleted.
    pub reporter: Option<UserSummary>,
    /// What it is about.
    pub target: ReportedContent,
    /// The decision, once made.
    pub resolution: Option<ResolutionView>,
}

impl AdminReportView {
    /// Renders a report with the users it mentions.
    pub fn new(r: &Report, users: &HashMap<UserId, User>) -> Self {
        let summary = |id: &Option<UserId>| {
            id.as_ref()
                .and_then(|id| users.get(id))
                .map(UserSummary::from)
        };
        let target_user = r.target_user.as_ref().and_then(|id| users.get(id));
        Self {
            id: r.id.clone(),
            target_type: r.target_type,
            target_id: r.target_id.clone(),
            reason: r.reason,
            details: r.details.clone(),
            status: r.status(),
            created_at: r.created_at,
            reporter: summary(&r.reporter),
            target: ReportedContent {
                user: target_user.map(UserSummary::from),
                suspended: target_user.is_some_and(User::is_suspended),
            },
            resolution: r.resolution.as_ref().map(|res| ResolutionView {
                action: res.action,
                note: res.note.clone(),
                resolved_at: res.at,
                resolved_by: summary(&res.by),
            }),
        }
    }
}

/// `POST /admin/reports/{id}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveRequest {
    /// What to do.
    pub action: ModerationAction,
    /// A note for the record (and the suspension reason shown to the user), at most
    /// 1,000 characters.
    #[serde(default)]
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub note: Option<String>,
}

/// `POST /admin/users/{id}/suspend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuspendRequest {
    /// Shown to the suspended user (1–1,000 characters).
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

/// A user as moderators see them after a suspension change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModeratedUser {
    /// The user.
    pub user: UserSummary,
    /// Set while suspended.
    pub suspension: Option<SuspensionView>,
}

impl From<&User> for ModeratedUser {
    fn from(u: &User) -> Self {
        Self {
            user: UserSummary::from(u),
            suspension: u.suspension.as_ref().map(SuspensionView::from),
        }
    }
}
