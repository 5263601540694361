//! Row-to-domain mapping shared by the modules of this backend.

use scooter_core::user::{NotificationPrefs, Suspension, User};
use scooter_core::{Email, Handle, Timestamp, UserId};
use scooter_store::{StoreError, StoreResult};
use sqlx::Row;
use sqlx::postgres::PgRow;

/// The columns [`user_from_row`] reads, in a form for `SELECT`/`RETURNING` lists.
pub(crate) const USER_COLUMNS: &str = "users.id, users.email, users.email_verified, users.handle, \
     users.display_name, users.bio, users.avatar_key, users.created_at, users.terms_version, \
     users.terms_accepted_at, users.invited_at, users.pref_follow, users.pref_comment, \
     users.pref_reaction, users.pref_mention, users.pref_push, users.followers_count, \
     users.following_count, users.posts_count, users.suspended_at, users.suspension_reason";

/// The same columns unqualified, for `RETURNING` (which cannot name the table).
pub(crate) const USER_RETURNING: &str = "id, email, email_verified, handle, display_name, bio, \
     avatar_key, created_at, terms_version, terms_accepted_at, invited_at, pref_follow, \
     pref_comment, pref_reaction, pref_mention, pref_push, followers_count, following_count, \
     posts_count, suspended_at, suspension_reason";

fn corrupt(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Reads a user from a row selected with [`USER_COLUMNS`].
pub(crate) fn user_from_row(row: &PgRow) -> StoreResult<User> {
    let get_str = |c: &str| row.try_get::<String, _>(c).map_err(corrupt);
    let get_opt = |c: &str| row.try_get::<Option<String>, _>(c).map_err(corrupt);
    let get_i64 = |c: &str| row.try_get::<i64, _>(c).map_err(corrupt);
    let get_bool = |c: &str| row.try_get::<bool, _>(c).map_err(corrupt);
    let get_ts = |c: &str| {
        row.try_get::<Option<i64>, _>(c)
            .map(|v| v.map(Timestamp::from_millis))
            .map_err(corrupt)
    };
    let id = UserId::parse(&get_str("id")?)
        .ok_or_else(|| StoreError::Backend("stored user id is malformed".into()))?;
    let terms = match (get_opt("terms_version")?, get_ts("terms_accepted_at")?) {
        (Some(v), Some(at)) => Some((v, at)),
        _ => None,
    };
    let suspension = match get_ts("suspended_at")? {
        Some(at) => Some(Suspension {
            reason: get_opt("suspension_reason")?.unwrap_or_default(),
            at,
        }),
        None => None,
    };
    Ok(User {
        id,
        email: Email::from_stored(get_str("email")?),
        email_verified: get_bool("email_verified")?,
        handle: get_opt("handle")?.map(Handle::from_stored),
        display_name: get_opt("display_name")?,
        bio: get_opt("bio")?,
        avatar_key: get_opt("avatar_key")?,
        created_at: Timestamp::from_millis(get_i64("created_at")?),
        terms,
        invited_at: get_ts("invited_at")?,
        prefs: NotificationPrefs {
            follow: get_bool("pref_follow")?,
            comment: get_bool("pref_comment")?,
            reaction: get_bool("pref_reaction")?,
            mention: get_bool("pref_mention")?,
            push: get_bool("pref_push")?,
        },
        followers_count: get_i64("followers_count")?,
        following_count: get_i64("following_count")?,
        posts_count: get_i64("posts_count")?,
        suspension,
    })
}
