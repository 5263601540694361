//! `SocialStore` on the social table: follow and block edges, two items each, both in
//! a user partition (`keys::user`), so every rule about a pair reads one partition
//! with a strongly consistent batch read.
//!
//! - follow `a → b`: `U#a / F#b` (gsi2 `FG#a` / `ts13#b`: whom `a` follows, newest
//!   first) and `U#b / FR#a` (gsi1 `FL#b` / `ts13#a`: who follows `b`).
//! - block `a ⊣ b`: `U#a / B#b` (gsi2 `BL#a` / `ts13#b`: `a`'s block list) and
//!   `U#b / BB#a`, so "a block either way" with `x` is two keys in `x`'s partition.
//!
//! Counters count only edges whose other end is not suspended. Which counters an edge
//! is in is written on its forward item: `cF` (in the follower's `following_count`,
//! i.e. the followee is not suspended) and `cE` (in the followee's `followers_count`,
//! i.e. the follower is not suspended). Removing an edge subtracts exactly what its
//! flags say, with a condition that they did not change since they were read; a
//! suspension flips them one edge at a time (`moderation.rs`), so counts stay exact
//! under races and a cut-off recount can resume.

use crate::db::Query;
use crate::item::{Item, ItemBuilder, flag, get_flag, get_n, get_s, n, s, ts13};
use crate::moderation::suspended_cond;
use crate::write::Write;
use crate::{DynamoStore, REPLANS, kept_racing, keys};
use async_trait::async_trait;
use scooter_core::notification::NewNotification;
use scooter_core::social::Relationship;
use scooter_core::{Timestamp, UserId};
use scooter_store::{Edge, EdgeKey, FollowOutcome, SocialStore, StoreError, StoreResult};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Flag on a forward follow item: counted in the follower's `following_count`.
pub(crate) const COUNTED_FOLLOWING: &str = "cF";
/// Flag on a forward follow item: counted in the followee's `followers_count`.
pub(crate) const COUNTED_FOLLOWERS: &str = "cE";

/// `gsi1pk` of the reverse follow items of `user`: its followers.
fn followers_of(user: &str) -> String {
    format!("FL#{user}")
}

/// `gsi2pk` of the forward follow items of `user`: whom it follows.
fn following_of(user: &str) -> String {
    format!("FG#{user}")
}

/// `gsi2pk` of the block items of `blocker`.
fn blocked_by_list(blocker: &str) -> String {
    format!("BL#{blocker}")
}

/// The two items of the follow `follower → followee` made at `at_ms`: the forward item
/// (`U#follower / F#followee`, with the counted flags and the following-list index)
/// and the reverse item (`U#followee / FR#follower`, with the followers-list index).
/// `counted_following`: the followee is not suspended; `counted_followers`: the
/// follower is not suspended. The bulk loader writes these too.
pub(crate) fn follow_items(
    follower: &str,
    followee: &str,
    at_ms: i64,
    counted_following: bool,
    counted_followers: bool,
) -> (Item, Item) {
    let forward = ItemBuilder::key(keys::user(follower), keys::follows(followee))
        .s("follower_id", follower)
        .s("followee_id", followee)
        .n("created_at", at_ms)
        .flag(COUNTED_FOLLOWING, counted_following)
        .flag(COUNTED_FOLLOWERS, counted_followers)
        .s("gsi2pk", following_of(follower))
        .s("gsi2sk", format!("{}#{followee}", ts13(at_ms)))
        .build();
    let reverse = ItemBuilder::key(keys::user(followee), keys::followed_by(follower))
        .s("follower_id", follower)
        .s("followee_id", followee)
        .n("created_at", at_ms)
        .s("gsi1pk", followers_of(followee))
        .s("gsi1sk", format!("{}#{follower}", ts13(at_ms)))
        .build();
    (forward, reverse)
}

/// The two items of the block `blocker ⊣ blocked` made at `at_ms`: `U#blocker / B#blocked`
/// (with the block-list index) and `U#blocked / BB#blocker`.
pub(crate) fn block_items(blocker: &str, blocked: &str, at_ms: i64) -> (Item, Item) {
    let forward = ItemBuilder::key(keys::user(blocker), keys::blocks(blocked))
        .s("blocker_id", blocker)
        .s("blocked_id", blocked)
        .n("created_at", at_ms)
        .s("gsi2pk", blocked_by_list(blocker))
        .s("gsi2sk", format!("{}#{blocked}", ts13(at_ms)))
        .build();
    let reverse = ItemBuilder::key(keys::user(blocked), keys::blocked_by(blocker))
        .s("blocker_id", blocker)
        .s("blocked_id", blocked)
        .n("created_at", at_ms)
        .build();
    (forward, reverse)
}

/// Counter changes per profile, merged so that a transaction touches each profile once
/// (a block can change both counters of both users).
#[derive(Debug, Default)]
struct Deltas(BTreeMap<String, (i64, i64)>);

impl Deltas {
    /// `followers_count` of `user` changes by `d`.
    fn followers(&mut self, user: &str, d: i64) {
        self.0.entry(user.to_owned()).or_default().0 += d;
    }

    /// `following_count` of `user` changes by `d`.
    fn following(&mut self, user: &str, d: i64) {
        self.0.entry(user.to_owned()).or_default().1 += d;
    }

    /// One update per profile in `existing` with a change; a profile read absent gets
    /// none (ADD would create it again). The condition fails, and the caller plans
    /// again, if it vanished meanwhile.
    fn writes(&self, table: &str, existing: &HashSet<String>) -> Vec<Write> {
        self.0
            .iter()
            .filter(|(user, (a, b))| existing.contains(*user) && (*a != 0 || *b != 0))
            .map(|(user, (followers, following))| {
                Write::update(
                    table,
                    &keys::user(user),
                    keys::PROFILE,
                    "ADD #followers_count :fr, #following_count :fg",
                )
                .cond("attribute_exists(#pk)")
                .value(":fr", n(*followers))
                .value(":fg", n(*following))
                .replan_on_fail()
            })
            .collect()
    }

    /// Whether `user`'s profile gets an update (which then carries its existence check).
    fn touches(&self, user: &str) -> bool {
        self.0.get(user).is_some_and(|(a, b)| *a != 0 || *b != 0)
    }
}

/// Binds `ph` on `w` to the counted flag `name` as it was read, and returns the
/// condition that it is still so (an absent flag still absent).
pub(crate) fn flag_unchanged(
    w: Write,
    name: &str,
    ph: &str,
    read: Option<bool>,
) -> (Write, String) {
    match read {
        Some(v) => (w.value(ph, flag(v)), format!("#{name} = {ph}")),
        None => (w, format!("attribute_not_exists(#{name})")),
    }
}

/// The deletes of one follow edge, guarded by the flags it was read with, adding what
/// it counted to `deltas`.
fn remove_edge_writes(
    table: &str,
    follower: &str,
    followee: &str,
    forward: &Item,
    deltas: &mut Deltas,
) -> Vec<Write> {
    let cf = get_flag(forward, COUNTED_FOLLOWING);
    let ce = get_flag(forward, COUNTED_FOLLOWERS);
    if cf == Some(true) {
        deltas.following(follower, -1);
    }
    if ce == Some(true) {
        deltas.followers(followee, -1);
    }
    let delete = Write::delete(table, &keys::user(follower), &keys::follows(followee));
    let (delete, cf_cond) = flag_unchanged(delete, COUNTED_FOLLOWING, ":cf", cf);
    let (delete, ce_cond) = flag_unchanged(delete, COUNTED_FOLLOWERS, ":ce", ce);
    vec![
        delete
            .cond(format!("attribute_exists(#pk) AND {cf_cond} AND {ce_cond}"))
            .replan_on_fail(),
        Write::delete(table, &keys::user(followee), &keys::followed_by(follower)),
    ]
}

/// What a planned follow comes to: an answer without writing, or the transaction.
enum FollowPlan {
    Decided(FollowOutcome),
    Write(Vec<Write>),
}

/// Where the follow transaction's actions sit, to read its cancellation reasons.
const FOLLOW_EDGE: usize = 0;
const FOLLOW_BLOCK: usize = 2;
const FOLLOW_BLOCKED_BY: usize = 3;
const FOLLOW_FOLLOWEE: usize = 4;

impl DynamoStore {
    /// The ids of `ids` whose profiles exist (strongly consistent), with the profiles.
    async fn profiles_by_id(&self, ids: &[&str]) -> StoreResult<HashMap<String, Item>> {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        Ok(self
            .profile_items(&ids)
            .await?
            .into_iter()
            .filter_map(|i| get_s(&i, "id").map(str::to_owned).map(|id| (id, i)))
            .collect())
    }

    /// The social items of `pk` with these sort keys, by sort key.
    async fn social_items(&self, pk: &str, sks: &[String]) -> StoreResult<HashMap<String, Item>> {
        let keys: Vec<(String, String)> =
            sks.iter().map(|sk| (pk.to_owned(), sk.clone())).collect();
        Ok(self
            .db
            .batch_get(&self.t.social, &keys)
            .await?
            .into_iter()
            .filter_map(|i| get_s(&i, "sk").map(str::to_owned).map(|sk| (sk, i)))
            .collect())
    }

    /// Reads and decides a follow; the writes carry conditions on everything read.
    async fn plan_follow(
        &self,
        follower: &str,
        followee: &str,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<FollowPlan> {
        let pk = keys::user(follower);
        let sks = [
            keys::follows(followee),
            keys::blocks(followee),
            keys::blocked_by(followee),
        ];
        let pair = [follower, followee];
        // The notification's reads depend on nothing here: all three at once (wasted
        // only when the follow is decided without writing).
        let notes = notify.map(std::slice::from_ref).unwrap_or_default();
        let (profiles, edges, note_writes) = tokio::try_join!(
            self.profiles_by_id(&pair),
            self.social_items(&pk, &sks),
            self.notification_writes(notes),
        )?;
        let Some(target) = profiles.get(followee) else {
            return Ok(FollowPlan::Decided(FollowOutcome::Unavailable));
        };
        if target.contains_key("suspended_at") {
            return Ok(FollowPlan::Decided(FollowOutcome::Unavailable));
        }
        if edges.contains_key(&sks[1]) || edges.contains_key(&sks[2]) {
            return Ok(FollowPlan::Decided(FollowOutcome::Blocked));
        }
        if edges.contains_key(&sks[0]) {
            return Ok(FollowPlan::Decided(FollowOutcome::AlreadyFollowing));
        }
        let Some(me) = profiles.get(follower) else {
            return Err(StoreError::MissingReference);
        };
        let me_suspended = me.contains_key("suspended_at");
        let (forward, reverse) = follow_items(follower, followee, at.millis(), true, !me_suspended);
        let t = &self.t.social;
        let absent = "attribute_not_exists(#pk)";
        // A self-follow touches one profile: both counters in one update.
        let same = follower == followee;
        let followee_update = Write::update(
            &self.t.users,
            &keys::user(followee),
            keys::PROFILE,
            if same {
                "ADD #followers_count :fr, #following_count :one"
            } else {
                "ADD #followers_count :fr"
            },
        )
        .cond(suspended_cond(false))
        .value(":fr", n(i64::from(!me_suspended)));
        let mut writes = vec![
            Write::put_new(t, forward),
            Write::put_new(t, reverse).replan_on_fail(),
            Write::check(t, &pk, &sks[1], absent),
            Write::check(t, &pk, &sks[2], absent),
            if same {
                followee_update.value(":one", n(1))
            } else {
                followee_update
            },
        ];
        if !same {
            writes.push(
                Write::update(
                    &self.t.users,
                    &keys::user(follower),
                    keys::PROFILE,
                    "ADD #following_count :one",
                )
                .cond(suspended_cond(me_suspended))
                .value(":one", n(1))
                .replan_on_fail(),
            );
        }
        writes.extend(note_writes);
        Ok(FollowPlan::Write(writes))
    }

    /// Removes the follow edge `follower → followee` and takes it out of exactly the
    /// counters its flags say it is in (profiles that no longer exist are left alone,
    /// so the account-deletion tail removes a deleted user's edges with it too).
    /// `false` if there was none.
    pub(crate) async fn remove_follow(&self, follower: &str, followee: &str) -> StoreResult<bool> {
        let (pk, sk) = (keys::user(follower), keys::follows(followee));
        let pair = [follower, followee];
        for _ in 0..REPLANS {
            let (forward, profiles) = tokio::try_join!(
                self.db.get(&self.t.social, &pk, &sk),
                self.profiles_by_id(&pair),
            )?;
            let Some(forward) = forward else {
                return Ok(false);
            };
            let existing: HashSet<String> = profiles.into_keys().collect();
            let mut deltas = Deltas::default();
            let mut writes =
                remove_edge_writes(&self.t.social, follower, followee, &forward, &mut deltas);
            writes.extend(deltas.writes(&self.t.users, &existing));
            if self.db.transact(writes).await?.is_ok() {
                return Ok(true);
            }
        }
        Err(kept_racing())
    }

    /// Removes the block `blocker ⊣ blocked` (both items). `false` if there was none.
    async fn remove_block(&self, blocker: &str, blocked: &str) -> StoreResult<bool> {
        let t = &self.t.social;
        let writes = vec![
            Write::delete(t, &keys::user(blocker), &keys::blocks(blocked))
                .cond("attribute_exists(#pk)"),
            Write::delete(t, &keys::user(blocked), &keys::blocked_by(blocker)),
        ];
        Ok(self.db.transact(writes).await?.is_ok())
    }

    /// One block, planned from consistent reads: `None` when there is nothing to write
    /// (the block stands and no edge is left), else the writes and the follow
    /// directions they remove.
    async fn plan_block(
        &self,
        blocker: &str,
        blocked: &str,
        at: Timestamp,
    ) -> StoreResult<Option<(Vec<Write>, bool, Vec<(String, String)>)>> {
        let pair = [blocker, blocked];
        let (pk_mine, pk_theirs) = (keys::user(blocker), keys::user(blocked));
        let sks_mine = [keys::blocks(blocked), keys::follows(blocked)];
        let sks_theirs = [keys::follows(blocker)];
        let (profiles, mine, theirs) = tokio::try_join!(
            self.profiles_by_id(&pair),
            self.social_items(&pk_mine, &sks_mine),
            self.social_items(&pk_theirs, &sks_theirs),
        )?;
        if !profiles.contains_key(blocker) || !profiles.contains_key(blocked) {
            return Err(StoreError::MissingReference);
        }
        let existed = mine.contains_key(&keys::blocks(blocked));
        let edges: Vec<(&str, &str, &Item)> = [
            mine.get(&keys::follows(blocked))
                .map(|i| (blocker, blocked, i)),
            // A self-block reads its one self-follow twice.
            theirs
                .get(&keys::follows(blocker))
                .filter(|_| blocker != blocked)
                .map(|i| (blocked, blocker, i)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if existed && edges.is_empty() {
            return Ok(None);
        }
        let t = &self.t.social;
        let mut writes = Vec::new();
        if !existed {
            let (forward, reverse) = block_items(blocker, blocked, at.millis());
            writes.push(Write::put_new(t, forward).replan_on_fail());
            writes.push(Write::put(t, reverse));
        }
        let mut deltas = Deltas::default();
        let mut removed = Vec::new();
        for (a, b, item) in edges {
            writes.extend(remove_edge_writes(t, a, b, item, &mut deltas));
            removed.push((a.to_owned(), b.to_owned()));
        }
        let existing: HashSet<String> = profiles.into_keys().collect();
        writes.extend(deltas.writes(&self.t.users, &existing));
        // Both users must still exist when the block lands.
        let users = if blocker == blocked {
            vec![blocker]
        } else {
            vec![blocker, blocked]
        };
        for user in users.into_iter().filter(|u| !deltas.touches(u)) {
            writes.push(
                Write::check(
                    &self.t.users,
                    &keys::user(user),
                    keys::PROFILE,
                    "attribute_exists(#pk)",
                )
                .replan_on_fail(),
            );
        }
        Ok(Some((writes, !existed, removed)))
    }

    /// One newest-first page of the users at the other end of edges listed in `index`
    /// under `list`, after `after`: with a viewer, those the viewer may see; without,
    /// those not suspended. Reads on until the page is full or the list ends.
    async fn edge_page(
        &self,
        (index, list, other): (&'static str, String, &str),
        viewer: Option<&str>,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut key = format!("#{index}pk = :pk");
        if after.is_some() {
            key.push_str(&format!(" AND #{index}sk < :c"));
        }
        let mut q = Query::new(&self.t.social, key)
            .index(index)
            .value(":pk", s(list))
            .backward();
        if let Some((at, id)) = after {
            q = q.value(":c", s(format!("{}#{id}", ts13(*at))));
        }
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut start = None;
        loop {
            let page_q = q
                .clone()
                .page_size(u32::try_from(want - out.len()).unwrap_or(limit));
            let (items, next) = self.db.query_page(&page_q, start).await?;
            let edges: Vec<(i64, String)> = items
                .iter()
                .filter_map(|i| Some((get_n(i, "created_at")?, get_s(i, other)?.to_owned())))
                .collect();
            let ids: Vec<String> = edges.iter().map(|(_, id)| id.clone()).collect();
            let mut shown = match viewer {
                Some(v) => self.visible_users(v, &ids).await?,
                None => self.users_by_id(&ids).await?,
            };
            for (at, id) in edges {
                match shown.remove(&id) {
                    Some(user) if user.suspension.is_none() => out.push(Edge {
                        key: (at, id),
                        user,
                    }),
                    _ => {}
                }
            }
            if out.len() >= want {
                out.truncate(want);
                return Ok(out);
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl SocialStore for DynamoStore {
    async fn relationship(&self, viewer: &UserId, other: &UserId) -> StoreResult<Relationship> {
        let o = other.as_str();
        let sks = [
            keys::follows(o),
            keys::followed_by(o),
            keys::blocks(o),
            keys::blocked_by(o),
        ];
        let found = self
            .social_items(&keys::user(viewer.as_str()), &sks)
            .await?;
        Ok(Relationship {
            following: found.contains_key(&sks[0]),
            followed_by: found.contains_key(&sks[1]),
            blocking: found.contains_key(&sks[2]),
            blocked_by: found.contains_key(&sks[3]),
        })
    }

    async fn blocked_either_way_among(
        &self,
        user: &UserId,
        others: &[UserId],
    ) -> StoreResult<Vec<UserId>> {
        let ids: Vec<String> = others.iter().map(|o| o.as_str().to_owned()).collect();
        let blocked = self.blocked_among(user.as_str(), &ids).await?;
        Ok(others
            .iter()
            .filter(|o| blocked.contains(o.as_str()))
            .cloned()
            .collect())
    }

    async fn follow(
        &self,
        follower: &UserId,
        followee: &UserId,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<FollowOutcome> {
        let (a, b) = (follower.as_str(), followee.as_str());
        for _ in 0..REPLANS {
            let writes = match self.plan_follow(a, b, at, notify).await? {
                FollowPlan::Decided(outcome) => return Ok(outcome),
                FollowPlan::Write(w) => w,
            };
            let Err(c) = self.db.transact(writes).await? else {
                self.timeline_after_follow(a, b).await?;
                return Ok(FollowOutcome::Followed);
            };
            if c.failed(FOLLOW_EDGE) {
                return Ok(FollowOutcome::AlreadyFollowing);
            }
            if c.failed(FOLLOW_BLOCK) || c.failed(FOLLOW_BLOCKED_BY) {
                return Ok(FollowOutcome::Blocked);
            }
            if c.failed(FOLLOW_FOLLOWEE) {
                return Ok(FollowOutcome::Unavailable);
            }
        }
        Err(kept_racing())
    }

    async fn unfollow(&self, follower: &UserId, followee: &UserId) -> StoreResult<bool> {
        let (a, b) = (follower.as_str(), followee.as_str());
        let removed = self.remove_follow(a, b).await?;
        if removed {
            self.timeline_after_unfollow(a, b).await?;
        }
        Ok(removed)
    }

    async fn block(&self, blocker: &UserId, blocked: &UserId, at: Timestamp) -> StoreResult<bool> {
        let (a, b) = (blocker.as_str(), blocked.as_str());
        for _ in 0..REPLANS {
            let Some((writes, added, removed)) = self.plan_block(a, b, at).await? else {
                return Ok(false);
            };
            if self.db.transact(writes).await?.is_err() {
                continue;
            }
            for (f, e) in &removed {
                self.timeline_after_unfollow(f, e).await?;
            }
            return Ok(added);
        }
        Err(kept_racing())
    }

    async fn unblock(&self, blocker: &UserId, blocked: &UserId) -> StoreResult<bool> {
        self.remove_block(blocker.as_str(), blocked.as_str()).await
    }

    async fn list_blocked(
        &self,
        blocker: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        let list = ("gsi2", blocked_by_list(blocker.as_str()), "blocked_id");
        self.edge_page(list, None, after, limit).await
    }

    async fn list_followers(
        &self,
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        let list = ("gsi1", followers_of(user.as_str()), "follower_id");
        self.edge_page(list, Some(viewer.as_str()), after, limit)
            .await
    }

    async fn list_following(
        &self,
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        let list = ("gsi2", following_of(user.as_str()), "followee_id");
        self.edge_page(list, Some(viewer.as_str()), after, limit)
            .await
    }
}
