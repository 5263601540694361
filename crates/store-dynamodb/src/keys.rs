//! The key layout: every partition and sort key the backend writes, in one place, so
//! the modules that meet in one transaction (a follow writes a notification and a job)
//! agree on them. `docs/decisions.md` ("DynamoDB key design") explains the choices.
//!
//! Ids are UUIDv7 (string order is time order), times in keys are [`ts13`], and every
//! key prefix ends in `#` so no prefix is a prefix of another's values.

use crate::item::ts13;

// ---- users table ----

/// Sort key of a profile under [`user`].
pub const PROFILE: &str = "P";
/// Sort key of the tombstone a deleted account leaves under [`user`].
pub const TOMBSTONE: &str = "TOMB";
/// `gsi1pk` of every profile: the id-ordered walk of all users (`timeline_users`).
pub const ALL_USERS: &str = "USERS";

/// Partition of everything that is one user's own: profile, tombstone, sessions,
/// invite copies (users table); follow and block edges (social table).
pub fn user(id: &str) -> String {
    format!("U#{id}")
}

/// The handle marker (its `user_id` holds the handle), lower case.
pub fn handle(lower: &str) -> String {
    format!("H#{lower}")
}

/// The account of an address (`user_id`, `password_hash`).
pub fn email(address: &str) -> String {
    format!("E#{address}")
}

/// A refresh token by hash.
pub fn refresh_token(hash: &str) -> String {
    format!("RT#{hash}")
}

/// Sort key of a session (refresh-token family) under [`user`].
pub fn session(family: &str) -> String {
    format!("S#{family}")
}

/// An invite code; a copy sits under the owner's [`user`] partition with the same
/// string as sort key.
pub fn invite(code: &str) -> String {
    format!("I#{code}")
}

/// An idempotency key of `user` for one kind of create (`post`, `comment`).
pub fn idempotency(user: &str, kind: &str, key: &str) -> String {
    format!("K#{user}#{kind}#{key}")
}

/// A barred address digest.
pub fn barred(digest: &str) -> String {
    format!("BAR#{digest}")
}

// ---- social table (partition: [`user`]) ----

/// `a` follows `b`: sort key under `user(a)`.
pub fn follows(b: &str) -> String {
    format!("F#{b}")
}

/// `a` follows `b`: the reverse copy, sort key under `user(b)`.
pub fn followed_by(a: &str) -> String {
    format!("FR#{a}")
}

/// `a` blocks `b`: sort key under `user(a)`.
pub fn blocks(b: &str) -> String {
    format!("B#{b}")
}

/// `a` blocks `b`: the reverse copy, sort key under `user(b)`.
pub fn blocked_by(a: &str) -> String {
    format!("BB#{a}")
}

// ---- posts table ----

/// Partition of a post, its comments and reactions.
pub fn post(id: &str) -> String {
    format!("P#{id}")
}
/// Sort key of the post item itself under [`post`].
pub const POST_ITEM: &str = "P";

/// `gsi1pk` of an author's posts (`gsi1sk`: the post id).
pub fn author_posts(author: &str) -> String {
    format!("A#{author}")
}

/// Sort key of a comment under [`post`].
pub fn comment(id: &str) -> String {
    format!("C#{id}")
}

/// Sort key of a reaction under [`post`].
pub fn reaction(user: &str, kind: &str) -> String {
    format!("R#{user}#{kind}")
}

/// `gsi2pk` of a user's comments (`gsi2sk`: the comment id), for deleting an account.
pub fn comments_by(user: &str) -> String {
    format!("CB#{user}")
}

/// `gsi2pk` of a user's reactions (`gsi2sk`: post id `#` type), for deleting an account.
pub fn reactions_by(user: &str) -> String {
    format!("RB#{user}")
}

/// Partition of a user's home timeline: a header (`TIMELINE_HEAD`) and one entry per
/// post ([`timeline_entry`]).
pub fn timeline(user: &str) -> String {
    format!("TL#{user}")
}
/// Sort key of a timeline's header (`read_at`, `horizon`).
pub const TIMELINE_HEAD: &str = "H";

/// Sort key of a timeline entry: newest first is a backward query.
pub fn timeline_entry(post_id: &str) -> String {
    format!("E#{post_id}")
}

// ---- notifications table ----

/// A notification (`gsi1`: `NU#recipient` / id; sparse `gsi2`: `UN#recipient` / id
/// while unread).
pub fn notification(id: &str) -> String {
    format!("N#{id}")
}
/// The sort key of single-item partitions (notifications, media, jobs, markers).
pub const ONE: &str = "_";

/// `gsi1pk` of a recipient's notifications.
pub fn notifications_of(recipient: &str) -> String {
    format!("NU#{recipient}")
}

/// `gsi2pk` of a recipient's unread notifications.
pub fn unread_of(recipient: &str) -> String {
    format!("UN#{recipient}")
}

/// The marker of a notification's dedupe key: one notification per recipient and key.
pub fn notification_dedupe(recipient: &str, dedupe: &str) -> String {
    format!("ND#{recipient}#{dedupe}")
}

/// A push device by token; a copy sits under the owner's [`user`] partition with the
/// same string as sort key.
pub fn device(token: &str) -> String {
    format!("DEV#{token}")
}

// ---- media table ----

/// An upload (`gsi1`: `MO#owner` / key).
pub fn media(key: &str) -> String {
    format!("M#{key}")
}

/// `gsi1pk` of an owner's uploads.
pub fn media_of(owner: &str) -> String {
    format!("MO#{owner}")
}

// ---- scoops table ----

/// A scoop and its views.
pub fn scoop(id: &str) -> String {
    format!("S#{id}")
}
/// Sort key of the scoop item under [`scoop`].
pub const SCOOP_ITEM: &str = "S";

/// Sort key of a view under [`scoop`].
pub fn view(viewer: &str) -> String {
    format!("V#{viewer}")
}

/// `gsi1pk` of an author's scoops (`gsi1sk`: [`ts13`] of expiry, `#`, id).
pub fn author_scoops(author: &str) -> String {
    format!("SA#{author}")
}

// ---- jobs table ----

/// A job.
pub fn job(id: &str) -> String {
    format!("J#{id}")
}

/// The marker of a job's dedupe key, present while the job exists.
pub fn job_dedupe(dedupe: &str) -> String {
    format!("JD#{dedupe}")
}

/// Shards of the due-jobs index, so claims are not one hot partition.
pub const JOB_SHARDS: u32 = 4;

/// `gsi1pk` of due jobs in a shard.
pub fn due(shard: u32) -> String {
    format!("DUE#{shard}")
}

/// `gsi1pk` of dead jobs.
pub const DEAD: &str = "DEAD";

/// `gsi1sk` of a time-ordered entry: [`ts13`] then the id.
pub fn at_then(ms: i64, id: &str) -> String {
    format!("{}#{id}", ts13(ms))
}
