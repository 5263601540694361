//! `PostStore`: posts, comments and reactions in the posts table, one partition per
//! post (`P#id`: the post item `P`, comments `C#id`, reactions `R#user#type`, and
//! `X#…` references to the notifications about the post, so that deleting the post can
//! find them; the notifications table indexes notifications only by recipient).
//!
//! Access patterns:
//! - an author's posts: `gsi1` `A#author` / post id (UUIDv7: newest first is a backward
//!   query, the `before` cursor is the sort key); the pull feed merges one such query
//!   per followed author, bounded by the page size, and confirms the page against the
//!   base table (an index may still hold a deleted post);
//! - a comment by id alone: `gsi1` `C#id`, confirmed with a consistent read;
//! - a post's reactions newest first: `gsi1` `RX#post` / `ts13(at)#user#type`;
//! - a viewer's reactions on a page of posts: one consistent query per post of the
//!   `R#user#` range (a `BatchGetItem` of every type would pay for each missing item);
//! - idempotency keys: users table `K#user#kind#key` / `_` (`ttl` a day later: SQL's
//!   `purge_stale` drops them after a day, here DynamoDB's TTL does).
//!
//! Counters (`posts_count` on the author, `comment_count` and the reaction counts on
//! the post) change by `ADD` in the transaction that writes what they count. Deleting a
//! post is an atomic head (the post, its count, its media) and an idempotent tail
//! (`tail_delete_post`: comments, reactions, notifications about it).

use crate::db::{Query, put_request};
use crate::hidden::distinct;
use crate::item::{Item, ItemBuilder, Rec, get_list, get_s, keys_of, list, n, s, ts13, ttl_at};
use crate::keys;
use crate::write::{Op, Write};
use crate::{DynamoStore, REPLANS, kept_racing};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::{StreamExt, TryStreamExt};
use scooter_core::notification::NewNotification;
use scooter_core::post::{Attachment, Comment, Post, Reaction, ReactionCounts, ReactionType};
use scooter_core::{Timestamp, UserId};
use scooter_store::{
    CommentKey, Created, Earlier, Idempotency, NewPost, PostStore, ReactionChange, ReactionKey,
    StoreError, StoreResult, Toggled,
};
use scooter_store_sql::rows;

/// Above every id: "before nothing" as a cursor.
pub(crate) const TOP: &str = "\u{10FFFF}";
/// Most comments or reactions read per call while filling a page of visible ones (a
/// page asks for its own size: only hidden users make it read on).
const LIST_CHUNK: u32 = 100;
/// Queries in flight at once (the pull feed's authors, a page's reactions).
const PARALLEL: usize = 32;
/// Posts read per author in the first round of a merge.
const FIRST_ROUND: u32 = 8;
/// The tail op of a post deletion (payload `delete_post:<post id>`).
pub(crate) const DELETE_POST_OP: &str = "delete_post";
/// Sort-key prefix of the notification references under a post.
const NOTE_REFS: &str = "X#";
/// How long an idempotency key is kept (SQL's `purge_stale` keeps a day).
const KEY_TTL_MS: i64 = 24 * 3600 * 1000;

fn backend(what: &'static str) -> StoreError {
    StoreError::Backend(what.into())
}

/// The attribute of a reaction type's count on the post item.
pub(crate) fn counter_column(t: ReactionType) -> &'static str {
    match t {
        ReactionType::Like => "like_count",
        ReactionType::Fire => "fire_count",
        ReactionType::Scooter => "scooter_count",
        ReactionType::Laugh => "laugh_count",
        ReactionType::Wow => "wow_count",
        ReactionType::Sad => "sad_count",
    }
}

/// `gsi1pk` of a post's reactions.
fn reactions_of(post_id: &str) -> String {
    format!("RX#{post_id}")
}

/// `gsi1sk` of a reaction: newest first by `(created_at, user, type)`, the
/// [`ReactionKey`] order (user ids have one length, and no type name is a prefix of
/// another).
fn reaction_order(at: i64, user: &str, kind: &str) -> String {
    format!("{}#{user}#{kind}", ts13(at))
}

/// The reference to a notification about a post (or about one of its comments), under
/// the post's partition.
fn note_ref(comment: Option<&str>, notification: &str) -> String {
    match comment {
        Some(c) => format!("{NOTE_REFS}C#{c}#{notification}"),
        None => format!("{NOTE_REFS}P#{notification}"),
    }
}

/// The post item (also for the bulk loader): the SQL columns, `media_keys` in order,
/// `media_alt` beside them (a list of the same length, `NULL` where there is none; left
/// out when no media has alt text), `mentions`, and the author's list (`gsi1`).
pub(crate) fn post_item(post: &Post, media: &[Attachment], mentions: &[String]) -> Item {
    let c = &post.reactions;
    let media_keys: Vec<String> = media.iter().map(|m| m.key.clone()).collect();
    let media_alt = media.iter().any(|m| m.alt.is_some()).then(|| {
        AttributeValue::L(
            media
                .iter()
                .map(|m| match &m.alt {
                    Some(alt) => s(alt.clone()),
                    None => AttributeValue::Null(true),
                })
                .collect(),
        )
    });
    let mut item = ItemBuilder::key(keys::post(&post.id), keys::POST_ITEM)
        .s("id", &post.id)
        .s("author_id", post.author.as_str())
        .s("text", &post.text)
        .n("created_at", post.created_at.millis())
        .n("comment_count", post.comment_count)
        .n("like_count", c.like)
        .n("fire_count", c.fire)
        .n("scooter_count", c.scooter)
        .n("laugh_count", c.laugh)
        .n("wow_count", c.wow)
        .n("sad_count", c.sad)
        .set("media_keys", list(&media_keys))
        .set("mentions", list(mentions))
        .s("gsi1pk", keys::author_posts(post.author.as_str()))
        .s("gsi1sk", &post.id);
    if let Some(alt) = media_alt {
        item = item.set("media_alt", alt);
    }
    item.build()
}

/// A post item's media with their alt text, in order (`media_keys` and `media_alt`).
pub(crate) fn attachments_of(item: &Item) -> Vec<Attachment> {
    let alts = match item.get("media_alt") {
        Some(AttributeValue::L(v)) => v.as_slice(),
        _ => &[],
    };
    get_list(item, "media_keys")
        .into_iter()
        .enumerate()
        .map(|(i, key)| Attachment {
            key,
            alt: match alts.get(i) {
                Some(AttributeValue::S(alt)) => Some(alt.clone()),
                _ => None,
            },
        })
        .collect()
}

/// The comment item (also for the bulk loader); `gsi1` finds it by id alone, `gsi2`
/// lists its author's comments (for the account deletion).
pub(crate) fn comment_item(c: &Comment, mentions: &[String]) -> Item {
    ItemBuilder::key(keys::post(&c.post_id), keys::comment(&c.id))
        .s("id", &c.id)
        .s("post_id", &c.post_id)
        .s("author_id", c.author.as_str())
        .s("text", &c.text)
        .n("created_at", c.created_at.millis())
        .set("mentions", list(mentions))
        .s("gsi1pk", keys::comment(&c.id))
        .s("gsi1sk", keys::ONE)
        .s("gsi2pk", keys::comments_by(c.author.as_str()))
        .s("gsi2sk", &c.id)
        .build()
}

/// The reaction item (also for the bulk loader); `gsi1` lists a post's newest first,
/// `gsi2` its user's reactions (for the account deletion).
pub(crate) fn reaction_item(post_id: &str, user: &str, kind: ReactionType, at: i64) -> Item {
    ItemBuilder::key(keys::post(post_id), keys::reaction(user, kind.as_str()))
        .s("post_id", post_id)
        .s("user_id", user)
        .s("type", kind.as_str())
        .n("created_at", at)
        .s("gsi1pk", reactions_of(post_id))
        .s("gsi1sk", reaction_order(at, user, kind.as_str()))
        .s("gsi2pk", keys::reactions_by(user))
        .s("gsi2sk", format!("{post_id}#{}", kind.as_str()))
        .build()
}

impl DynamoStore {
    /// What an idempotency key of `user` was used for already, if anything.
    async fn earlier(
        &self,
        user: &UserId,
        kind: &str,
        idem: Option<Idempotency<'_>>,
    ) -> StoreResult<Option<Earlier>> {
        let Some(idem) = idem else { return Ok(None) };
        let pk = keys::idempotency(user.as_str(), kind, idem.key);
        let Some(item) = self.db.get(&self.t.users, &pk, keys::ONE).await? else {
            return Ok(None);
        };
        let resource = crate::item::req_s(&item, "resource_id")?;
        Ok(Some(Earlier::of(
            resource,
            get_s(&item, "fingerprint"),
            idem.fingerprint,
        )))
    }

    /// The write that claims an idempotency key (a race lost to the same key replans,
    /// and the replan finds the earlier use).
    fn key_write(
        &self,
        user: &UserId,
        kind: &str,
        idem: Option<Idempotency<'_>>,
        resource: &str,
        at: Timestamp,
    ) -> Option<Write> {
        let idem = idem?;
        let item = ItemBuilder::key(keys::idempotency(user.as_str(), kind, idem.key), keys::ONE)
            .s("user_id", user.as_str())
            .s("kind", kind)
            .s("resource_id", resource)
            .s("fingerprint", idem.fingerprint)
            .n("created_at", at.millis())
            .set("ttl", ttl_at(at.millis() + KEY_TTL_MS))
            .build();
        Some(Write::put_new(&self.t.users, item).replan_on_fail())
    }

    /// References from each notification about a post that `writes` add, so that the
    /// post's deletion finds them. Written after the use case's transaction (which may
    /// be full): a reference lost to a crash only leaves a notification that readers
    /// already hide, since its post is gone.
    async fn write_note_refs(&self, writes: &[Write]) -> StoreResult<()> {
        let mut refs = Vec::new();
        for w in writes {
            let Op::Put(item) = &w.op else { continue };
            if w.table != self.t.notifications || !w.pk().is_some_and(|pk| pk.starts_with("N#")) {
                continue;
            }
            let (Some(post), Some(id), Some(recipient), Some(dedupe)) = (
                get_s(item, "post_id"),
                get_s(item, "id"),
                get_s(item, "recipient_id"),
                get_s(item, "dedupe"),
            ) else {
                continue;
            };
            let comment = get_s(item, "comment_id");
            let r = ItemBuilder::key(keys::post(post), note_ref(comment, id))
                .s("notification_id", id)
                .s("recipient_id", recipient)
                .s("dedupe", dedupe)
                .build();
            refs.push(put_request(r)?);
        }
        if refs.is_empty() {
            return Ok(());
        }
        self.db.batch_write(&self.t.posts, refs).await
    }

    /// Deletes these items of a post's partition; first the notifications (with their
    /// dedupe markers) that the references among them point to, since the references
    /// are how those are found.
    async fn delete_with_notes(&self, items: &[Item]) -> StoreResult<()> {
        let notes = items
            .iter()
            .filter(|i| get_s(i, "sk").is_some_and(|sk| sk.starts_with(NOTE_REFS)))
            .filter_map(|r| {
                Some((
                    get_s(r, "notification_id")?,
                    get_s(r, "recipient_id")?,
                    get_s(r, "dedupe")?,
                ))
            })
            .flat_map(|(id, recipient, dedupe)| {
                [
                    (keys::notification(id), keys::ONE.to_owned()),
                    (
                        keys::notification_dedupe(recipient, dedupe),
                        keys::ONE.to_owned(),
                    ),
                ]
            })
            .collect();
        self.db.delete_keys(&self.t.notifications, notes).await?;
        self.db.delete_keys(&self.t.posts, keys_of(items)).await
    }

    /// Whom `user` follows (consistent: the follow edges in their own partition).
    pub(crate) async fn followed(&self, user: &str) -> StoreResult<Vec<String>> {
        let q = Query::new(&self.t.social, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::user(user)))
            .value(":p", s(keys::follows("")))
            .project("#sk");
        Ok(self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk")?.strip_prefix("F#").map(str::to_owned))
            .collect())
    }

    /// Those of `authors` that exist and are not suspended.
    pub(crate) async fn unsuspended(&self, authors: &[String]) -> StoreResult<Vec<String>> {
        Ok(self
            .users_by_id(authors)
            .await?
            .into_iter()
            .filter(|(_, u)| u.suspension.is_none())
            .map(|(id, _)| id)
            .collect())
    }

    /// The author index's posts of `author` in `[floor, before)`, newest first, `size`
    /// a call (eventually consistent: confirm where it matters). A key condition has
    /// one bound on the sort key and `BETWEEN` is inclusive: with a floor, the cursor
    /// itself may come back, for [`before_only`] to drop.
    fn author_query(&self, author: &str, before: &str, floor: &str, size: u32) -> Query {
        let q = if floor.is_empty() {
            Query::new(&self.t.posts, "#gsi1pk = :pk AND #gsi1sk < :before")
        } else {
            Query::new(
                &self.t.posts,
                "#gsi1pk = :pk AND #gsi1sk BETWEEN :floor AND :before",
            )
            .value(":floor", s(floor))
        };
        q.index("gsi1")
            .value(":pk", s(keys::author_posts(author)))
            .value(":before", s(before))
            .backward()
            .page_size(size)
    }

    /// One author's post items in `[floor, before)`, newest first, at most `limit`, from
    /// the author index.
    pub(crate) async fn author_candidates(
        &self,
        author: &str,
        before: &str,
        floor: &str,
        limit: u32,
    ) -> StoreResult<Vec<Item>> {
        // One more than asked for: the cursor that `BETWEEN` may hand back.
        let extra = u32::from(!floor.is_empty());
        let q = self.author_query(author, before, floor, limit + extra);
        let mut items = self
            .db
            .query_all(&q, Some((limit + extra) as usize))
            .await?;
        before_only(&mut items, before);
        items.truncate(limit as usize);
        Ok(items)
    }

    /// One page of an author's post items in `[floor, before)`, newest first, from the
    /// author index, and where to go on.
    async fn author_page(
        &self,
        author: &str,
        before: &str,
        floor: &str,
        size: u32,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let q = self.author_query(author, before, floor, size);
        let (mut items, next) = self.db.query_page(&q, start).await?;
        before_only(&mut items, before);
        Ok((items, next))
    }

    /// The newest `limit` post items of these authors in `[floor, before)`, newest
    /// first, from the author index. A k-way merge in rounds: each round reads the next
    /// page (doubling) only of the authors whose oldest item read so far is still above
    /// the `limit`-th newest read, since nothing older of theirs can make the cut; so
    /// the cost is about `limit` plus one small page per author, not `limit` each.
    pub(crate) async fn merged_candidates(
        &self,
        authors: &[String],
        before: &str,
        floor: &str,
        limit: u32,
    ) -> StoreResult<Vec<Item>> {
        if limit == 0 || authors.is_empty() || (!floor.is_empty() && floor >= before) {
            return Ok(Vec::new());
        }
        let mut runs: Vec<Run> = authors
            .iter()
            .map(|a| Run {
                author: a.clone(),
                oldest: None,
                start: None,
                done: false,
            })
            .collect();
        let mut got: Vec<Item> = Vec::new();
        let mut size = limit.clamp(1, FIRST_ROUND);
        loop {
            got.sort_by(|a, b| get_s(b, "id").cmp(&get_s(a, "id")));
            got.dedup_by(|a, b| get_s(a, "id") == get_s(b, "id"));
            let cut: Option<String> = got
                .get(limit as usize - 1)
                .and_then(|i| get_s(i, "id"))
                .map(str::to_owned);
            let active: Vec<usize> = (0..runs.len())
                .filter(|&i| {
                    let r = &runs[i];
                    !r.done
                        && match (&cut, &r.oldest) {
                            (Some(c), Some(o)) => o > c,
                            _ => true,
                        }
                })
                .collect();
            if active.is_empty() {
                break;
            }
            let pages: Vec<(usize, Vec<Item>, Option<Item>)> = futures_util::stream::iter(active)
                .map(|i| {
                    let (author, start) = (runs[i].author.clone(), runs[i].start.clone());
                    async move {
                        let (items, next) = self
                            .author_page(&author, before, floor, size, start)
                            .await?;
                        Ok::<_, StoreError>((i, items, next))
                    }
                })
                .buffer_unordered(PARALLEL)
                .try_collect()
                .await?;
            for (i, items, next) in pages {
                let run = &mut runs[i];
                if let Some(o) = items.last().and_then(|x| get_s(x, "id")) {
                    run.oldest = Some(o.to_owned());
                }
                run.done = next.is_none();
                run.start = next;
                got.extend(items);
            }
            size = size.saturating_mul(2).min(limit.max(1));
        }
        got.truncate(limit as usize);
        Ok(got)
    }

    /// Reads a post item, remembering its media (keys and alt text): they never change
    /// after the post is made, and every page of posts needs them again
    /// (`media_for_posts`), which would otherwise read each post a second time.
    pub(crate) fn read_post(&self, item: &Item) -> StoreResult<Post> {
        let post = rows::post(&Rec(item))?;
        self.post_media
            .insert(post.id.clone(), attachments_of(item).into());
        Ok(post)
    }

    /// The posts with these ids that exist, read consistently, newest first.
    pub(crate) async fn posts_by_id(&self, ids: &[String]) -> StoreResult<Vec<Post>> {
        let wanted: Vec<(String, String)> = ids
            .iter()
            .map(|id| (keys::post(id), keys::POST_ITEM.to_owned()))
            .collect();
        let mut posts = self
            .db
            .batch_get(&self.t.posts, &wanted)
            .await?
            .iter()
            .map(|i| self.read_post(i))
            .collect::<StoreResult<Vec<Post>>>()?;
        posts.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(posts)
    }

    /// The newest `limit` existing posts of `authors` in `[floor, before)`: index
    /// candidates confirmed against the base table, read on past deleted ones.
    pub(crate) async fn merged_posts(
        &self,
        authors: &[String],
        before: &str,
        floor: &str,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let mut out: Vec<Post> = Vec::new();
        let mut cursor = before.to_owned();
        loop {
            let need = limit.saturating_sub(u32::try_from(out.len()).unwrap_or(u32::MAX));
            if need == 0 {
                return Ok(out);
            }
            let candidates = self
                .merged_candidates(authors, &cursor, floor, need)
                .await?;
            let ids: Vec<String> = candidates
                .iter()
                .filter_map(|i| get_s(i, "id").map(str::to_owned))
                .collect();
            let Some(last) = ids.last().cloned() else {
                return Ok(out);
            };
            out.extend(self.posts_by_id(&ids).await?);
            if ids.len() < need as usize {
                return Ok(out);
            }
            cursor = last;
        }
    }

    /// The pull feed: `user`'s own posts and those of the accounts followed, newest
    /// first, before `before` ([`TOP`]: from the newest), suspended authors left out.
    pub(crate) async fn pull_page(
        &self,
        user: &str,
        before: &str,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut authors = self.followed(user).await?;
        authors.push(user.to_owned());
        let authors = self.unsuspended(&authors).await?;
        self.merged_posts(&authors, before, "", limit).await
    }

    /// The head of a post deletion: the post, its count on the author, its media and
    /// the tail job, in one transaction. `false` when there is no such post.
    async fn delete_post_head(&self, id: &str) -> StoreResult<bool> {
        for _ in 0..REPLANS {
            let Some(post) = self
                .db
                .get(&self.t.posts, &keys::post(id), keys::POST_ITEM)
                .await?
            else {
                return Ok(false);
            };
            let author = crate::item::req_s(&post, "author_id")?;
            let media = distinct(
                crate::item::get_list(&post, "media_keys")
                    .iter()
                    .map(String::as_str),
            );
            let removals = media.iter().map(|k| self.media_removal_writes(k));
            let profile = keys::user(&author);
            let tail = crate::tail_job(DELETE_POST_OP, id, Timestamp::now());
            let (profile, removals, tail) = tokio::try_join!(
                self.db.get(&self.t.users, &profile, keys::PROFILE),
                futures_util::future::try_join_all(removals),
                self.job_writes(&tail),
            )?;
            let mut writes = vec![
                Write::delete(&self.t.posts, &keys::post(id), keys::POST_ITEM)
                    .cond("attribute_exists(#pk)"),
            ];
            // A deleted author's profile is gone: nothing to uncount (SQL's UPDATE
            // finds no row), and an update would create a stray profile.
            if profile.is_some() {
                writes.push(
                    Write::update(
                        &self.t.users,
                        &keys::user(&author),
                        keys::PROFILE,
                        "ADD #posts_count :minus",
                    )
                    .cond("attribute_exists(#pk)")
                    .value(":minus", n(-1))
                    .replan_on_fail(),
                );
            }
            // As SQL, whose post media all exist: uploads gone meanwhile get nothing.
            for (exists, w) in removals {
                if exists {
                    writes.extend(w);
                }
            }
            writes.extend(tail);
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.failed(0) => return Ok(false),
                Err(c) if c.replan => continue,
                Err(_) => return Err(backend("deleting a post was refused")),
            }
        }
        Err(kept_racing())
    }

    /// The tail of a post deletion: its comments, reactions and the notifications about
    /// it, page by page (idempotent, resumable), then the tail job. Does nothing to the
    /// children of a post that exists.
    pub(crate) async fn tail_delete_post(&self, post_id: &str) -> StoreResult<()> {
        let pk = keys::post(post_id);
        if self
            .db
            .get(&self.t.posts, &pk, keys::POST_ITEM)
            .await?
            .is_none()
        {
            // Always the first page: each round deletes what it read.
            let q = Query::new(&self.t.posts, "#pk = :pk")
                .value(":pk", s(pk.clone()))
                .page_size(100);
            loop {
                let (items, _) = self.db.query_page(&q, None).await?;
                if items.is_empty() {
                    break;
                }
                self.delete_with_notes(&items).await?;
            }
        }
        self.end_tail_job(DELETE_POST_OP, post_id).await
    }

    /// Reads a comment by its keys, consistently.
    async fn comment_at(&self, post_id: &str, comment_id: &str) -> StoreResult<Option<Comment>> {
        let item = self
            .db
            .get(
                &self.t.posts,
                &keys::post(post_id),
                &keys::comment(comment_id),
            )
            .await?;
        item.as_ref().map(|i| rows::comment(&Rec(i))).transpose()
    }

    /// Deletes the notifications about a comment (after the comment itself).
    async fn delete_comment_notes(&self, post_id: &str, comment_id: &str) -> StoreResult<()> {
        let q = Query::new(&self.t.posts, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::post(post_id)))
            .value(":p", s(format!("{NOTE_REFS}C#{comment_id}#")));
        let refs = self.db.query_all(&q, None).await?;
        self.delete_with_notes(&refs).await
    }

    /// A post, read consistently.
    pub(crate) async fn post_now(&self, post_id: &str) -> StoreResult<Option<Post>> {
        let item = self
            .db
            .get(&self.t.posts, &keys::post(post_id), keys::POST_ITEM)
            .await?;
        item.as_ref().map(|i| self.read_post(i)).transpose()
    }

    /// Plans and writes one reaction change from consistent reads of the post and the
    /// reaction (one `BatchGetItem`): `None` to plan again (the reaction changed
    /// meanwhile), `Some(None)` when the post does not exist. The notification's plan is
    /// read alongside, unless the change can only remove.
    async fn react_once(
        &self,
        post_id: &str,
        user: &UserId,
        kind: ReactionType,
        change: ReactionChange,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<Option<Option<Toggled>>> {
        let pk = keys::post(post_id);
        let sk = keys::reaction(user.as_str(), kind.as_str());
        let wanted = [
            (pk.clone(), keys::POST_ITEM.to_owned()),
            (pk.clone(), sk.clone()),
        ];
        let notify: &[NewNotification] = match change {
            ReactionChange::Remove => &[],
            _ => notify.map(std::slice::from_ref).unwrap_or_default(),
        };
        let (items, notes) = tokio::try_join!(
            self.db.batch_get(&self.t.posts, &wanted),
            self.notification_writes(notify)
        )?;
        let item_at = |key: &str| items.iter().find(|i| get_s(i, "sk") == Some(key));
        let Some(post) = item_at(keys::POST_ITEM)
            .map(|i| self.read_post(i))
            .transpose()?
        else {
            return Ok(Some(None));
        };
        let had = item_at(&sk).is_some();
        let want = match change {
            ReactionChange::Toggle => !had,
            ReactionChange::Add => true,
            ReactionChange::Remove => false,
        };
        if want == had {
            return Ok(Some(Some(Toggled {
                reacted: want,
                counts: post.reactions,
            })));
        }
        let count = Write::update(
            &self.t.posts,
            &pk,
            keys::POST_ITEM,
            format!("ADD #{} :d", counter_column(kind)),
        )
        .cond("attribute_exists(#pk)")
        .value(":d", n(if want { 1 } else { -1 }));
        let mut writes = vec![count];
        if want {
            writes.push(
                Write::put_new(
                    &self.t.posts,
                    reaction_item(post_id, user.as_str(), kind, at.millis()),
                )
                .replan_on_fail(),
            );
            writes.extend(notes.iter().cloned());
        } else {
            writes.push(
                Write::delete(&self.t.posts, &pk, &sk)
                    .cond("attribute_exists(#pk)")
                    .replan_on_fail(),
            );
        }
        match self.db.transact(writes).await? {
            Ok(()) => {}
            Err(c) if c.failed(0) => return Ok(Some(None)),
            Err(c) if c.replan => return Ok(None),
            Err(_) => return Err(backend("a reaction change was refused")),
        }
        if want {
            self.write_note_refs(&notes).await?;
        }
        // The counts as the change left them, others' changes included (a transaction
        // returns no item).
        let counts = self
            .post_now(post_id)
            .await?
            .map_or_else(ReactionCounts::default, |p| p.reactions);
        Ok(Some(Some(Toggled {
            reacted: want,
            counts,
        })))
    }

    /// Plans and writes one comment; `None` to replan.
    async fn add_comment_once(
        &self,
        comment: &Comment,
        mentions: &[String],
        idem: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Option<Option<Created<Comment>>>> {
        // Read together; a replayed key wastes the notification reads.
        let (earlier, notes) = tokio::try_join!(
            self.earlier(&comment.author, "comment", idem),
            self.notification_writes(notify)
        )?;
        if let Some(earlier) = earlier {
            return Ok(Some(Some(earlier.into_created())));
        }
        let mut writes = vec![
            Write::update(
                &self.t.posts,
                &keys::post(&comment.post_id),
                keys::POST_ITEM,
                "ADD #comment_count :one",
            )
            .cond("attribute_exists(#pk)")
            .value(":one", n(1)),
            Write::put_new(&self.t.posts, comment_item(comment, mentions)),
        ];
        writes.extend(self.key_write(
            &comment.author,
            "comment",
            idem,
            &comment.id,
            comment.created_at,
        ));
        writes.extend(notes.iter().cloned());
        match self.db.transact(writes).await? {
            Ok(()) => {}
            Err(c) if c.failed(0) => return Ok(Some(None)),
            Err(c) if c.replan => return Ok(None),
            Err(c) if c.failed(1) => return Err(StoreError::Conflict("comment")),
            Err(_) => return Err(backend("adding a comment was refused")),
        }
        self.write_note_refs(&notes).await?;
        Ok(Some(Some(Created::New(comment.clone()))))
    }

    /// Plans and writes one post; `None` to replan.
    async fn create_post_once(
        &self,
        post: &NewPost,
        idem: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Option<Created<Post>>> {
        let author = post.author.as_str();
        let timeline = async {
            if self.timelines.enabled {
                self.timeline_post_writes(&post.id, author, post.created_at)
                    .await
            } else {
                Ok(Vec::new())
            }
        };
        // Read together; a replayed key wastes the other reads.
        let (earlier, notes, timeline) = tokio::try_join!(
            self.earlier(&post.author, "post", idem),
            self.notification_writes(notify),
            timeline
        )?;
        if let Some(earlier) = earlier {
            return Ok(Some(earlier.into_created()));
        }
        let made = Post {
            id: post.id.clone(),
            author: post.author.clone(),
            text: post.text.clone(),
            created_at: post.created_at,
            comment_count: 0,
            reactions: ReactionCounts::default(),
        };
        let mentions: Vec<String> = post
            .mentions
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect();
        let mut writes = vec![
            Write::put_new(&self.t.posts, post_item(&made, &post.media, &mentions)),
            Write::update(
                &self.t.users,
                &keys::user(author),
                keys::PROFILE,
                "ADD #posts_count :one",
            )
            .cond("attribute_exists(#pk)")
            .value(":one", n(1)),
        ];
        writes.extend(self.key_write(&post.author, "post", idem, &post.id, post.created_at));
        writes.extend(notes.iter().cloned());
        writes.extend(timeline);
        match self.db.transact(writes).await? {
            Ok(()) => {}
            Err(c) if c.replan => return Ok(None),
            Err(c) if c.failed(0) => return Err(StoreError::Conflict("post")),
            Err(c) if c.failed(1) => return Err(StoreError::MissingReference),
            Err(_) => return Err(backend("creating a post was refused")),
        }
        self.write_note_refs(&notes).await?;
        Ok(Some(Created::New(made)))
    }
}

/// One author's progress in [`DynamoStore::merged_candidates`].
struct Run {
    author: String,
    /// The oldest post id read so far.
    oldest: Option<String>,
    /// Where the author's next page starts.
    start: Option<Item>,
    /// Nothing more below.
    done: bool,
}

/// Drops the post items at or above `before` (the cursor an inclusive bound hands back).
fn before_only(items: &mut Vec<Item>, before: &str) {
    items.retain(|i| get_s(i, "id").is_some_and(|id| id < before));
}

#[async_trait]
impl PostStore for DynamoStore {
    async fn create_post(
        &self,
        post: NewPost,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Created<Post>> {
        for _ in 0..REPLANS {
            if let Some(done) = self.create_post_once(&post, idempotency, notify).await? {
                return Ok(done);
            }
        }
        Err(kept_racing())
    }

    async fn get_post(&self, id: &str) -> StoreResult<Option<Post>> {
        self.post_now(id).await
    }

    async fn delete_post(&self, id: &str) -> StoreResult<bool> {
        if !self.delete_post_head(id).await? {
            return Ok(false);
        }
        self.tail_delete_post(id).await?;
        Ok(true)
    }

    async fn home_feed(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        self.pull_page(user.as_str(), before.unwrap_or(TOP), limit)
            .await
    }

    async fn user_posts(
        &self,
        author: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.author_candidates(author.as_str(), before.unwrap_or(TOP), "", limit)
            .await?
            .iter()
            .map(|i| self.read_post(i))
            .collect()
    }

    async fn add_comment(
        &self,
        comment: Comment,
        mentions: Vec<UserId>,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Option<Created<Comment>>> {
        let mentions: Vec<String> = mentions.iter().map(|u| u.as_str().to_owned()).collect();
        for _ in 0..REPLANS {
            if let Some(done) = self
                .add_comment_once(&comment, &mentions, idempotency, notify)
                .await?
            {
                return Ok(done);
            }
        }
        Err(kept_racing())
    }

    async fn comment_by_id(&self, comment_id: &str) -> StoreResult<Option<Comment>> {
        let q = Query::new(&self.t.posts, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::comment(comment_id)));
        let found = self.db.query_all(&q, Some(1)).await?;
        let Some(post_id) = found.first().and_then(|i| get_s(i, "post_id")) else {
            return Ok(None);
        };
        self.comment_at(post_id, comment_id).await
    }

    async fn get_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<Option<Comment>> {
        self.comment_at(post_id, comment_id).await
    }

    async fn delete_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<bool> {
        let pk = keys::post(post_id);
        let sk = keys::comment(comment_id);
        let gone = Write::delete(&self.t.posts, &pk, &sk).cond("attribute_exists(#pk)");
        let uncount = Write::update(
            &self.t.posts,
            &pk,
            keys::POST_ITEM,
            "ADD #comment_count :minus",
        )
        .cond("attribute_exists(#pk)")
        .value(":minus", n(-1));
        let deleted = match self.db.transact(vec![gone.clone(), uncount]).await? {
            Ok(()) => true,
            Err(c) if c.failed(0) => false,
            // The post is gone (its tail is under way): the comment goes uncounted.
            Err(c) if c.failed(1) => self.db.write(gone, false).await?.is_ok(),
            Err(_) => return Err(backend("deleting a comment was refused")),
        };
        if deleted {
            self.delete_comment_notes(post_id, comment_id).await?;
        }
        Ok(deleted)
    }

    async fn list_comments(
        &self,
        post_id: &str,
        viewer: &UserId,
        after: Option<&CommentKey>,
        limit: u32,
    ) -> StoreResult<Vec<Comment>> {
        let pk = keys::post(post_id);
        let q = Query::new(&self.t.posts, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(pk.clone()))
            .value(":p", s(keys::comment("")))
            .page_size(limit.min(LIST_CHUNK));
        // The cursor is the sort key: the query starts right after it.
        let start = after.map(|a| {
            Item::from([
                ("pk".to_owned(), s(pk.clone())),
                ("sk".to_owned(), s(keys::comment(a))),
            ])
        });
        self.visible_page(viewer.as_str(), &q, start, limit, "author_id", |i, _| {
            rows::comment(&Rec(i))
        })
        .await
    }

    async fn react(
        &self,
        post_id: &str,
        user: &UserId,
        kind: ReactionType,
        change: ReactionChange,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<Option<Toggled>> {
        for _ in 0..REPLANS {
            if let Some(done) = self
                .react_once(post_id, user, kind, change, at, notify)
                .await?
            {
                return Ok(done);
            }
        }
        Err(kept_racing())
    }

    async fn list_reactions(
        &self,
        post_id: &str,
        viewer: &UserId,
        after: Option<&ReactionKey>,
        limit: u32,
    ) -> StoreResult<Vec<Reaction>> {
        let q = match after {
            Some((at, user, kind)) => Query::new(&self.t.posts, "#gsi1pk = :pk AND #gsi1sk < :c")
                .value(":c", s(reaction_order(*at, user, kind))),
            None => Query::new(&self.t.posts, "#gsi1pk = :pk"),
        }
        .index("gsi1")
        .value(":pk", s(reactions_of(post_id)))
        .backward()
        .page_size(limit.min(LIST_CHUNK));
        self.visible_page(viewer.as_str(), &q, None, limit, "user_id", |i, _| {
            rows::reaction(&Rec(i))
        })
        .await
    }

    async fn my_reactions(
        &self,
        user: &UserId,
        post_ids: &[String],
    ) -> StoreResult<Vec<(String, ReactionType)>> {
        // One query of the viewer's own reactions index over the page's id range (a
        // page's posts are neighbours in time), not a read per post: a read finding
        // nothing costs as much as one finding something. The index lags writes by
        // a moment on real DynamoDB; these are display flags, not a rule, and the
        // reaction routes answer with the state they wrote.
        let wanted: std::collections::HashSet<&str> = post_ids.iter().map(String::as_str).collect();
        let (Some(lo), Some(hi)) = (wanted.iter().min(), wanted.iter().max()) else {
            return Ok(Vec::new());
        };
        let q = Query::new(
            &self.t.posts,
            "#gsi2pk = :me AND #gsi2sk BETWEEN :lo AND :hi",
        )
        .index("gsi2")
        .value(":me", s(keys::reactions_by(user.as_str())))
        .value(":lo", s(format!("{lo}#")))
        .value(":hi", s(format!("{hi}#~")));
        let found: Vec<Item> = self
            .db
            .query_all(&q, None)
            .await?
            .into_iter()
            .filter(|i| get_s(i, "post_id").is_some_and(|p| wanted.contains(p)))
            .collect();
        found
            .iter()
            .map(|i| {
                let post = crate::item::req_s(i, "post_id")?;
                let kind = get_s(i, "type")
                    .and_then(ReactionType::from_stored)
                    .ok_or_else(|| backend("stored reaction type is unknown"))?;
                Ok((post, kind))
            })
            .collect()
    }
}
