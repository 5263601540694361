//! `NotificationStore`: the in-app notification list, the unread count, read and
//! pushed marks.
//!
//! Access patterns (notifications table, item shape from `outbox::notification_item`):
//! - a recipient's list: `gsi1` `NU#recipient`, sort key the id (UUIDv7, so newest
//!   first is a backward query and the `before` cursor is the sort key);
//! - the unread ones: the sparse `gsi2` `UN#recipient`, present only while unread
//!   (marking read removes it), so the count reads only unread entries;
//! - one notification: `N#id` / `_`.
//!
//! SQL deletes a notification with its actor, post or comment (`ON DELETE CASCADE`);
//! here those deletions are tails that may lag, so the list and the count also drop
//! notifications whose post or comment no longer exists, and, like SQL's visibility
//! join, those whose actor is gone, suspended or on either side of a block. A page's
//! actors and its posts and comments (one `BatchGetItem`) are read at once.

use crate::DynamoStore;
use crate::db::Query;
use crate::hidden::distinct;
use crate::item::{Item, Rec, get_list, get_s, n, s};
use crate::keys;
use crate::posts::TOP;
use crate::write::Write;
use async_trait::async_trait;
use scooter_core::notification::Notification;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_store::{ListedNotification, NotificationStore, StoreError, StoreResult};
use scooter_store_sql::rows;
use std::collections::HashMap;

/// Notifications read from the index per call while filling a page.
const LIST_CHUNK: u32 = 50;
/// Conditional updates sent at once by the read marks.
const MARK_PARALLEL: usize = 16;

/// What a page of notifications refers to, read in a few batch calls.
#[derive(Default)]
struct Context {
    /// Actors the recipient may see.
    actors: HashMap<String, User>,
    /// Post items by post id (absent: deleted).
    posts: HashMap<String, Item>,
    /// Comment texts by comment id (absent: deleted).
    comments: HashMap<String, Option<String>>,
    /// Thumbnail of each post's first ready media.
    thumbs: HashMap<String, Option<String>>,
}

impl Context {
    /// Whether SQL would still have the notification and show it to its recipient.
    fn shows(&self, item: &Item) -> bool {
        let actor_ok = get_s(item, "actor_id").is_some_and(|a| self.actors.contains_key(a));
        let post = get_s(item, "post_id");
        let post_ok = post.is_none_or(|p| self.posts.contains_key(p));
        let comment_ok = match (post, get_s(item, "comment_id")) {
            (Some(_), Some(c)) => self.comments.contains_key(c),
            _ => true,
        };
        actor_ok && post_ok && comment_ok
    }

    fn listed(&self, item: &Item) -> StoreResult<ListedNotification> {
        let notification = rows::notification(&Rec(item))?;
        let actor = self
            .actors
            .get(notification.actor.as_str())
            .cloned()
            .ok_or_else(|| StoreError::Backend("notification without its actor".into()))?;
        let post = notification.post_id.as_deref();
        let post_text = post
            .and_then(|p| self.posts.get(p))
            .and_then(|p| get_s(p, "text"))
            .map(str::to_owned);
        let post_thumb_key = post.and_then(|p| self.thumbs.get(p).cloned().flatten());
        let comment_text = notification
            .comment_id
            .as_deref()
            .and_then(|c| self.comments.get(c).cloned().flatten());
        Ok(ListedNotification {
            notification,
            actor,
            post_text,
            post_thumb_key,
            comment_text,
        })
    }
}

impl DynamoStore {
    /// Reads what these notifications of `viewer` refer to. With `previews`, also the
    /// comment texts and post thumbnails (the count needs only existence).
    async fn notification_context(
        &self,
        viewer: &str,
        items: &[Item],
        previews: bool,
    ) -> StoreResult<Context> {
        let actors: Vec<String> = distinct(items.iter().filter_map(|i| get_s(i, "actor_id")));
        // The posts and the comments, one batch: a comment's key is `C#id` under its
        // post, the post item's `P`.
        let mut wanted: Vec<(String, String)> = Vec::new();
        for i in items {
            if let Some(p) = get_s(i, "post_id") {
                wanted.push((keys::post(p), keys::POST_ITEM.to_owned()));
                if let Some(c) = get_s(i, "comment_id") {
                    wanted.push((keys::post(p), keys::comment(c)));
                }
            }
        }
        let (actors, found) = tokio::try_join!(
            self.visible_users(viewer, &actors),
            self.db.batch_get(&self.t.posts, &wanted),
        )?;
        let (posts, comments): (Vec<Item>, Vec<Item>) = found
            .into_iter()
            .partition(|i| get_s(i, "sk") == Some(keys::POST_ITEM));
        let posts: HashMap<String, Item> = posts
            .into_iter()
            .filter_map(|p| Some((get_s(&p, "id")?.to_owned(), p)))
            .collect();
        let comments = comments
            .iter()
            .filter_map(|c| {
                let text = previews
                    .then(|| get_s(c, "text").map(str::to_owned))
                    .flatten();
                Some((get_s(c, "id")?.to_owned(), text))
            })
            .collect();
        let thumbs = if previews {
            self.first_thumbs(&posts).await?
        } else {
            HashMap::new()
        };
        Ok(Context {
            actors,
            posts,
            comments,
            thumbs,
        })
    }

    /// The thumbnail of each post's first ready media (SQL: the lowest position whose
    /// media is ready; its `thumb_key` may be absent).
    async fn first_thumbs(
        &self,
        posts: &HashMap<String, Item>,
    ) -> StoreResult<HashMap<String, Option<String>>> {
        let media_of: HashMap<&String, Vec<String>> = posts
            .iter()
            .map(|(id, p)| (id, get_list(p, "media_keys")))
            .collect();
        let wanted: Vec<(String, String)> = media_of
            .values()
            .flatten()
            .map(|k| (keys::media(k), keys::ONE.to_owned()))
            .collect();
        let media: HashMap<String, Item> = self
            .db
            .batch_get(&self.t.media, &wanted)
            .await?
            .into_iter()
            .filter_map(|m| Some((get_s(&m, "key")?.to_owned(), m)))
            .collect();
        Ok(media_of
            .into_iter()
            .map(|(post, keys)| {
                let thumb = keys
                    .iter()
                    .filter_map(|k| media.get(k))
                    .find(|m| get_s(m, "status") == Some("ready"))
                    .and_then(|m| get_s(m, "thumb_key").map(str::to_owned));
                (post.clone(), thumb)
            })
            .collect())
    }

    /// Marks one notification of `user` read; `false` if it is not theirs, unknown, or
    /// read already. Leaving the unread index is what makes it read for the count.
    async fn mark_one_read(&self, user: &str, id: &str, at: Timestamp) -> StoreResult<bool> {
        let w = Write::update(
            &self.t.notifications,
            &keys::notification(id),
            keys::ONE,
            "SET #read_at = :at REMOVE #gsi2pk, #gsi2sk",
        )
        .cond("#recipient_id = :me AND attribute_not_exists(#read_at)")
        .value(":at", n(at.millis()))
        .value(":me", s(user));
        Ok(self.db.write(w, false).await?.is_ok())
    }

    /// Marks these notifications read, a few at a time; returns how many changed.
    async fn mark_many_read(&self, user: &str, ids: &[String], at: Timestamp) -> StoreResult<u64> {
        let mut changed = 0;
        for chunk in ids.chunks(MARK_PARALLEL) {
            let done = futures_util::future::try_join_all(
                chunk.iter().map(|id| self.mark_one_read(user, id, at)),
            )
            .await?;
            changed += done.into_iter().filter(|&d| d).count() as u64;
        }
        Ok(changed)
    }
}

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn list_notifications(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ListedNotification>> {
        let want = limit as usize;
        if want == 0 {
            return Ok(Vec::new());
        }
        let q = Query::new(&self.t.notifications, "#gsi1pk = :pk AND #gsi1sk < :before")
            .index("gsi1")
            .value(":pk", s(keys::notifications_of(user.as_str())))
            .value(":before", s(before.unwrap_or(TOP)))
            .backward()
            .page_size(limit.clamp(1, LIST_CHUNK));
        let mut out = Vec::with_capacity(want);
        let mut start = None;
        loop {
            let (page, next) = self.db.query_page(&q, start).await?;
            let ctx = self
                .notification_context(user.as_str(), &page, true)
                .await?;
            for item in page.iter().filter(|i| ctx.shows(i)) {
                out.push(ctx.listed(item)?);
                if out.len() == want {
                    return Ok(out);
                }
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(out),
            }
        }
    }

    async fn unread_count(&self, user: &UserId) -> StoreResult<i64> {
        let q = Query::new(&self.t.notifications, "#gsi2pk = :pk")
            .index("gsi2")
            .value(":pk", s(keys::unread_of(user.as_str())))
            .project("#id, #actor_id, #post_id, #comment_id");
        let mut count = 0i64;
        let mut start = None;
        loop {
            let (page, next) = self.db.query_page(&q, start).await?;
            let ctx = self
                .notification_context(user.as_str(), &page, false)
                .await?;
            count += page.iter().filter(|i| ctx.shows(i)).count() as i64;
            match next {
                Some(n) => start = Some(n),
                None => return Ok(count),
            }
        }
    }

    async fn mark_read(&self, user: &UserId, ids: &[String], at: Timestamp) -> StoreResult<u64> {
        let ids = distinct(ids.iter().map(String::as_str));
        self.mark_many_read(user.as_str(), &ids, at).await
    }

    async fn mark_all_read(&self, user: &UserId, at: Timestamp) -> StoreResult<u64> {
        // The index only points at candidates; each update's condition decides.
        let q = Query::new(&self.t.notifications, "#gsi2pk = :pk")
            .index("gsi2")
            .value(":pk", s(keys::unread_of(user.as_str())))
            .project("#id");
        let ids: Vec<String> = self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "id").map(str::to_owned))
            .collect();
        self.mark_many_read(user.as_str(), &ids, at).await
    }

    async fn get_notification(&self, id: &str) -> StoreResult<Option<Notification>> {
        self.db
            .get(&self.t.notifications, &keys::notification(id), keys::ONE)
            .await?
            .map(|i| rows::notification(&Rec(&i)))
            .transpose()
    }

    async fn mark_pushed(&self, id: &str, at: Timestamp) -> StoreResult<bool> {
        let w = Write::update(
            &self.t.notifications,
            &keys::notification(id),
            keys::ONE,
            "SET #pushed_at = :at",
        )
        .cond("attribute_exists(#pk) AND attribute_not_exists(#pushed_at)")
        .value(":at", n(at.millis()));
        Ok(self.db.write(w, false).await?.is_ok())
    }
}
