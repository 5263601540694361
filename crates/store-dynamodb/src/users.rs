//! `UserStore` on the users table.
//!
//! Items (users table):
//! - profile `U#id` / `P`: the SQL user columns + `invites_made`, `timeline_pull`,
//!   `invite_code` (the code redeemed, see `invites.rs`), and `gsi1` `USERS` / id (the
//!   id-ordered walk of all users);
//! - tombstone `U#id` / `TOMB` (`id`, `deleted_at`, and `invite_code` of the invite
//!   the user redeemed, for the tail to unlink): never deleted, so a deleted id never
//!   comes back;
//! - handle marker `H#lower` / `_` (`user_id`, `handle`): uniqueness ignoring case;
//! - search terms, only while the user has a handle (users without one are never
//!   found): the handle under `TH#<first char>` / `<handle_lower>#<id>` and each
//!   display-name word under `TN#<first char>` / `<word>#<id>`, both carrying
//!   `user_id` and `handle_lower`. `#` sorts below every handle character, so one
//!   forward query of `TH#c` from the prefix is exactly the ranking of ranks 0 (the
//!   exact handle sorts first) and 1; rank 2 (name words) is sorted by handle in memory
//!   from a bounded read.
//!
//! Every change that moves a handle or a display name rewrites the terms in the same
//! transaction, conditioned on the handle and name it read, so terms never drift.
//! Deleting an account is an atomic head (profile, marker, terms, address, tombstone,
//! jobs) and a chunked, idempotent tail ([`DynamoStore::tail_delete_user`]) that calls
//! each module's own removal where one exists (follow edges, devices, posts, views,
//! scoops, reports).

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, ItemBuilder, Rec, get_s, key_of, n, s};
use crate::keys;
use crate::write::Write;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use scooter_core::notification::NewJob;
use scooter_core::post::ReactionType;
use scooter_core::search::{KIND_HANDLE, RANK_EXACT_HANDLE, index_terms};
use scooter_core::user::{NewUser, NotificationPrefs, User};
use scooter_core::{Email, Handle, Timestamp, UserId};
use scooter_store::bulk::SeedUser;
use scooter_store::{
    EnsureOutcome, ProfilePatch, SearchHit, SearchKey, StoreError, StoreResult, UserStore,
};
use scooter_store_sql::rows;
use std::collections::HashSet;

/// Tail op that removes the rest of a deleted account (see [`DynamoStore::tail_delete_user`]).
pub(crate) const DELETE_USER_OP: &str = "delete_user";

/// Name-word candidates read per search (rank 2 is sorted by handle in memory).
const MAX_NAME_CANDIDATES: usize = 1000;
/// Handle-term candidates read per query call.
const HANDLE_CHUNK: u32 = 50;

/// Partition of handle search terms starting with `first`.
fn handle_terms(first: char) -> String {
    format!("TH#{first}")
}

/// Partition of display-name-word search terms starting with `first`.
fn name_terms(first: char) -> String {
    format!("TN#{first}")
}

/// Sort key of a term: the term, then the user id (`#` sorts below every term character).
fn term_sk(term: &str, id: &str) -> String {
    format!("{term}#{id}")
}

fn opt_millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::millis)
}

/// The profile item of `u` (a fresh user: `invites_made` 0, not pulled).
pub(crate) fn profile_item(u: &User) -> Item {
    let id = u.id.as_str();
    let p = &u.prefs;
    ItemBuilder::key(keys::user(id), keys::PROFILE)
        .s("id", id)
        .s("email", u.email.as_str())
        .flag("email_verified", u.email_verified)
        .opt_s("handle", u.handle.as_ref().map(|h| h.as_str().to_owned()))
        .opt_s("display_name", u.display_name.clone())
        .opt_s("bio", u.bio.clone())
        .opt_s("avatar_key", u.avatar_key.clone())
        .n("created_at", u.created_at.millis())
        .opt_s("terms_version", u.terms.as_ref().map(|t| t.0.clone()))
        .opt_n("terms_accepted_at", u.terms.as_ref().map(|t| t.1.millis()))
        .opt_n("invited_at", opt_millis(u.invited_at))
        .flag("pref_follow", p.follow)
        .flag("pref_comment", p.comment)
        .flag("pref_reaction", p.reaction)
        .flag("pref_mention", p.mention)
        .flag("pref_push", p.push)
        .n("followers_count", u.followers_count)
        .n("following_count", u.following_count)
        .n("posts_count", u.posts_count)
        .opt_n("suspended_at", u.suspension.as_ref().map(|s| s.at.millis()))
        .opt_s(
            "suspension_reason",
            u.suspension.as_ref().map(|s| s.reason.clone()),
        )
        .n("invites_made", 0)
        .flag("timeline_pull", false)
        .s("gsi1pk", keys::ALL_USERS)
        .s("gsi1sk", id)
        .build()
}

/// The handle marker of `id` holding `handle`.
pub(crate) fn handle_marker_item(id: &str, handle: &Handle) -> Item {
    ItemBuilder::key(keys::handle(&handle.lowercase()), keys::ONE)
        .s("user_id", id)
        .s("handle", handle.as_str())
        .build()
}

/// The built-in account of an address (no `password_hash` when made by the operator).
pub(crate) fn account_item(
    email: &str,
    user_id: &str,
    password_hash: Option<&str>,
    created_at: Timestamp,
) -> Item {
    ItemBuilder::key(keys::email(email), keys::ONE)
        .s("email", email)
        .s("user_id", user_id)
        .opt_s("password_hash", password_hash)
        .n("created_at", created_at.millis())
        .build()
}

/// The search-term items of a user (none without a handle).
pub(crate) fn search_term_items(
    id: &str,
    handle_lower: Option<&str>,
    display_name: Option<&str>,
) -> Vec<Item> {
    let Some(h) = handle_lower else {
        return Vec::new();
    };
    index_terms(Some(h), display_name)
        .into_iter()
        .filter_map(|(term, kind)| {
            let first = term.chars().next()?;
            let pk = if kind == KIND_HANDLE {
                handle_terms(first)
            } else {
                name_terms(first)
            };
            Some(
                ItemBuilder::key(pk, term_sk(&term, id))
                    .s("user_id", id)
                    .s("handle_lower", h)
                    .n("kind", i64::from(kind))
                    .build(),
            )
        })
        .collect()
}

/// Every item a seeded user needs (users table): profile, handle marker, account
/// without a password, search terms. For the bulk loader.
pub(crate) fn seed_user_items(u: &SeedUser) -> Vec<Item> {
    let handle = Handle::from_stored(u.handle.clone());
    let user = User {
        handle: Some(handle.clone()),
        display_name: Some(u.display_name.clone()),
        terms: Some((u.terms_version.clone(), u.created_at)),
        ..NewUser {
            id: u.id.clone(),
            email: Email::from_stored(u.email.clone()),
            email_verified: true,
            created_at: u.created_at,
        }
        .into_user()
    };
    let id = u.id.as_str();
    let mut items = vec![
        profile_item(&user),
        handle_marker_item(id, &handle),
        account_item(&u.email, id, None, u.created_at),
    ];
    items.extend(search_term_items(
        id,
        Some(&handle.lowercase()),
        Some(&u.display_name),
    ));
    items
}

/// The handle (lower case) and display name a profile item holds.
fn indexed_fields(profile: &Item) -> (Option<String>, Option<String>) {
    (
        get_s(profile, "handle").map(str::to_ascii_lowercase),
        get_s(profile, "display_name").map(str::to_owned),
    )
}

/// A condition that the profile still exists with the handle and display name read
/// (the fields search terms are computed from), with its values.
fn unchanged_cond(profile: &Item) -> (String, Vec<(&'static str, AttributeValue)>) {
    let mut cond = vec!["attribute_exists(#pk)".to_owned()];
    let mut values = Vec::new();
    for (attr, ph) in [("handle", ":was_handle"), ("display_name", ":was_name")] {
        match get_s(profile, attr) {
            Some(v) => {
                cond.push(format!("#{attr} = {ph}"));
                values.push((ph, s(v)));
            }
            None => cond.push(format!("attribute_not_exists(#{attr})")),
        }
    }
    (cond.join(" AND "), values)
}

impl DynamoStore {
    /// The profile item of a user, strongly consistent.
    pub(crate) async fn profile_of(&self, id: &str) -> StoreResult<Option<Item>> {
        self.db
            .get(&self.t.users, &keys::user(id), keys::PROFILE)
            .await
    }

    /// The writes that move a user's search terms from `old` to `new` items: stale
    /// keys deleted, every current term put (its `handle_lower` may have changed).
    fn term_writes(&self, old: &[Item], new: Vec<Item>) -> Vec<Write> {
        let new_keys: HashSet<(String, String)> = new.iter().filter_map(key_of).collect();
        let mut writes: Vec<Write> = old
            .iter()
            .filter_map(key_of)
            .filter(|k| !new_keys.contains(k))
            .map(|(pk, sk)| Write::delete(&self.t.users, &pk, &sk))
            .collect();
        writes.extend(new.into_iter().map(|i| Write::put(&self.t.users, i)));
        writes
    }

    /// The profile update `expr` conditioned on the indexed fields being as read, and
    /// the term writes from the read fields to `(handle_lower, display_name)`.
    fn indexed_update(
        &self,
        profile: &Item,
        id: &str,
        expr: &str,
        values: Vec<(&str, AttributeValue)>,
        next: (Option<&str>, Option<&str>),
    ) -> Vec<Write> {
        let (cond, was) = unchanged_cond(profile);
        let mut update = Write::update(&self.t.users, &keys::user(id), keys::PROFILE, expr)
            .cond(cond)
            .replan_on_fail();
        for (k, v) in was.into_iter().chain(values) {
            update = update.value(k, v);
        }
        let (old_h, old_n) = indexed_fields(profile);
        let old_terms = search_term_items(id, old_h.as_deref(), old_n.as_deref());
        let new_terms = search_term_items(id, next.0, next.1);
        let mut writes = vec![update];
        writes.extend(self.term_writes(&old_terms, new_terms));
        writes
    }

    /// One profile update (no search terms involved): `None` when the user is gone.
    async fn update_profile_item(
        &self,
        id: &str,
        expr: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> StoreResult<Option<User>> {
        let mut w = Write::update(&self.t.users, &keys::user(id), keys::PROFILE, expr)
            .cond("attribute_exists(#pk)");
        for (k, v) in values {
            w = w.value(k, v);
        }
        match self.db.write(w, true).await? {
            Ok(Some(item)) => rows::user(&Rec(&item)).map(Some),
            Ok(None) => self.get_user(&user_id(id)?).await,
            Err(_) => Ok(None),
        }
    }
}

/// A user id read from an item.
pub(crate) fn user_id(id: &str) -> StoreResult<UserId> {
    UserId::parse(id).ok_or_else(|| StoreError::Backend("stored user id is malformed".into()))
}

/// `SET`/`REMOVE` of a profile patch, with its values; `None` when it changes nothing.
fn patch_expr(patch: &ProfilePatch) -> Option<(String, Vec<(&'static str, AttributeValue)>)> {
    let mut sets = Vec::new();
    let mut removes = Vec::new();
    let mut values = Vec::new();
    for (attr, ph, field) in [
        ("display_name", ":dn", &patch.display_name),
        ("bio", ":bio", &patch.bio),
    ] {
        match field {
            Some(Some(v)) => {
                sets.push(format!("#{attr} = {ph}"));
                values.push((ph, s(v.clone())));
            }
            Some(None) => removes.push(format!("#{attr}")),
            None => {}
        }
    }
    let mut expr = String::new();
    if !sets.is_empty() {
        expr.push_str(&format!("SET {}", sets.join(", ")));
    }
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    (!expr.is_empty()).then_some((expr, values))
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.profile_of(id.as_str())
            .await?
            .as_ref()
            .map(|i| rows::user(&Rec(i)))
            .transpose()
    }

    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
        self.profile_items(&ids)
            .await?
            .iter()
            .map(|i| rows::user(&Rec(i)))
            .collect()
    }

    async fn user_by_handle(&self, handle: &Handle) -> StoreResult<Option<User>> {
        Ok(self
            .users_by_handles(std::slice::from_ref(handle))
            .await?
            .into_iter()
            .next())
    }

    async fn users_by_handles(&self, handles: &[Handle]) -> StoreResult<Vec<User>> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let markers: Vec<(String, String)> = handles
            .iter()
            .map(|h| (keys::handle(&h.lowercase()), keys::ONE.to_owned()))
            .collect();
        let ids: Vec<String> = self
            .db
            .batch_get(&self.t.users, &markers)
            .await?
            .iter()
            .filter_map(|m| get_s(m, "user_id").map(str::to_owned))
            .collect();
        // A marker and its profile change together; the profile must still hold it.
        let wanted: HashSet<String> = handles.iter().map(Handle::lowercase).collect();
        let mut found = Vec::new();
        for item in self.profile_items(&ids).await? {
            let user = rows::user(&Rec(&item))?;
            if user
                .handle
                .as_ref()
                .is_some_and(|h| wanted.contains(&h.lowercase()))
            {
                found.push(user);
            }
        }
        Ok(found)
    }

    async fn ensure_user(&self, new: NewUser) -> StoreResult<EnsureOutcome> {
        let pk = keys::user(new.id.as_str());
        for _ in 0..=crate::REPLANS {
            if let Some(u) = self.get_user(&new.id).await? {
                return Ok(EnsureOutcome::Active(Box::new(u)));
            }
            let user = new.clone().into_user();
            let writes = vec![
                Write::put_new(&self.t.users, profile_item(&user)),
                Write::check(
                    &self.t.users,
                    &pk,
                    keys::TOMBSTONE,
                    "attribute_not_exists(#pk)",
                ),
            ];
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(EnsureOutcome::Active(Box::new(user))),
                Err(c) if c.failed(1) => return Ok(EnsureOutcome::Deleted),
                // Created by a parallel request: read it.
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    async fn set_handle(&self, id: &UserId, handle: &Handle) -> StoreResult<Option<User>> {
        let me = id.as_str();
        let lower = handle.lowercase();
        for _ in 0..=crate::REPLANS {
            let Some(profile) = self.profile_of(me).await? else {
                return Ok(None);
            };
            let (old_lower, name) = indexed_fields(&profile);
            // Action 0 is the marker: its failure means someone else holds the handle.
            let mut writes = vec![
                Write::put(&self.t.users, handle_marker_item(me, handle))
                    .cond("attribute_not_exists(#pk) OR #user_id = :me")
                    .value(":me", s(me)),
            ];
            writes.extend(self.indexed_update(
                &profile,
                me,
                "SET #handle = :h",
                vec![(":h", s(handle.as_str()))],
                (Some(&lower), name.as_deref()),
            ));
            if let Some(old) = old_lower.filter(|o| *o != lower) {
                writes.push(Write::delete(&self.t.users, &keys::handle(&old), keys::ONE));
            }
            match self.db.transact(writes).await? {
                Ok(()) => {
                    let mut user = rows::user(&Rec(&profile))?;
                    user.handle = Some(handle.clone());
                    return Ok(Some(user));
                }
                Err(c) if c.failed(0) => return Err(StoreError::Conflict("handle")),
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    async fn update_profile(&self, id: &UserId, patch: ProfilePatch) -> StoreResult<Option<User>> {
        let me = id.as_str();
        let Some((expr, values)) = patch_expr(&patch) else {
            return self.get_user(id).await;
        };
        let Some(new_name) = patch.display_name.clone() else {
            return self.update_profile_item(me, &expr, values).await;
        };
        for _ in 0..=crate::REPLANS {
            let Some(profile) = self.profile_of(me).await? else {
                return Ok(None);
            };
            let (handle, _) = indexed_fields(&profile);
            let writes = self.indexed_update(
                &profile,
                me,
                &expr,
                values.clone(),
                (handle.as_deref(), new_name.as_deref()),
            );
            match self.db.transact(writes).await? {
                Ok(()) => {
                    let mut user = rows::user(&Rec(&profile))?;
                    user.display_name = new_name;
                    if let Some(bio) = patch.bio {
                        user.bio = bio;
                    }
                    return Ok(Some(user));
                }
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    async fn set_notification_prefs(
        &self,
        id: &UserId,
        prefs: NotificationPrefs,
    ) -> StoreResult<Option<User>> {
        let expr = "SET #pref_follow = :f, #pref_comment = :c, #pref_reaction = :r, \
                    #pref_mention = :m, #pref_push = :p";
        let values = vec![
            (":f", AttributeValue::Bool(prefs.follow)),
            (":c", AttributeValue::Bool(prefs.comment)),
            (":r", AttributeValue::Bool(prefs.reaction)),
            (":m", AttributeValue::Bool(prefs.mention)),
            (":p", AttributeValue::Bool(prefs.push)),
        ];
        self.update_profile_item(id.as_str(), expr, values).await
    }

    async fn accept_terms(
        &self,
        id: &UserId,
        version: &str,
        at: Timestamp,
    ) -> StoreResult<Option<User>> {
        let expr = "SET #terms_version = :v, #terms_accepted_at = :at";
        let values = vec![(":v", s(version)), (":at", n(at.millis()))];
        self.update_profile_item(id.as_str(), expr, values).await
    }

    async fn delete_user(&self, id: &UserId, at: Timestamp) -> StoreResult<bool> {
        let deleted = self.delete_user_head(id.as_str(), at).await?;
        self.tail_delete_user(id.as_str()).await?;
        Ok(deleted)
    }

    async fn search_users(
        &self,
        viewer: &UserId,
        prefix: &str,
        after: Option<&SearchKey>,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        let Some(first) = prefix.chars().next() else {
            return Ok(Vec::new());
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut hits = Vec::new();
        if limit == 0 {
            return Ok(hits);
        }
        if after.is_none_or(|a| a.0 <= 1) {
            self.search_handles(viewer.as_str(), first, prefix, after, limit, &mut hits)
                .await?;
        }
        if hits.len() < limit {
            let after2 = after.filter(|a| a.0 == 2);
            self.search_names(viewer.as_str(), first, prefix, after2, limit, &mut hits)
                .await?;
        }
        Ok(hits)
    }
}

impl DynamoStore {
    /// Ranks 0 and 1: the handle terms from the prefix (or from the cursor) in key
    /// order, read in chunks until the page is full.
    async fn search_handles(
        &self,
        viewer: &str,
        first: char,
        prefix: &str,
        after: Option<&SearchKey>,
        limit: usize,
        hits: &mut Vec<SearchHit>,
    ) -> StoreResult<()> {
        let upper = scooter_core::search::prefix_upper_bound(prefix);
        // A cursor is a position among the prefix's terms; clamp a foreign one into them.
        let from = match after {
            Some((_, h, id)) => term_sk(h, id).max(prefix.to_owned()),
            None => prefix.to_owned(),
        };
        if from > upper {
            return Ok(());
        }
        let q = Query::new(&self.t.users, "#pk = :pk AND #sk BETWEEN :from AND :to")
            .value(":pk", s(handle_terms(first)))
            .value(":from", s(from.clone()))
            .value(":to", s(upper))
            .page_size(HANDLE_CHUNK);
        let mut start = None;
        loop {
            let (page, next) = self.db.query_page(&q, start).await?;
            let candidates: Vec<(u8, String, String)> = page
                .iter()
                .filter(|t| get_s(t, "sk") != Some(from.as_str()) || after.is_none())
                .filter_map(|t| {
                    let h = get_s(t, "handle_lower")?.to_owned();
                    let id = get_s(t, "user_id")?.to_owned();
                    let rank = if h == prefix { RANK_EXACT_HANDLE } else { 1 };
                    Some((rank, h, id))
                })
                .collect();
            self.keep_visible(viewer, candidates, limit, hits).await?;
            match next {
                Some(n) if hits.len() < limit => start = Some(n),
                _ => return Ok(()),
            }
        }
    }

    /// Rank 2: users one of whose display-name words starts with the prefix and whose
    /// handle does not; sorted by handle then id from a bounded read.
    async fn search_names(
        &self,
        viewer: &str,
        first: char,
        prefix: &str,
        after: Option<&SearchKey>,
        limit: usize,
        hits: &mut Vec<SearchHit>,
    ) -> StoreResult<()> {
        let q = Query::new(&self.t.users, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(name_terms(first)))
            .value(":p", s(prefix));
        let terms = self.db.query_all(&q, Some(MAX_NAME_CANDIDATES)).await?;
        let mut candidates: Vec<(u8, String, String)> = terms
            .iter()
            .filter_map(|t| {
                let h = get_s(t, "handle_lower")?.to_owned();
                let id = get_s(t, "user_id")?.to_owned();
                (!h.starts_with(prefix)).then_some((2, h, id))
            })
            .filter(|c| after.is_none_or(|a| *c > *a))
            .collect();
        candidates.sort();
        candidates.dedup();
        for chunk in candidates.chunks(HANDLE_CHUNK as usize) {
            if hits.len() >= limit {
                break;
            }
            self.keep_visible(viewer, chunk.to_vec(), limit, hits)
                .await?;
        }
        Ok(())
    }

    /// Adds the candidates (in order) the viewer may see, until `limit`.
    async fn keep_visible(
        &self,
        viewer: &str,
        candidates: Vec<SearchKey>,
        limit: usize,
        hits: &mut Vec<SearchHit>,
    ) -> StoreResult<()> {
        if candidates.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = candidates.iter().map(|c| c.2.clone()).collect();
        let mut visible = self.visible_users(viewer, &ids).await?;
        for key in candidates {
            if hits.len() >= limit {
                break;
            }
            let Some(user) = visible.remove(&key.2) else {
                continue;
            };
            // Terms move with the profile in one transaction; this guards the reader.
            if user.handle.as_ref().map(Handle::lowercase).as_deref() != Some(key.1.as_str()) {
                continue;
            }
            hits.push(SearchHit { key, user });
        }
        Ok(())
    }
}

// ---- deleting an account: the atomic head, then the tail ----

/// Items read and handled per step of the tail.
const TAIL_CHUNK: u32 = 100;
/// Edges corrected at once (one small transaction each).
const EDGES_IN_FLIGHT: usize = 8;

/// The job that deletes every file of a deleted account (SQL queues the same).
fn purge_user_media_job(id: &str, at: Timestamp) -> NewJob {
    NewJob {
        id: scooter_core::ids::new_id(),
        kind: scooter_store::media::PURGE_USER_MEDIA_JOB.to_owned(),
        payload: id.to_owned(),
        dedupe: Some(format!("purge-user:{id}")),
        run_at: at,
    }
}

impl DynamoStore {
    /// The head of `delete_user`: one transaction deletes the profile (conditioned on
    /// the handle and name its marker and terms were read with), the handle marker, the
    /// search terms and the address's account, puts the tombstone (keeping the code of
    /// the invite the user redeemed, for the tail), and queues the purge of the files
    /// and the tail job. Readers see the account gone from here on; `follow` and
    /// friends fail on the missing profile. `false` when there was no profile (the
    /// tombstone and purge job are still made sure of, like SQL).
    async fn delete_user_head(&self, id: &str, at: Timestamp) -> StoreResult<bool> {
        let pk = keys::user(id);
        let own = [
            (pk.clone(), keys::PROFILE.to_owned()),
            (pk.clone(), keys::TOMBSTONE.to_owned()),
        ];
        for _ in 0..=crate::REPLANS {
            let now = Timestamp::now();
            let purge = purge_user_media_job(id, at);
            let tail = crate::tail_job(DELETE_USER_OP, id, now);
            let markers: Vec<(String, String)> = [&purge, &tail]
                .into_iter()
                .filter_map(|j| j.dedupe.as_deref())
                .map(|d| (keys::job_dedupe(d), keys::ONE.to_owned()))
                .collect();
            // Profile and tombstone, and whether either job is queued: one round trip.
            let (own_items, queued) = tokio::try_join!(
                self.db.batch_get(&self.t.users, &own),
                self.db.batch_get(&self.t.jobs, &markers),
            )?;
            let queued: HashSet<&str> = queued.iter().filter_map(|m| get_s(m, "pk")).collect();
            let unqueued = |job: &NewJob| {
                job.dedupe
                    .as_deref()
                    .is_none_or(|d| !queued.contains(keys::job_dedupe(d).as_str()))
            };
            let mut writes = Vec::new();
            if unqueued(&purge) {
                writes.extend(self.job_writes_unchecked(&purge, now));
            }
            let profile = own_items
                .iter()
                .find(|i| get_s(i, "sk") == Some(keys::PROFILE));
            let tombstone = ItemBuilder::key(pk.clone(), keys::TOMBSTONE)
                .s("id", id)
                .n("deleted_at", at.millis());
            let Some(profile) = profile else {
                let tombstoned = own_items
                    .iter()
                    .any(|i| get_s(i, "sk") == Some(keys::TOMBSTONE));
                if !tombstoned {
                    writes.push(Write::put_new(&self.t.users, tombstone.build()).replan_on_fail());
                }
                match self.db.transact(writes).await? {
                    Ok(()) => return Ok(false),
                    Err(_) => continue,
                }
            };
            let (cond, was) = unchanged_cond(profile);
            let mut delete = Write::delete(&self.t.users, &pk, keys::PROFILE)
                .cond(cond)
                .replan_on_fail();
            for (k, v) in was {
                delete = delete.value(k, v);
            }
            writes.push(delete);
            let tombstone = tombstone.opt_s("invite_code", get_s(profile, "invite_code"));
            writes.push(Write::put(&self.t.users, tombstone.build()));
            let (handle, name) = indexed_fields(profile);
            if let Some(h) = &handle {
                writes.push(Write::delete(&self.t.users, &keys::handle(h), keys::ONE));
            }
            writes.extend(self.term_writes(
                &search_term_items(id, handle.as_deref(), name.as_deref()),
                Vec::new(),
            ));
            writes.extend(self.account_delete(profile, id).await?);
            if unqueued(&tail) {
                writes.extend(self.job_writes_unchecked(&tail, now));
            }
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(true),
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    /// Deletes the built-in account of the profile's address if it is this user's (an
    /// identity-provider user may share an address with someone's built-in account).
    async fn account_delete(&self, profile: &Item, id: &str) -> StoreResult<Vec<Write>> {
        let Some(email) = get_s(profile, "email") else {
            return Ok(Vec::new());
        };
        let account = self
            .db
            .get(&self.t.users, &keys::email(email), keys::ONE)
            .await?;
        if account.as_ref().and_then(|a| get_s(a, "user_id")) != Some(id) {
            return Ok(Vec::new());
        }
        Ok(vec![
            Write::delete(&self.t.users, &keys::email(email), keys::ONE)
                .cond("#user_id = :me")
                .value(":me", s(id))
                .replan_on_fail(),
        ])
    }

    /// The tail of `delete_user` (op `delete_user`, arg the user id): removes
    /// everything else of the account, in chunks, each step idempotent, so it can be
    /// run again from any point (the worker resumes it from the tail job when a request
    /// was cut off). At its end it deletes its tail job.
    pub(crate) async fn tail_delete_user(&self, id: &str) -> StoreResult<()> {
        // Only ever after the head: a tail job naming a live account (a bug, a job
        // written by hand) must not take its rows away.
        let tombstone = self
            .db
            .get(&self.t.users, &keys::user(id), keys::TOMBSTONE)
            .await?;
        if tombstone.is_none() {
            tracing::warn!(
                user = id,
                "account-deletion tail for an account not deleted: ignored"
            );
            return self.end_tail_job(DELETE_USER_OP, id).await;
        }
        self.tail_user_partition(id).await?;
        self.tail_redeemed_invite(id).await?;
        self.tail_edges(id).await?;
        self.forget_devices_of(id).await?;
        self.tail_notifications(id).await?;
        self.tail_posts(id).await?;
        self.tail_counted_elsewhere(id).await?;
        self.forget_views_of(id).await?;
        self.drop_scoops_of(id).await?;
        self.tail_media(id).await?;
        self.tail_timeline(id).await?;
        self.tail_reports(id).await?;
        self.end_tail_job(DELETE_USER_OP, id).await
    }

    /// Walks a query page by page, handing each page to `step`.
    async fn for_each_page<F, Fut>(&self, q: Query, mut step: F) -> StoreResult<()>
    where
        F: FnMut(Vec<Item>) -> Fut,
        Fut: std::future::Future<Output = StoreResult<()>>,
    {
        let q = q.page_size(TAIL_CHUNK);
        let mut start = None;
        loop {
            let (page, next) = self.db.query_page(&q, start).await?;
            if !page.is_empty() {
                step(page).await?;
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Users table, `U#id`: sessions (with their refresh tokens), invite copies (with
    /// the codes), anything else but the tombstone.
    async fn tail_user_partition(&self, id: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.users, "#pk = :pk").value(":pk", s(keys::user(id)));
        self.for_each_page(q, |page| async move {
            let mut gone = Vec::new();
            for item in &page {
                let Some((pk, sk)) = key_of(item) else {
                    continue;
                };
                if sk == keys::TOMBSTONE {
                    continue;
                }
                if let Some(family) = sk.strip_prefix("S#") {
                    self.delete_family_tokens(family).await?;
                }
                if sk.starts_with("I#") && get_s(item, "created_by") == Some(id) {
                    gone.push((sk.clone(), keys::ONE.to_owned()));
                }
                gone.push((pk, sk));
            }
            self.db.delete_keys(&self.t.users, gone).await
        })
        .await
    }

    /// Users table: the invite the user redeemed forgets them, as SQL's `ON DELETE SET
    /// NULL` on `used_by` does (the code stays used). The tombstone holds its code.
    async fn tail_redeemed_invite(&self, id: &str) -> StoreResult<()> {
        let tomb = self
            .db
            .get(&self.t.users, &keys::user(id), keys::TOMBSTONE)
            .await?;
        match tomb.as_ref().and_then(|t| get_s(t, "invite_code")) {
            Some(code) => self.forget_redeemer(code, id).await,
            None => Ok(()),
        }
    }

    /// Social table, `U#id`: every edge and its other copy; a follow also leaves the
    /// other user's counter it was counted in (its `cF`/`cE` flag).
    async fn tail_edges(&self, id: &str) -> StoreResult<()> {
        use futures_util::stream::{self, TryStreamExt};
        let q = Query::new(&self.t.social, "#pk = :pk").value(":pk", s(keys::user(id)));
        self.for_each_page(q, |page| async move {
            stream::iter(page.into_iter().map(Ok))
                .try_for_each_concurrent(EDGES_IN_FLIGHT, |item| async move {
                    self.drop_edge(id, &item).await
                })
                .await
        })
        .await
    }

    /// Removes one edge item of `id`'s partition and its other copy. A follow goes
    /// through [`DynamoStore::remove_follow`], which takes it out of the counter at the
    /// other end as its flags say; a block (counted nowhere) is two plain deletes.
    async fn drop_edge(&self, id: &str, item: &Item) -> StoreResult<()> {
        let Some((pk, sk)) = key_of(item) else {
            return Ok(());
        };
        let other = match sk.split_once('#') {
            Some(("F", b)) => {
                if self.remove_follow(id, b).await? {
                    return Ok(());
                }
                (keys::user(b), keys::followed_by(id))
            }
            Some(("FR", a)) => {
                if self.remove_follow(a, id).await? {
                    return Ok(());
                }
                (keys::user(a), keys::follows(id))
            }
            Some(("B", b)) => (keys::user(b), keys::blocked_by(id)),
            Some(("BB", a)) => (keys::user(a), keys::blocks(id)),
            _ => return self.db.delete_keys(&self.t.social, vec![(pk, sk)]).await,
        };
        // A block, or a follow whose forward item is gone already (its counters went
        // with it): both copies.
        self.db
            .delete_keys(&self.t.social, vec![(pk, sk), other])
            .await
    }
}

impl DynamoStore {
    /// Notifications table: the notifications the user received, with their dedupe
    /// markers. Those they caused stay until their recipients' lists drop them at read
    /// (actor gone), as `notifications.rs` does for every hidden actor.
    async fn tail_notifications(&self, id: &str) -> StoreResult<()> {
        let table = &self.t.notifications;
        let q = Query::new(table, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::notifications_of(id)));
        self.for_each_page(q, |page| async move {
            let mut gone = Vec::new();
            for item in &page {
                if let Some(k) = key_of(item) {
                    gone.push(k);
                }
                if let Some(d) = get_s(item, "dedupe") {
                    gone.push((keys::notification_dedupe(id, d), keys::ONE.to_owned()));
                }
            }
            self.db.delete_keys(table, gone).await
        })
        .await
    }

    /// Posts table: the user's posts, each deleted and then its children (comments,
    /// reactions, notifications about it) by the post deletion's own tail.
    async fn tail_posts(&self, id: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.posts, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::author_posts(id)))
            .project("#pk, #sk, #id");
        self.for_each_page(q, |page| async move {
            for post in page
                .iter()
                .filter(|i| get_s(i, "sk") == Some(keys::POST_ITEM))
                .filter_map(|i| get_s(i, "id"))
            {
                let w = Write::delete(&self.t.posts, &keys::post(post), keys::POST_ITEM);
                self.db.write(w, false).await?.ok();
                self.tail_delete_post(post).await?;
            }
            Ok(())
        })
        .await
    }

    /// The user's comments and reactions (`gsi2` lists) on other people's posts: each
    /// goes with one off its post's count, together (SQL's recount in `delete_user`).
    async fn tail_counted_elsewhere(&self, id: &str) -> StoreResult<()> {
        for list in [keys::comments_by(id), keys::reactions_by(id)] {
            let q = Query::new(&self.t.posts, "#gsi2pk = :pk")
                .index("gsi2")
                .value(":pk", s(list));
            self.for_each_page(q, |page| async move {
                for item in &page {
                    if let (Some(post), Some(sk), Some(counter)) =
                        (get_s(item, "post_id"), get_s(item, "sk"), counter_of(item))
                    {
                        self.drop_counted(id, post, sk, counter).await?;
                    }
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// Deletes the item `sk` of a post's partition and takes one off the post's
    /// `counter` when the post is someone else's and still there, in one transaction.
    async fn drop_counted(&self, id: &str, post: &str, sk: &str, counter: &str) -> StoreResult<()> {
        let pk = keys::post(post);
        for _ in 0..=crate::REPLANS {
            let owner = self.db.get(&self.t.posts, &pk, keys::POST_ITEM).await?;
            let counted = owner
                .as_ref()
                .and_then(|p| get_s(p, "author_id"))
                .is_some_and(|a| a != id);
            let mut writes = vec![
                Write::delete(&self.t.posts, &pk, sk)
                    .cond("attribute_exists(#pk)")
                    .replan_on_fail(),
            ];
            if counted {
                writes.push(
                    Write::update(
                        &self.t.posts,
                        &pk,
                        keys::POST_ITEM,
                        format!("ADD #{counter} :minus"),
                    )
                    .cond("attribute_exists(#pk)")
                    .value(":minus", n(-1))
                    .replan_on_fail(),
                );
            }
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(()),
                // Gone already (the index still listed it): nothing to take back.
                Err(c) if c.failed(0) => return Ok(()),
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    /// Media table: the user's uploads (their files go with the head's purge job).
    async fn tail_media(&self, id: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.media, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::media_of(id)));
        self.for_each_page(q, |page| async move {
            self.db
                .delete_keys(&self.t.media, page.iter().filter_map(key_of).collect())
                .await
        })
        .await
    }

    /// Posts table: the user's own home timeline.
    async fn tail_timeline(&self, id: &str) -> StoreResult<()> {
        let table = &self.t.posts;
        let q = Query::new(table, "#pk = :pk")
            .value(":pk", s(keys::timeline(id)))
            .project("#pk, #sk");
        self.for_each_page(q, |page| async move {
            self.db
                .delete_keys(table, page.iter().filter_map(key_of).collect())
                .await
        })
        .await
    }
}

/// The post counter a comment or reaction item (`gsi2` of its author) is counted in.
fn counter_of(item: &Item) -> Option<&'static str> {
    if get_s(item, "sk")?.starts_with(&keys::comment("")) {
        return Some("comment_count");
    }
    get_s(item, "type")
        .and_then(ReactionType::from_stored)
        .map(crate::posts::counter_column)
}
