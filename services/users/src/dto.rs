//! Request and response bodies of the users service. Requests refuse unknown fields,
//! so nobody can set `isAdmin`, `id`, `email` or a counter through them.

use scooter_core::Timestamp;
use scooter_core::invite::Invite;
use scooter_core::policy::AccountPolicy;
use scooter_core::user::{NotificationPrefs, Onboarding, User};
use scooter_http::SuspensionView;
use scooter_http::views::double_option;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "sam@example.com", "password": "correct horse battery"}))]
pub struct SignupRequest {
    /// Email address (the account's login): a local part, `@`, and a dotted domain; at
    /// most 254 characters; letter case is ignored.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s@\x00-\x1F\x7F-\x9F]{1,64}@[^\s@.\x00-\x1F\x7F-\x9F]+(\.[^\s@.\x00-\x1F\x7F-\x9F]+)+\s*$"
    )]
    pub email: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// An invite code, redeemed at sign-up (10 characters; case and dashes are ignored).
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789abcdefghjkmnpqrstuvwxyz-]{10,20}$"
    )]
    pub invite_code: Option<String>,
}

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "sam@example.com", "password": "correct horse battery"}))]
pub struct LoginRequest {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"refreshToken": "sbr_4bXk2n9yQ0l1-6pVd8sR3wZt7uHjE5cM"}))]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh.
    pub refresh_token: String,
}

/// Tokens of a session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"accessToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2ln", "refreshToken": "sbr_4bXk2n9yQ0l1-6pVd8sR3wZt7uHjE5cM", "expiresIn": 900, "tokenType": "Bearer"}))]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token to get the next access token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
}

/// The caller's own profile (`GET /me`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    /// Opaque user id.
    pub id: String,
    /// Public handle; `null` until chosen.
    pub handle: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar thumbnail URL.
    pub avatar_url: Option<String>,
    /// The avatar at full size.
    pub avatar_full_url: Option<String>,
    /// Email address.
    pub email: String,
    /// About me.
    pub bio: Option<String>,
    /// When the profile was created.
    pub created_at: Timestamp,
    /// When terms were last accepted.
    pub terms_accepted_at: Option<Timestamp>,
    /// Which terms version was accepted.
    pub terms_version: Option<String>,
    /// Followers.
    pub followers_count: i64,
    /// Accounts followed.
    pub following_count: i64,
    /// Posts.
    pub posts_count: i64,
    /// Whether the caller is an administrator.
    pub is_admin: bool,
    /// Notification settings.
    pub notification_preferences: NotificationPrefs,
    /// What onboarding still asks.
    pub onboarding: Onboarding,
    /// Set while a moderator has suspended the account: it can read but not write.
    pub suspension: Option<SuspensionView>,
}

impl MeResponse {
    /// Renders a user for themselves; `is_admin` as the request's identity found it
    /// (under Cognito, group membership is in the token, not the profile).
    pub fn new(u: &User, policy: &AccountPolicy, is_admin: bool) -> Self {
        let summary = scooter_http::UserSummary::from(u);
        let mut onboarding = u.onboarding(policy);
        // Admins are never held back by the invite rule (see `Identity`).
        onboarding.needs_invite &= !is_admin;
        Self {
            id: summary.id,
            handle: summary.handle,
            display_name: summary.display_name,
            avatar_url: summary.avatar_url,
            avatar_full_url: summary.avatar_full_url,
            email: u.email.to_string(),
            bio: u.bio.clone(),
            created_at: u.created_at,
            terms_accepted_at: u.terms.as_ref().map(|(_, at)| *at),
            terms_version: u.terms.as_ref().map(|(v, _)| v.clone()),
            followers_count: u.followers_count,
            following_count: u.following_count,
            posts_count: u.posts_count,
            is_admin,
            notification_preferences: u.prefs,
            onboarding,
            suspension: u.suspension.as_ref().map(SuspensionView::from),
        }
    }
}

/// `PATCH /me`: absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchMeRequest {
    /// 1–50 characters, one line; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Up to 300 characters; `null` or empty clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub bio: Option<Option<String>>,
}

/// `PATCH /me/notification-preferences`: absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchPreferencesRequest {
    /// Someone followed me.
    pub follow: Option<bool>,
    /// Someone commented on my post.
    pub comment: Option<bool>,
    /// Someone reacted to my post.
    pub reaction: Option<bool>,
    /// Someone mentioned me.
    pub mention: Option<bool>,
    /// Deliver as push messages too.
    pub push: Option<bool>,
}

impl PatchPreferencesRequest {
    /// The preferences after applying this patch.
    pub fn apply(&self, p: NotificationPrefs) -> NotificationPrefs {
        NotificationPrefs {
            follow: self.follow.unwrap_or(p.follow),
            comment: self.comment.unwrap_or(p.comment),
            reaction: self.reaction.unwrap_or(p.reaction),
            mention: self.mention.unwrap_or(p.mention),
            push: self.push.unwrap_or(p.push),
        }
    }
}

/// `GET /terms`: what `POST /me/accept-terms` expects.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermsResponse {
    /// The version to accept.
    pub version: String,
    /// Where its text is published (`TERMS_URL`); null when the operator set none.
    pub url: Option<String>,
}

/// `POST /me/accept-terms`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptTermsRequest {
    /// The version being accepted; must be the current one.
    pub version: String,
}

/// `POST /username`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"handle": "scooter_sam"}))]
pub struct UsernameRequest {
    /// 3–30 letters (a-z, A-Z), digits and _; the case is kept and shown, uniqueness
    /// ignores it, one leading @ is ignored, and a few words (admin, support, …) are
    /// reserved.
    #[schema(pattern = r"^@?[A-Za-z0-9_]{3,30}$")]
    pub handle: String,
}

/// A place I am signed in (built-in sign-in).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// When it signed in.
    pub created_at: Timestamp,
    /// Its last sign-in or token refresh.
    pub last_used_at: Timestamp,
    /// The app that signed in, as it named itself (`User-Agent`).
    pub client: Option<String>,
    /// Whether this request comes from it.
    pub current: bool,
}

/// `GET /me/sessions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    /// Newest first.
    pub items: Vec<SessionView>,
}

/// `DELETE /me/sessions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsEnded {
    /// How many sessions ended.
    pub ended: u64,
}

/// Query of `GET /username/available`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    /// The handle to check, as typed (one leading `@` is ignored).
    pub handle: String,
}

/// Why a handle cannot be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// Someone else holds it (in any case).
    Taken,
    /// Kept for the service.
    Reserved,
    /// Not 3–30 characters of a-z, 0-9 and _.
    Invalid,
}

/// `GET /username/available`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityResponse {
    /// The handle checked (without `@`, as it would be stored).
    pub handle: String,
    /// Whether `POST /username` would give it to me now.
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<Unavailable>,
}

/// `POST /me/invite/redeem`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedeemRequest {
    /// The invite code (10 characters; case and dashes are ignored).
    #[schema(pattern = r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789abcdefghjkmnpqrstuvwxyz-]{10,20}$")]
    pub code: String,
}

/// One of my invite codes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    /// The code to share.
    pub code: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Whether someone used it.
    pub used: bool,
    /// When it was used.
    pub used_at: Option<Timestamp>,
}

impl From<&Invite> for InviteView {
    fn from(i: &Invite) -> Self {
        Self {
            code: i.code.as_str().to_owned(),
            created_at: i.created_at,
            used: i.used_at.is_some(),
            used_at: i.used_at,
        }
    }
}

/// `GET /me/invite`: all my codes (bounded by the quota, so one page).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteList {
    /// My codes, newest first.
    pub items: Vec<InviteView>,
    /// Always `null`: the list is bounded by the quota.
    pub next_cursor: Option<String>,
    /// Codes I may create in all.
    pub quota: u32,
    /// Codes I may still create.
    pub remaining: u32,
}

/// Query of `GET /search`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Handle prefix or display-name word prefix, 1–50 characters.
    #[param(min_length = 1, max_length = 50, pattern = r"[^\s@]")]
    pub q: String,
    /// Page size: default 20, at most 100.
    #[serde(default, deserialize_with = "scooter_http::paging::documented_size")]
    pub limit: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /me/avatar`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AvatarRequest {
    /// The key of my finished upload from `/avatar-url`.
    pub key: String,
}
