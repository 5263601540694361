//! `TimelineStore`: one partition per user in the posts table (`TL#user`): the head
//! `H` (`horizon`, `read_at`, `gen`), one entry `E#post` per post (`author_id`), and
//! fill markers `FILL#followee#nonce` while a follow's backfill is under way. See
//! `scooter_store::timelines` for the rules.
//!
//! Access patterns:
//! - a page: one consistent query of the head and the fill markers (`sk >= FILL#`),
//!   beside the pulled authors; then the entries backwards from the cursor down to the
//!   horizon, one page's worth a call, filtered at read (followed or mine, author not
//!   suspended, post exists: the three read at once), merged with the pulled and the
//!   filling authors the reader follows, continued below the horizon by the pull
//!   feed;
//! - heads by last read: `gsi1` `TLR` / `ts13(read_at)#user` (expiry, trimming);
//! - pulled authors: the partition `TLPULL` in the posts table (sort key: the author),
//!   small since only authors with the fan-out limit's followers land there;
//! - the users a full rebuild walks: `gsi1` `USERS` of the users table (profiles).
//!
//! Without a multi-item lock, three devices keep the rule "a timeline holds every
//! visible post at or above its horizon" true for readers at every moment:
//! - Any horizon change bumps `gen`; a rebuild registers the head with horizon `TOP`
//!   (nothing authoritative: readers pull) and lowers it only if `gen` is still what it
//!   set, else it builds again. A follow's backfill bumps `gen` before it reads the
//!   horizon, so a rebuild that read the follow graph before the follow builds again.
//! - A follow's backfill (up to 200 entries, more than a transaction holds) first puts
//!   a fill marker: readers merge that followee's posts above the horizon at read
//!   until the copy is in and the marker deleted. A marker left by a crash only costs
//!   reads; the next rebuild drops it.
//! - An unfollow deletes the followee's entries in transactions that check the follow
//!   is still absent, so a racing re-follow's backfill is never undone.
//! - Expiry first raises the horizon to `TOP`, deletes entries only while `gen` is
//!   unchanged, then the head.

use crate::db::{ConditionFailed, Query, put_request};
use crate::hidden::distinct;
use crate::item::{Item, ItemBuilder, get_flag, get_n, get_s, n, s, ts13};
use crate::keys;
use crate::posts::TOP;
use crate::write::Write;
use crate::{DynamoStore, REPLANS, kept_racing};
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_core::post::Post;
use scooter_core::{Timestamp, UserId};
use scooter_store::timelines::{FAN_OUT_JOB, FanOut, TimelinePage, TimelineStore};
use scooter_store::{StoreError, StoreResult};
use std::collections::HashSet;

/// At most this many of a newly followed author's posts are copied into the follower's
/// timeline; beyond them the follower's horizon rises, and older pages are pulled.
const FOLLOW_BACKFILL: u32 = 200;
/// `gsi1pk` of every timeline head (sort key: last read, then the user).
const TIMELINE_READS: &str = "TLR";
/// Partition (posts table) listing the pulled authors.
const PULLED_AUTHORS: &str = "TLPULL";
/// Sort-key prefix of fill markers.
const FILL: &str = "FILL#";
/// Sort-key prefix of entries.
const ENTRY: &str = "E#";
/// Most entries read per call while filling a page (a page asks for its own size,
/// plus the cursor that the inclusive bound hands back).
const ENTRY_CHUNK: u32 = 100;
/// Entries deleted per transaction (one more action checks the condition).
const DELETE_CHUNK: usize = 99;

fn backend(what: &'static str) -> StoreError {
    StoreError::Backend(what.into())
}

/// A timeline entry (also for the bulk loader).
pub(crate) fn timeline_entry_item(user: &str, post_id: &str, author: &str) -> Item {
    ItemBuilder::key(keys::timeline(user), keys::timeline_entry(post_id))
        .s("post_id", post_id)
        .s("author_id", author)
        .build()
}

/// A timeline as a reader needs it.
struct Head {
    horizon: String,
    read_at: i64,
    /// Followees whose backfill is under way.
    filling: Vec<String>,
}

impl DynamoStore {
    /// The head and fill markers of `user`'s timeline (one consistent query).
    async fn timeline_head(&self, user: &str) -> StoreResult<Option<Head>> {
        let q = Query::new(&self.t.posts, "#pk = :pk AND #sk >= :f")
            .value(":pk", s(keys::timeline(user)))
            .value(":f", s(FILL));
        let items = self.db.query_all(&q, None).await?;
        let mut head = None;
        let mut filling = Vec::new();
        for i in &items {
            match get_s(i, "sk") {
                Some(sk) if sk == keys::TIMELINE_HEAD => head = Some(i),
                Some(sk) => {
                    if let Some(f) = sk.strip_prefix(FILL).and_then(|r| r.split('#').next()) {
                        filling.push(f.to_owned());
                    }
                }
                None => {}
            }
        }
        Ok(head.map(|h| Head {
            horizon: get_s(h, "horizon").unwrap_or_default().to_owned(),
            read_at: get_n(h, "read_at").unwrap_or(0),
            filling,
        }))
    }

    /// In the transaction that stores a new post: the author's own entry when they
    /// have a timeline, and the fan-out job (always a job, as on PostgreSQL: it runs
    /// after the post is in, so it sees every timeline registered before that).
    pub(crate) async fn timeline_post_writes(
        &self,
        post_id: &str,
        author: &str,
        at: Timestamp,
    ) -> StoreResult<Vec<Write>> {
        let mut writes = Vec::new();
        if self
            .db
            .get(&self.t.posts, &keys::timeline(author), keys::TIMELINE_HEAD)
            .await?
            .is_some()
        {
            writes.push(Write::put(
                &self.t.posts,
                timeline_entry_item(author, post_id, author),
            ));
        }
        let job = NewJob {
            id: new_id(),
            kind: FAN_OUT_JOB.to_owned(),
            payload: post_id.to_owned(),
            dedupe: Some(format!("fan-out:{post_id}")),
            run_at: at,
        };
        writes.extend(self.job_writes_unchecked(&job, Timestamp::now()));
        Ok(writes)
    }

    /// Those of `others` that `user` follows (consistent reads of the edges).
    async fn follows_among(&self, user: &str, others: &[String]) -> StoreResult<HashSet<String>> {
        if others.is_empty() {
            return Ok(HashSet::new());
        }
        let pk = keys::user(user);
        let wanted: Vec<(String, String)> = others
            .iter()
            .map(|o| (pk.clone(), keys::follows(o)))
            .collect();
        Ok(self
            .db
            .batch_get(&self.t.social, &wanted)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk")?.strip_prefix("F#").map(str::to_owned))
            .collect())
    }

    /// The pulled authors (the registry is small: see the module header).
    async fn pulled_authors(&self) -> StoreResult<Vec<String>> {
        let q = Query::new(&self.t.posts, "#pk = :pk")
            .value(":pk", s(PULLED_AUTHORS))
            .project("#sk");
        Ok(self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk").map(str::to_owned))
            .collect())
    }

    /// Those of `authors` whose posts `user` sees: `user`, and the others `user`
    /// follows, not suspended. The edges and the profiles are read at once.
    async fn shown_authors(&self, user: &str, authors: &[String]) -> StoreResult<HashSet<String>> {
        let others: Vec<String> = authors.iter().filter(|a| *a != user).cloned().collect();
        let (followed, users) =
            tokio::try_join!(self.follows_among(user, &others), self.users_by_id(authors))?;
        Ok(users
            .into_iter()
            .filter(|(id, u)| u.suspension.is_none() && (id == user || followed.contains(id)))
            .map(|(id, _)| id)
            .collect())
    }

    /// The posts of `user`'s entries in `[horizon, before)` that a reader sees, newest
    /// first, at most `limit`.
    async fn entry_posts(
        &self,
        user: &str,
        before: &str,
        horizon: &str,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let q = Query::new(&self.t.posts, "#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .value(":pk", s(keys::timeline(user)))
            .value(":lo", s(keys::timeline_entry(horizon)))
            .value(":hi", s(keys::timeline_entry(before)))
            .backward()
            .page_size(limit.saturating_add(1).min(ENTRY_CHUNK));
        let mut out: Vec<Post> = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.db.query_page(&q, start).await?;
            let entries: Vec<(&str, &str)> = items
                .iter()
                .filter_map(|i| Some((get_s(i, "post_id")?, get_s(i, "author_id")?)))
                .filter(|(p, _)| *p < before)
                .collect();
            let ids: Vec<String> = entries.iter().map(|(p, _)| (*p).to_owned()).collect();
            let authors = distinct(entries.iter().map(|(_, a)| *a));
            // The posts are read with the rules, not after them: hidden ones are rare.
            let (shown, posts) =
                tokio::try_join!(self.shown_authors(user, &authors), self.posts_by_id(&ids))?;
            out.extend(
                posts
                    .into_iter()
                    .filter(|p| shown.contains(p.author.as_str())),
            );
            match next {
                Some(n) if out.len() < limit as usize => start = Some(n),
                _ => break,
            }
        }
        out.truncate(limit as usize);
        Ok(out)
    }

    /// Registers (or resets) `user`'s timeline with nothing authoritative yet; returns
    /// its `gen`.
    async fn register_timeline(&self, user: &str, now: Timestamp) -> StoreResult<i64> {
        let w = Write::update(
            &self.t.posts,
            &keys::timeline(user),
            keys::TIMELINE_HEAD,
            "SET #user_id = :u, #horizon = :top, #read_at = :now, #gsi1pk = :g, #gsi1sk = :gs \
             ADD #gen :one",
        )
        .value(":u", s(user))
        .value(":top", s(TOP))
        .value(":now", n(now.millis()))
        .value(":g", s(TIMELINE_READS))
        .value(":gs", s(keys::at_then(now.millis(), user)))
        .value(":one", n(1));
        let item = self
            .db
            .write(w, true)
            .await?
            .map_err(|ConditionFailed| backend("registering a timeline was refused"))?;
        item.as_ref()
            .and_then(|i| get_n(i, "gen"))
            .ok_or_else(|| backend("a timeline head without its gen"))
    }

    /// Sort keys of every item of `user`'s timeline partition but the head.
    async fn timeline_items(&self, user: &str) -> StoreResult<Vec<String>> {
        let q = Query::new(&self.t.posts, "#pk = :pk AND #sk < :h")
            .value(":pk", s(keys::timeline(user)))
            .value(":h", s(keys::TIMELINE_HEAD))
            .project("#sk");
        Ok(self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk").map(str::to_owned))
            .collect())
    }

    /// Deletes these items of `user`'s timeline partition (no condition).
    async fn delete_timeline_items(&self, user: &str, sks: &[String]) -> StoreResult<()> {
        let pk = keys::timeline(user);
        let keys = sks.iter().map(|sk| (pk.clone(), sk.clone())).collect();
        self.db.delete_keys(&self.t.posts, keys).await
    }

    /// One build of `user`'s timeline under `gen`: `true` when the horizon was set.
    async fn build_once(
        &self,
        user: &str,
        keep: u32,
        now: Timestamp,
        built: &mut HashSet<String>,
    ) -> StoreResult<bool> {
        let gen_ = self.register_timeline(user, now).await?;
        let mut authors = self.followed(user).await?;
        authors.push(user.to_owned());
        // Suspended authors too: reads hide them, and a reinstatement shows them again.
        let newest = self.merged_candidates(&authors, TOP, "", keep).await?;
        let mut puts = Vec::with_capacity(newest.len());
        for i in &newest {
            let (Some(p), Some(a)) = (get_s(i, "id"), get_s(i, "author_id")) else {
                continue;
            };
            built.insert(keys::timeline_entry(p));
            puts.push(put_request(timeline_entry_item(user, p, a))?);
        }
        self.db.batch_write(&self.t.posts, puts).await?;
        let horizon = if newest.len() >= keep as usize {
            newest
                .last()
                .and_then(|i| get_s(i, "id"))
                .unwrap_or_default()
        } else {
            ""
        };
        let w = Write::update(
            &self.t.posts,
            &keys::timeline(user),
            keys::TIMELINE_HEAD,
            "SET #horizon = :h",
        )
        .cond("#gen = :gen")
        .value(":h", s(horizon))
        .value(":gen", n(gen_));
        Ok(self.db.write(w, false).await?.is_ok())
    }

    /// Raises `user`'s horizon to `to` (never lowers it, never while a build holds it
    /// at `TOP`) and drops the entries below; returns the entries dropped.
    async fn raise_horizon(&self, user: &str, to: &str) -> StoreResult<u64> {
        let w = Write::update(
            &self.t.posts,
            &keys::timeline(user),
            keys::TIMELINE_HEAD,
            "SET #horizon = :h ADD #gen :one",
        )
        .cond("attribute_exists(#pk) AND #horizon < :h")
        .value(":h", s(to))
        .value(":one", n(1));
        if self.db.write(w, false).await?.is_err() {
            return Ok(0);
        }
        let q = Query::new(&self.t.posts, "#pk = :pk AND #sk < :e")
            .value(":pk", s(keys::timeline(user)))
            .value(":e", s(keys::timeline_entry(to)))
            .project("#sk");
        let below: Vec<String> = self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk"))
            .filter(|sk| sk.starts_with(ENTRY))
            .map(str::to_owned)
            .collect();
        self.delete_timeline_items(user, &below).await?;
        Ok(below.len() as u64)
    }

    /// Drops `user`'s timeline if it was last read before `cutoff`: `true` if dropped.
    async fn expire_one(&self, user: &str, cutoff: i64) -> StoreResult<bool> {
        let pk = keys::timeline(user);
        // Nothing authoritative first, so readers pull while the entries go.
        let w = Write::update(
            &self.t.posts,
            &pk,
            keys::TIMELINE_HEAD,
            "SET #horizon = :top ADD #gen :one",
        )
        .cond("attribute_exists(#pk) AND #read_at < :c")
        .value(":top", s(TOP))
        .value(":one", n(1))
        .value(":c", n(cutoff));
        let Ok(Some(head)) = self.db.write(w, true).await? else {
            return Ok(false);
        };
        let gen_ = get_n(&head, "gen").ok_or_else(|| backend("a timeline head without its gen"))?;
        let items = self.timeline_items(user).await?;
        for chunk in items.chunks(DELETE_CHUNK) {
            // A rebuild that re-registered meanwhile owns the partition now.
            let mut writes = vec![
                Write::check(&self.t.posts, &pk, keys::TIMELINE_HEAD, "#gen = :gen")
                    .value(":gen", n(gen_)),
            ];
            writes.extend(chunk.iter().map(|sk| Write::delete(&self.t.posts, &pk, sk)));
            if self.db.transact(writes).await?.is_err() {
                return Ok(true);
            }
        }
        let head = Write::delete(&self.t.posts, &pk, keys::TIMELINE_HEAD)
            .cond("#gen = :gen")
            .value(":gen", n(gen_));
        let _ = self.db.write(head, false).await?;
        Ok(true)
    }

    /// Marks `author` pulled, for good: the flag on the profile and the registry.
    async fn mark_pulled(&self, author: &str) -> StoreResult<()> {
        let flag = Write::update(
            &self.t.users,
            &keys::user(author),
            keys::PROFILE,
            "SET #timeline_pull = :t",
        )
        .cond("attribute_exists(#pk)")
        .value(":t", crate::item::flag(true));
        let listed = Write::put(
            &self.t.posts,
            ItemBuilder::key(PULLED_AUTHORS, author).build(),
        );
        // A deleted author needs neither.
        let _ = self.db.transact(vec![flag, listed]).await?;
        Ok(())
    }

    /// Adds `post_id` to the timelines of these followers that have one and lack it;
    /// returns how many got it.
    async fn copy_to_timelines(
        &self,
        followers: &[String],
        post_id: &str,
        author: &str,
    ) -> StoreResult<u64> {
        let heads: Vec<(String, String)> = followers
            .iter()
            .map(|f| (keys::timeline(f), keys::TIMELINE_HEAD.to_owned()))
            .collect();
        let with: Vec<String> = self
            .db
            .batch_get(&self.t.posts, &heads)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "user_id").map(str::to_owned))
            .collect();
        let entries: Vec<(String, String)> = with
            .iter()
            .map(|f| (keys::timeline(f), keys::timeline_entry(post_id)))
            .collect();
        let have: HashSet<String> = self
            .db
            .batch_get(&self.t.posts, &entries)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "pk").map(str::to_owned))
            .collect();
        let puts = with
            .iter()
            .filter(|f| !have.contains(&keys::timeline(f)))
            .map(|f| put_request(timeline_entry_item(f, post_id, author)))
            .collect::<StoreResult<Vec<_>>>()?;
        let n = puts.len() as u64;
        self.db.batch_write(&self.t.posts, puts).await?;
        Ok(n)
    }

    /// After a follow: the followee's posts above the follower's horizon join the
    /// follower's timeline (at most 200; beyond them the horizon rises). A fill marker
    /// covers readers while the copy is under way; a pulled followee is merged at read.
    pub(crate) async fn timeline_after_follow(
        &self,
        follower: &str,
        followee: &str,
    ) -> StoreResult<()> {
        let pk = keys::timeline(follower);
        // No timeline now: one registered later reads the graph after this follow.
        if self
            .db
            .get(&self.t.posts, &pk, keys::TIMELINE_HEAD)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let marker = format!("{FILL}{followee}#{}", new_id());
        let mark = ItemBuilder::key(pk.clone(), marker.clone())
            .n("created_at", Timestamp::now().millis())
            .build();
        self.db
            .write(Write::put(&self.t.posts, mark), false)
            .await?
            .ok();
        let result = self.backfill(follower, followee).await;
        self.db
            .write(Write::delete(&self.t.posts, &pk, &marker), false)
            .await?
            .ok();
        result
    }

    async fn backfill(&self, follower: &str, followee: &str) -> StoreResult<()> {
        // The bump comes before the horizon is read: a rebuild that read the graph
        // before this follow sees its `gen` change and builds again.
        let bump = Write::update(
            &self.t.posts,
            &keys::timeline(follower),
            keys::TIMELINE_HEAD,
            "ADD #gen :one",
        )
        .cond("attribute_exists(#pk)")
        .value(":one", n(1));
        let Ok(Some(head)) = self.db.write(bump, true).await? else {
            return Ok(());
        };
        let horizon = get_s(&head, "horizon").unwrap_or_default().to_owned();
        if horizon.as_str() >= TOP {
            return Ok(());
        }
        let pulled = self
            .db
            .get(&self.t.users, &keys::user(followee), keys::PROFILE)
            .await?
            .is_some_and(|p| get_flag(&p, "timeline_pull").unwrap_or(false));
        if pulled {
            return Ok(());
        }
        let items = self
            .author_candidates(followee, TOP, &horizon, FOLLOW_BACKFILL + 1)
            .await?;
        let ids: Vec<&str> = items.iter().filter_map(|i| get_s(i, "id")).collect();
        let keep = ids.len().min(FOLLOW_BACKFILL as usize);
        let puts = ids[..keep]
            .iter()
            .map(|p| put_request(timeline_entry_item(follower, p, followee)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.db.batch_write(&self.t.posts, puts).await?;
        if ids.len() > keep
            && let Some(lowest) = ids.get(keep.saturating_sub(1))
        {
            self.raise_horizon(follower, lowest).await?;
        }
        Ok(())
    }

    /// After an unfollow: the followee's entries leave the follower's timeline (reads
    /// already hide them), in transactions that stop at a re-follow.
    pub(crate) async fn timeline_after_unfollow(
        &self,
        follower: &str,
        followee: &str,
    ) -> StoreResult<()> {
        let pk = keys::timeline(follower);
        let q = Query::new(&self.t.posts, "#pk = :pk AND begins_with(#sk, :e)")
            .value(":pk", s(pk.clone()))
            .value(":e", s(ENTRY))
            .value(":a", s(followee))
            .filter("#author_id = :a")
            .project("#sk, #author_id");
        let entries: Vec<String> = self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk").map(str::to_owned))
            .collect();
        for chunk in entries.chunks(DELETE_CHUNK) {
            let mut writes = vec![Write::check(
                &self.t.social,
                &keys::user(follower),
                &keys::follows(followee),
                "attribute_not_exists(#pk)",
            )];
            writes.extend(chunk.iter().map(|sk| Write::delete(&self.t.posts, &pk, sk)));
            if self.db.transact(writes).await?.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl TimelineStore for DynamoStore {
    async fn timeline_page(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Option<TimelinePage>> {
        let me = user.as_str();
        // The pulled authors are read beside the head: nearly every page needs them.
        let (head, pulled) = tokio::try_join!(self.timeline_head(me), self.pulled_authors())?;
        let Some(head) = head else {
            return Ok(None);
        };
        let before = before.unwrap_or(TOP);
        let horizon = head.horizon.as_str();
        let mut page: Vec<Post> = Vec::new();
        if horizon < before && limit > 0 {
            // Pulled and filling authors are merged at read, those `me` sees.
            let merged = async {
                let candidates = distinct(
                    pulled
                        .iter()
                        .chain(&head.filling)
                        .map(String::as_str)
                        .filter(|a| *a != me),
                );
                let shown = self.shown_authors(me, &candidates).await?;
                let authors: Vec<String> = shown.into_iter().collect();
                self.merged_posts(&authors, before, horizon, limit).await
            };
            let (entries, merged) =
                tokio::try_join!(self.entry_posts(me, before, horizon, limit), merged)?;
            page = entries.into_iter().chain(merged).collect();
            page.sort_by(|a, b| b.id.cmp(&a.id));
            page.dedup_by(|a, b| a.id == b.id);
            page.truncate(limit as usize);
        }
        // Below the horizon the timeline says nothing: continue from the follow graph.
        let got = u32::try_from(page.len()).unwrap_or(u32::MAX);
        if got < limit && !horizon.is_empty() {
            let from = before.min(horizon);
            page.extend(self.pull_page(me, from, limit - got).await?);
        }
        Ok(Some(TimelinePage {
            posts: page,
            read_at: Timestamp::from_millis(head.read_at),
        }))
    }

    async fn touch_timeline(&self, user: &UserId, now: Timestamp) -> StoreResult<()> {
        let w = Write::update(
            &self.t.posts,
            &keys::timeline(user.as_str()),
            keys::TIMELINE_HEAD,
            "SET #read_at = :now, #gsi1sk = :gs",
        )
        .cond("attribute_exists(#pk) AND #read_at < :now")
        .value(":now", n(now.millis()))
        .value(":gs", s(keys::at_then(now.millis(), user.as_str())));
        // Not there, or read later already: nothing to record.
        let _ = self.db.write(w, false).await?;
        Ok(())
    }

    async fn expire_timelines(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let q = Query::new(&self.t.posts, "#gsi1pk = :g AND #gsi1sk < :c")
            .index("gsi1")
            .value(":g", s(TIMELINE_READS))
            .value(":c", s(ts13(cutoff.millis())));
        let heads = self.db.query_all(&q, None).await?;
        let mut dropped = 0;
        for h in &heads {
            let Some(user) = get_s(h, "user_id") else {
                continue;
            };
            if self.expire_one(user, cutoff.millis()).await? {
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    async fn rebuild_timeline(&self, user: &UserId, keep: u32, now: Timestamp) -> StoreResult<()> {
        let me = user.as_str();
        let keep = keep.max(1);
        // What was there before (stale entries, fill markers of earlier follows, which
        // the build covers): dropped once the build is in, unless rebuilt.
        let before_build = self.timeline_items(me).await?;
        let mut built = HashSet::new();
        for _ in 0..REPLANS {
            if self.build_once(me, keep, now, &mut built).await? {
                let stale: Vec<String> = before_build
                    .into_iter()
                    .filter(|sk| !built.contains(sk))
                    .collect();
                return self.delete_timeline_items(me, &stale).await;
            }
        }
        Err(kept_racing())
    }

    async fn fan_out_post(&self, post_id: &str, max_followers: u64) -> StoreResult<FanOut> {
        let Some(post) = self.post_now(post_id).await? else {
            return Ok(FanOut::Gone);
        };
        let author = post.author.as_str();
        let Some(profile) = self
            .db
            .get(&self.t.users, &keys::user(author), keys::PROFILE)
            .await?
        else {
            return Ok(FanOut::Written(0));
        };
        let pulled = get_flag(&profile, "timeline_pull").unwrap_or(false);
        let followers = u64::try_from(get_n(&profile, "followers_count").unwrap_or(0)).unwrap_or(0);
        if pulled || followers >= max_followers {
            self.mark_pulled(author).await?;
            return Ok(FanOut::Pulled);
        }
        let q = Query::new(&self.t.social, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::user(author)))
            .value(":p", s(keys::followed_by("")))
            .project("#sk")
            .page_size(100);
        let mut written = 0;
        let mut start = None;
        loop {
            let (items, next) = self.db.query_page(&q, start).await?;
            let ids: Vec<String> = items
                .iter()
                .filter_map(|i| get_s(i, "sk")?.strip_prefix("FR#").map(str::to_owned))
                .collect();
            written += self.copy_to_timelines(&ids, post_id, author).await?;
            match next {
                Some(n) => start = Some(n),
                None => return Ok(FanOut::Written(written)),
            }
        }
    }

    async fn trim_timelines(&self, keep: u32, slack: u32) -> StoreResult<u64> {
        let q = Query::new(&self.t.posts, "#gsi1pk = :g")
            .index("gsi1")
            .value(":g", s(TIMELINE_READS));
        let heads = self.db.query_all(&q, None).await?;
        let keep = keep.max(1) as usize;
        let mut dropped = 0;
        for h in &heads {
            let Some(user) = get_s(h, "user_id") else {
                continue;
            };
            let q = Query::new(&self.t.posts, "#pk = :pk AND begins_with(#sk, :e)")
                .value(":pk", s(keys::timeline(user)))
                .value(":e", s(ENTRY))
                .backward()
                .project("#sk");
            let entries = self.db.query_all(&q, None).await?;
            if entries.len() <= keep + slack as usize {
                continue;
            }
            let cut = entries
                .get(keep - 1)
                .and_then(|i| get_s(i, "sk"))
                .and_then(|sk| sk.strip_prefix(ENTRY));
            if let Some(cut) = cut {
                dropped += self.raise_horizon(user, cut).await?;
            }
        }
        Ok(dropped)
    }

    async fn timeline_users(&self, after: Option<&UserId>, limit: u32) -> StoreResult<Vec<UserId>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = match after {
            Some(a) => Query::new(&self.t.users, "#gsi1pk = :g AND #gsi1sk > :a")
                .value(":a", s(a.as_str())),
            None => Query::new(&self.t.users, "#gsi1pk = :g"),
        }
        .index("gsi1")
        .value(":g", s(keys::ALL_USERS))
        .page_size(limit);
        self.db
            .query_all(&q, Some(limit as usize))
            .await?
            .iter()
            .filter_map(|i| get_s(i, "id"))
            .map(|id| UserId::parse(id).ok_or_else(|| backend("stored user id is malformed")))
            .collect()
    }
}
