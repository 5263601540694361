//! `ScoopStore`: scoops and their views in the scoops table.
//!
//! - A scoop is `S#id` / `S` (the SQL columns, `gsi1` = `SA#author` / expiry then id,
//!   so an author's live scoops are one range of the index past `now`).
//! - A view is `S#id` / `V#viewer` (`scoop_id`, `viewer_id`, `viewed_at`), listed per
//!   scoop newest first by `gsi1` = `SV#id` / `viewed_at` then viewer, and per viewer by
//!   `gsi2` = `VB#viewer` / scoop id (an account's deletion takes its views back).
//!
//! Expiry takes effect in the reads (every read compares `expires_at` with `now`); the
//! purge job queued with the scoop deletes it afterwards, and `ttl` (expiry plus two
//! days) is only the backstop for anything a crash left behind. Lists come from the
//! index (eventually consistent), then the items and the viewer's views are read from
//! the base table in one `BatchGetItem`, so a scoop deleted meanwhile or a view just
//! recorded is seen as it is. A feed page reads one index range per followed author,
//! then the scoops with the viewer's views beside the authors' profiles.

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, ItemBuilder, Rec, get_n, get_s, n, req_s, s, ttl_at};
use crate::keys;
use crate::write::Write;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_core::scoop::Scoop;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_store::scoops::{PURGE_SCOOP_JOB, SCOOPS_PER_AUTHOR};
use scooter_store::{AuthorScoops, ScoopFeedKey, ScoopStore, SeenScoop, StoreError, StoreResult};
use scooter_store_sql::{Get, rows};
use std::collections::{HashMap, HashSet};

/// How long after its expiry DynamoDB's TTL may delete a scoop or view the purge job
/// missed.
const TTL_GRACE_SECS: i64 = 2 * 24 * 3600;
/// Index queries run at once for a feed page (one per followed author).
const PARALLEL_QUERIES: usize = 16;
/// Views read per round when listing viewers or deleting views.
const VIEW_CHUNK: u32 = 100;

/// `gsi1pk` of a scoop's views (`gsi1sk`: [`keys::at_then`] of the view time and viewer).
fn viewers_of(id: &str) -> String {
    format!("SV#{id}")
}

/// `gsi2pk` of a viewer's views (`gsi2sk`: the scoop id).
fn views_by(viewer: &str) -> String {
    format!("VB#{viewer}")
}

fn backstop_ttl(expires_at: Timestamp) -> AttributeValue {
    ttl_at(expires_at.plus_seconds(TTL_GRACE_SECS).millis())
}

/// A scoop as stored: the SQL columns, the TTL backstop and the author's list (`gsi1`).
/// The bulk loader writes the same item.
pub(crate) fn scoop_item(sc: &Scoop) -> Item {
    let author = sc.author.as_str();
    ItemBuilder::key(keys::scoop(&sc.id), keys::SCOOP_ITEM)
        .s("id", &sc.id)
        .s("author_id", author)
        .s("media_key", &sc.media_key)
        .opt_s("media_alt", sc.media_alt.clone())
        .opt_s("caption", sc.caption.clone())
        .n("created_at", sc.created_at.millis())
        .n("expires_at", sc.expires_at.millis())
        .n("view_count", sc.view_count)
        .set("ttl", backstop_ttl(sc.expires_at))
        .s("gsi1pk", keys::author_scoops(author))
        .s("gsi1sk", keys::at_then(sc.expires_at.millis(), &sc.id))
        .build()
}

/// A view, living as long as its scoop.
fn view_item(id: &str, viewer: &str, at: Timestamp, expires_at: Timestamp) -> Item {
    ItemBuilder::key(keys::scoop(id), keys::view(viewer))
        .s("scoop_id", id)
        .s("viewer_id", viewer)
        .n("viewed_at", at.millis())
        .set("ttl", backstop_ttl(expires_at))
        .s("gsi1pk", viewers_of(id))
        .s("gsi1sk", keys::at_then(at.millis(), viewer))
        .s("gsi2pk", views_by(viewer))
        .s("gsi2sk", id)
        .build()
}

/// The purge job of a scoop, due when it expires (one per scoop).
pub(crate) fn purge_scoop_job(sc: &Scoop) -> NewJob {
    NewJob {
        id: new_id(),
        kind: PURGE_SCOOP_JOB.to_owned(),
        payload: sc.id.clone(),
        dedupe: Some(format!("purge-scoop:{}", sc.id)),
        run_at: sc.expires_at,
    }
}

fn live_at(item: &Item, now: Timestamp) -> bool {
    get_n(item, "expires_at").is_some_and(|e| e > now.millis())
}

/// Where a feed entry sits: me first, then authors with something unseen, then those
/// all seen; newest latest scoop first; then id.
fn feed_key(author: &str, viewer: &str, scoops: &[SeenScoop]) -> ScoopFeedKey {
    let rank = if author == viewer {
        0
    } else if scoops.iter().any(|x| !x.seen) {
        1
    } else {
        2
    };
    let latest = scoops
        .iter()
        .map(|x| x.scoop.created_at.millis())
        .max()
        .unwrap_or(0);
    (rank, latest.saturating_neg(), author.to_owned())
}

impl DynamoStore {
    /// The ids of an author's scoops live at `now` by the index (the soonest to expire
    /// first, at most [`SCOOPS_PER_AUTHOR`]); to be confirmed against the base table.
    async fn live_ids_of(&self, author: &str, now: Timestamp) -> StoreResult<Vec<String>> {
        // `expires_at > now` is `gsi1sk >= ts13(now + 1)`; "ts13#" sorts before any id.
        let q = Query::new(&self.t.scoops, "#gsi1pk = :pk AND #gsi1sk > :from")
            .index("gsi1")
            .value(":pk", s(keys::author_scoops(author)))
            .value(
                ":from",
                s(keys::at_then(now.millis().saturating_add(1), "")),
            )
            .project("#id")
            .page_size(SCOOPS_PER_AUTHOR);
        let max = usize::try_from(SCOOPS_PER_AUTHOR).unwrap_or(usize::MAX);
        let items = self.db.query_all(&q, Some(max)).await?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, "id").map(str::to_owned))
            .collect())
    }

    /// These scoops as they stand, those live at `now`, with `viewer`'s seen flags: the
    /// scoop items and the viewer's views in one strongly consistent batch.
    async fn seen_scoops(
        &self,
        ids: &[String],
        viewer: &str,
        now: Timestamp,
    ) -> StoreResult<Vec<SeenScoop>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let view_sk = keys::view(viewer);
        let mut wanted = Vec::with_capacity(ids.len() * 2);
        for id in ids {
            wanted.push((keys::scoop(id), keys::SCOOP_ITEM.to_owned()));
            wanted.push((keys::scoop(id), view_sk.clone()));
        }
        let items = self.db.batch_get(&self.t.scoops, &wanted).await?;
        let seen: HashSet<&str> = items
            .iter()
            .filter(|i| get_s(i, "sk") == Some(view_sk.as_str()))
            .filter_map(|i| get_s(i, "scoop_id"))
            .collect();
        items
            .iter()
            .filter(|i| get_s(i, "sk") == Some(keys::SCOOP_ITEM) && live_at(i, now))
            .map(|i| {
                let scoop = rows::scoop(&Rec(i))?;
                let seen = seen.contains(scoop.id.as_str());
                Ok(SeenScoop { scoop, seen })
            })
            .collect()
    }

    /// The authors with live scoops by the index, with the ids (one query per author,
    /// several at once).
    async fn live_ids_of_many(
        &self,
        authors: &[String],
        now: Timestamp,
    ) -> StoreResult<Vec<(String, Vec<String>)>> {
        let queries: Vec<_> =
            authors
                .iter()
                .map(|a| async move {
                    Ok::<_, StoreError>((a.clone(), self.live_ids_of(a, now).await?))
                })
                .collect();
        let found: Vec<(String, Vec<String>)> = stream::iter(queries)
            .buffer_unordered(PARALLEL_QUERIES)
            .try_collect()
            .await?;
        Ok(found
            .into_iter()
            .filter(|(_, ids)| !ids.is_empty())
            .collect())
    }

    /// Deletes a scoop (if it expired by `expired_by`, when given), marks its media
    /// removed and queues the file deletion in one transaction, then deletes its views.
    /// `false` when there was no such scoop (or it is still live).
    async fn drop_scoop(&self, id: &str, expired_by: Option<Timestamp>) -> StoreResult<bool> {
        let pk = keys::scoop(id);
        for _ in 0..crate::REPLANS {
            let Some(item) = self.db.get(&self.t.scoops, &pk, keys::SCOOP_ITEM).await? else {
                return Ok(false);
            };
            if expired_by.is_some_and(|now| live_at(&item, now)) {
                return Ok(false);
            }
            let media_key = req_s(&item, "media_key")?;
            // As SQL: the purge is queued even for an upload that is gone.
            let (_, removal) = self.media_removal_writes(&media_key).await?;
            let mut delete = Write::delete(&self.t.scoops, &pk, keys::SCOOP_ITEM);
            delete = match expired_by {
                Some(now) => delete
                    .cond("#expires_at <= :now")
                    .value(":now", n(now.millis())),
                None => delete.cond("attribute_exists(#pk)"),
            };
            let mut writes = vec![delete];
            writes.extend(removal);
            match self.db.transact(writes).await? {
                Ok(()) => {
                    self.delete_views(id).await?;
                    return Ok(true);
                }
                Err(c) if c.failed(0) => return Ok(false),
                // A dedupe marker appeared or the media item vanished: plan again.
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    /// Deletes the views of a scoop that is gone, a chunk at a time (idempotent; what a
    /// crash leaves behind the TTL removes, and no read counts views of a missing scoop).
    async fn delete_views(&self, id: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.scoops, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::scoop(id)))
            .value(":p", s(keys::view("")))
            .project("#pk, #sk")
            .page_size(VIEW_CHUNK);
        let mut start = None;
        loop {
            let (page, next) = self.db.query_page(&q, start).await?;
            self.db
                .delete_keys(&self.t.scoops, crate::item::keys_of(&page))
                .await?;
            match next {
                Some(n) => start = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Takes back every view of a deleted account: each view goes and its scoop counts
    /// one fewer, together (SQL's cascade with the recount in `delete_user`).
    /// Idempotent and resumable; for the account deletion's tail.
    pub(crate) async fn forget_views_of(&self, viewer: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.scoops, "#gsi2pk = :pk")
            .index("gsi2")
            .value(":pk", s(views_by(viewer)))
            .project("#scoop_id")
            .page_size(VIEW_CHUNK);
        let mut start = None;
        loop {
            // Paging on past deleted entries: the index may still list them a moment.
            let (page, next) = self.db.query_page(&q, start).await?;
            let ids: Vec<String> = page
                .iter()
                .filter_map(|i| get_s(i, "scoop_id").map(str::to_owned))
                .collect();
            let forgets: Vec<_> = ids.iter().map(|id| self.forget_view(id, viewer)).collect();
            stream::iter(forgets)
                .buffer_unordered(PARALLEL_QUERIES)
                .try_collect::<Vec<()>>()
                .await?;
            match next {
                Some(n) => start = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// One view of [`forget_views_of`](Self::forget_views_of).
    async fn forget_view(&self, id: &str, viewer: &str) -> StoreResult<()> {
        let pk = keys::scoop(id);
        let writes = vec![
            Write::delete(&self.t.scoops, &pk, &keys::view(viewer)).cond("attribute_exists(#pk)"),
            Write::update(
                &self.t.scoops,
                &pk,
                keys::SCOOP_ITEM,
                "ADD #view_count :minus",
            )
            .cond("attribute_exists(#pk)")
            .value(":minus", n(-1)),
        ];
        match self.db.transact(writes).await? {
            Ok(()) => Ok(()),
            // Gone already: counted back before.
            Err(c) if c.failed(0) => Ok(()),
            // The scoop is gone: only the view is left to delete.
            Err(_) => {
                let w = Write::delete(&self.t.scoops, &pk, &keys::view(viewer));
                self.db.write(w, false).await?.ok();
                Ok(())
            }
        }
    }

    /// Deletes every scoop of a deleted account with its views (SQL's cascade; the
    /// account's media go with the account's own purge). Idempotent and resumable; for
    /// the account deletion's tail.
    pub(crate) async fn drop_scoops_of(&self, author: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.scoops, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::author_scoops(author)))
            .project("#id");
        let ids: Vec<String> = self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "id").map(str::to_owned))
            .collect();
        for id in ids {
            let w = Write::delete(&self.t.scoops, &keys::scoop(&id), keys::SCOOP_ITEM);
            self.db.write(w, false).await?.ok();
            self.delete_views(&id).await?;
        }
        Ok(())
    }
}

/// These scoops by author, oldest first (at most [`SCOOPS_PER_AUTHOR`] each).
fn by_author(scoops: Vec<SeenScoop>) -> HashMap<String, Vec<SeenScoop>> {
    let mut out: HashMap<String, Vec<SeenScoop>> = HashMap::new();
    for x in scoops {
        out.entry(x.scoop.author.as_str().to_owned())
            .or_default()
            .push(x);
    }
    let max = usize::try_from(SCOOPS_PER_AUTHOR).unwrap_or(usize::MAX);
    for list in out.values_mut() {
        list.sort_by(|a, b| {
            (a.scoop.created_at, &a.scoop.id).cmp(&(b.scoop.created_at, &b.scoop.id))
        });
        list.truncate(max);
    }
    out
}

#[async_trait]
impl ScoopStore for DynamoStore {
    async fn create_scoop(&self, sc: Scoop) -> StoreResult<()> {
        // The author and the media must exist (SQL's foreign keys), checked in the same
        // transaction; the purge job's dedupe key is new with the scoop's id.
        let mut writes = vec![
            Write::put_new(&self.t.scoops, scoop_item(&sc)),
            Write::check(
                &self.t.users,
                &keys::user(sc.author.as_str()),
                keys::PROFILE,
                "attribute_exists(#pk)",
            ),
            Write::check(
                &self.t.media,
                &keys::media(&sc.media_key),
                keys::ONE,
                "attribute_exists(#pk)",
            ),
        ];
        writes.extend(self.job_writes_unchecked(&purge_scoop_job(&sc), Timestamp::now()));
        match self.db.transact(writes).await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(1) || c.failed(2) => Err(StoreError::MissingReference),
            Err(_) => Err(StoreError::Backend("scoop id already recorded".into())),
        }
    }

    async fn get_scoop(&self, id: &str, now: Timestamp) -> StoreResult<Option<Scoop>> {
        let item = self
            .db
            .get(&self.t.scoops, &keys::scoop(id), keys::SCOOP_ITEM)
            .await?;
        item.filter(|i| live_at(i, now))
            .map(|i| rows::scoop(&Rec(&i)))
            .transpose()
    }

    async fn visible_scoop(
        &self,
        id: &str,
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<Option<SeenScoop>> {
        let viewer = viewer.as_str();
        let Some(found) = self.seen_scoops(&[id.to_owned()], viewer, now).await?.pop() else {
            return Ok(None);
        };
        let author = found.scoop.author.as_str().to_owned();
        if author == viewer {
            return Ok(Some(found));
        }
        let visible = self.visible_users(viewer, &[author]).await?;
        Ok((!visible.is_empty()).then_some(found))
    }

    async fn delete_scoop(&self, id: &str) -> StoreResult<bool> {
        self.drop_scoop(id, None).await
    }

    async fn live_scoops_of(
        &self,
        author: &UserId,
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<Vec<SeenScoop>> {
        let ids = self.live_ids_of(author.as_str(), now).await?;
        let found = self.seen_scoops(&ids, viewer.as_str(), now).await?;
        Ok(by_author(found).remove(author.as_str()).unwrap_or_default())
    }

    async fn record_view(&self, id: &str, viewer: &UserId, now: Timestamp) -> StoreResult<bool> {
        let pk = keys::scoop(id);
        let Some(item) = self.db.get(&self.t.scoops, &pk, keys::SCOOP_ITEM).await? else {
            return Ok(false);
        };
        if !live_at(&item, now) {
            return Ok(false);
        }
        // The author's own view is accepted but neither recorded nor counted.
        if get_s(&item, "author_id") == Some(viewer.as_str()) {
            return Ok(true);
        }
        let expires_at = Timestamp::from_millis(get_n(&item, "expires_at").unwrap_or(0));
        let writes = vec![
            Write::put_new(
                &self.t.scoops,
                view_item(id, viewer.as_str(), now, expires_at),
            ),
            Write::update(
                &self.t.scoops,
                &pk,
                keys::SCOOP_ITEM,
                "ADD #view_count :one",
            )
            .cond("#expires_at > :now")
            .value(":one", n(1))
            .value(":now", n(now.millis())),
            Write::check(
                &self.t.users,
                &keys::user(viewer.as_str()),
                keys::PROFILE,
                "attribute_exists(#pk)",
            ),
        ];
        match self.db.transact(writes).await? {
            Ok(()) => Ok(true),
            Err(c) if c.failed(1) => Ok(false),
            Err(c) if c.failed(2) => Err(StoreError::MissingReference),
            // Viewed before: counted once.
            Err(_) => Ok(true),
        }
    }

    async fn list_viewers(
        &self,
        id: &str,
        owner: &UserId,
        after: Option<&(i64, String)>,
        limit: u32,
    ) -> StoreResult<Vec<(User, Timestamp)>> {
        // "~" sorts after every time-then-id key.
        let before = after.map_or_else(|| "~".to_owned(), |(at, v)| keys::at_then(*at, v));
        let q = Query::new(&self.t.scoops, "#gsi1pk = :pk AND #gsi1sk < :before")
            .index("gsi1")
            .value(":pk", s(viewers_of(id)))
            .value(":before", s(before))
            .backward()
            .page_size(limit.min(VIEW_CHUNK));
        self.visible_page(owner.as_str(), &q, None, limit, "viewer_id", |i, u| {
            Ok((u.clone(), Timestamp::from_millis(Rec(i).int("viewed_at")?)))
        })
        .await
    }

    async fn scoop_feed(
        &self,
        viewer: &UserId,
        now: Timestamp,
        after: Option<&ScoopFeedKey>,
        limit: u32,
    ) -> StoreResult<Vec<AuthorScoops>> {
        let me = viewer.as_str();
        let mut authors = self.followed(me).await?;
        authors.push(me.to_owned());
        authors.sort();
        authors.dedup();
        let live = self.live_ids_of_many(&authors, now).await?;
        let with_scoops: Vec<String> = live.iter().map(|(a, _)| a.clone()).collect();
        let ids: Vec<String> = live.into_iter().flat_map(|(_, ids)| ids).collect();
        let (found, users) = tokio::try_join!(
            self.seen_scoops(&ids, me, now),
            self.users_by_id(&with_scoops)
        )?;
        let mut scoops = by_author(found);
        // Suspended (and deleted) authors are left out, the viewer too; blocks end
        // follows, so they need no check here (as in SQL).
        scoops.retain(|a, _| users.get(a).is_some_and(|u| u.suspension.is_none()));
        let mut entries: Vec<(ScoopFeedKey, String, Vec<SeenScoop>)> = scoops
            .into_iter()
            .map(|(a, list)| (feed_key(&a, me, &list), a, list))
            .filter(|(key, _, _)| after.is_none_or(|after| key > after))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        entries
            .into_iter()
            .map(|(key, a, list)| {
                let author =
                    UserId::parse(&a).ok_or_else(|| StoreError::Backend("bad author id".into()))?;
                Ok(AuthorScoops {
                    key,
                    author,
                    scoops: list,
                })
            })
            .collect()
    }

    async fn purge_expired_scoop(&self, id: &str, now: Timestamp) -> StoreResult<bool> {
        self.drop_scoop(id, Some(now)).await
    }
}
