//! Readers from rows to domain records, shared by the SQL backends, with the column
//! lists each reader expects in the `SELECT`.

use crate::Get;
use scooter_core::media::{Media, MediaKind, MediaPurpose, MediaStatus};
use scooter_core::notification::{Job, Notification, NotificationType};
use scooter_core::post::{Comment, Post, Reaction, ReactionCounts, ReactionType};
use scooter_core::report::{ModerationAction, Report, ReportReason, ReportTarget, Resolution};
use scooter_core::scoop::Scoop;
use scooter_core::user::{NotificationPrefs, Suspension, User};
use scooter_core::{Email, Handle, Timestamp, UserId};
use scooter_store::{StoreError, StoreResult};

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} is malformed").into())
}

fn user_id(s: String) -> StoreResult<UserId> {
    UserId::parse(&s).ok_or_else(|| bad("user id"))
}

fn opt_user_id(s: Option<String>) -> StoreResult<Option<UserId>> {
    s.map(user_id).transpose()
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_millis)
}

/// The columns [`user`] reads, for `SELECT` lists.
pub const USER_COLUMNS: &str = "users.id, users.email, users.email_verified, users.handle, \
     users.display_name, users.bio, users.avatar_key, users.created_at, users.terms_version, \
     users.terms_accepted_at, users.invited_at, users.pref_follow, users.pref_comment, \
     users.pref_reaction, users.pref_mention, users.pref_push, users.followers_count, \
     users.following_count, users.posts_count, users.suspended_at, users.suspension_reason";

/// The same columns unqualified, for `RETURNING`.
pub const USER_RETURNING: &str = "id, email, email_verified, handle, display_name, bio, \
     avatar_key, created_at, terms_version, terms_accepted_at, invited_at, pref_follow, \
     pref_comment, pref_reaction, pref_mention, pref_push, followers_count, following_count, \
     posts_count, suspended_at, suspension_reason";

/// Reads a user from a row selected with [`USER_COLUMNS`].
pub fn user(row: &impl Get) -> StoreResult<User> {
    let terms = match (
        row.opt_text("terms_version")?,
        ts(row.opt_int("terms_accepted_at")?),
    ) {
        (Some(v), Some(at)) => Some((v, at)),
        _ => None,
    };
    let suspension = match ts(row.opt_int("suspended_at")?) {
        Some(at) => Some(Suspension {
            reason: row.opt_text("suspension_reason")?.unwrap_or_default(),
            at,
        }),
        None => None,
    };
    Ok(User {
        id: user_id(row.text("id")?)?,
        email: Email::from_stored(row.text("email")?),
        email_verified: row.flag("email_verified")?,
        handle: row.opt_text("handle")?.map(Handle::from_stored),
        display_name: row.opt_text("display_name")?,
        bio: row.opt_text("bio")?,
        avatar_key: row.opt_text("avatar_key")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        terms,
        invited_at: ts(row.opt_int("invited_at")?),
        prefs: NotificationPrefs {
            follow: row.flag("pref_follow")?,
            comment: row.flag("pref_comment")?,
            reaction: row.flag("pref_reaction")?,
            mention: row.flag("pref_mention")?,
            push: row.flag("pref_push")?,
        },
        followers_count: row.int("followers_count")?,
        following_count: row.int("following_count")?,
        posts_count: row.int("posts_count")?,
        suspension,
    })
}

/// The columns [`post`] reads.
pub const POST_COLUMNS: &str = "posts.id, posts.author_id, posts.text, posts.created_at, posts.comment_count, \
     posts.like_count, posts.fire_count, posts.scooter_count, posts.laugh_count, posts.wow_count, posts.sad_count";

/// Reads a post.
pub fn post(row: &impl Get) -> StoreResult<Post> {
    Ok(Post {
        id: row.text("id")?,
        author: user_id(row.text("author_id")?)?,
        text: row.text("text")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        comment_count: row.int("comment_count")?,
        reactions: ReactionCounts {
            like: row.int("like_count")?,
            fire: row.int("fire_count")?,
            scooter: row.int("scooter_count")?,
            laugh: row.int("laugh_count")?,
            wow: row.int("wow_count")?,
            sad: row.int("sad_count")?,
        },
    })
}

/// The columns [`comment`] reads.
pub const COMMENT_COLUMNS: &str =
    "comments.id, comments.post_id, comments.author_id, comments.text, comments.created_at";

/// Reads a comment.
pub fn comment(row: &impl Get) -> StoreResult<Comment> {
    Ok(Comment {
        id: row.text("id")?,
        post_id: row.text("post_id")?,
        author: user_id(row.text("author_id")?)?,
        text: row.text("text")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
    })
}

/// Reads a reaction (`user_id`, `type`, `created_at`).
pub fn reaction(row: &impl Get) -> StoreResult<Reaction> {
    Ok(Reaction {
        user: user_id(row.text("user_id")?)?,
        kind: ReactionType::from_stored(&row.text("type")?).ok_or_else(|| bad("reaction type"))?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
    })
}

/// The columns [`report`] reads.
pub const REPORT_COLUMNS: &str = "id, reporter_id, target_type, target_id, target_user_id, reason, details, \
     created_at, resolved_at, resolved_by, resolution_action, resolution_note";

/// Reads a report.
pub fn report(row: &impl Get) -> StoreResult<Report> {
    let resolution = match row.opt_int("resolved_at")? {
        None => None,
        Some(at) => {
            let action = row
                .opt_text("resolution_action")?
                .ok_or_else(|| bad("resolution"))?;
            Some(Resolution {
                action: ModerationAction::from_stored(&action).ok_or_else(|| bad("resolution"))?,
                note: row.opt_text("resolution_note")?,
                by: opt_user_id(row.opt_text("resolved_by")?)?,
                at: Timestamp::from_millis(at),
            })
        }
    };
    Ok(Report {
        id: row.text("id")?,
        reporter: opt_user_id(row.opt_text("reporter_id")?)?,
        target_type: ReportTarget::from_stored(&row.text("target_type")?)
            .ok_or_else(|| bad("report target"))?,
        target_id: row.text("target_id")?,
        target_user: opt_user_id(row.opt_text("target_user_id")?)?,
        reason: ReportReason::from_stored(&row.text("reason")?)
            .ok_or_else(|| bad("report reason"))?,
        details: row.opt_text("details")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        resolution,
    })
}

/// The columns [`media`] reads.
pub const MEDIA_COLUMNS: &str = "media.key, media.owner_id, media.purpose, media.kind, media.content_type, media.size, \
     media.status, media.width, media.height, media.duration_ms, media.thumb_key, media.blurhash, media.error, media.created_at";

/// Reads an upload.
pub fn media(row: &impl Get) -> StoreResult<Media> {
    let small = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
    Ok(Media {
        key: row.text("key")?,
        owner: user_id(row.text("owner_id")?)?,
        purpose: MediaPurpose::from_stored(&row.text("purpose")?)
            .ok_or_else(|| bad("media purpose"))?,
        kind: MediaKind::from_stored(&row.text("kind")?).ok_or_else(|| bad("media kind"))?,
        content_type: row.text("content_type")?,
        size: u64::try_from(row.int("size")?).map_err(|_| bad("media size"))?,
        status: MediaStatus::from_stored(&row.text("status")?)
            .ok_or_else(|| bad("media status"))?,
        width: small(row.opt_int("width")?),
        height: small(row.opt_int("height")?),
        duration_ms: row
            .opt_int("duration_ms")?
            .and_then(|v| u64::try_from(v).ok()),
        thumb_key: row.opt_text("thumb_key")?,
        blurhash: row.opt_text("blurhash")?,
        error: row.opt_text("error")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
    })
}

/// The columns [`notification`] reads (the table aliased `n`).
pub const NOTIFICATION_COLUMNS: &str = "n.id, n.recipient_id, n.kind, n.actor_id, n.post_id, n.comment_id, n.reaction, \
     n.created_at, n.read_at, n.pushed_at";

/// Reads a notification.
pub fn notification(row: &impl Get) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.text("id")?,
        recipient: user_id(row.text("recipient_id")?)?,
        kind: NotificationType::from_stored(&row.text("kind")?)
            .ok_or_else(|| bad("notification kind"))?,
        actor: user_id(row.text("actor_id")?)?,
        post_id: row.opt_text("post_id")?,
        comment_id: row.opt_text("comment_id")?,
        reaction: row
            .opt_text("reaction")?
            .and_then(|r| ReactionType::from_stored(&r)),
        created_at: Timestamp::from_millis(row.int("created_at")?),
        read_at: ts(row.opt_int("read_at")?),
        pushed_at: ts(row.opt_int("pushed_at")?),
    })
}

/// The columns [`job`] reads.
pub const JOB_COLUMNS: &str = "id, kind, payload, attempts, last_error, created_at";

/// Reads a job.
pub fn job(row: &impl Get) -> StoreResult<Job> {
    Ok(Job {
        id: row.text("id")?,
        kind: row.text("kind")?,
        payload: row.text("payload")?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        last_error: row.opt_text("last_error")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
    })
}

/// The columns [`scoop`] reads.
pub const SCOOP_COLUMNS: &str = "scoops.id, scoops.author_id, scoops.media_key, scoops.media_alt, scoops.caption, \
     scoops.created_at, scoops.expires_at, scoops.view_count";

/// Reads a scoop.
pub fn scoop(row: &impl Get) -> StoreResult<Scoop> {
    Ok(Scoop {
        id: row.text("id")?,
        author: user_id(row.text("author_id")?)?,
        media_key: row.text("media_key")?,
        media_alt: row.opt_text("media_alt")?,
        caption: row.opt_text("caption")?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        expires_at: Timestamp::from_millis(row.int("expires_at")?),
        view_count: row.int("view_count")?,
    })
}
