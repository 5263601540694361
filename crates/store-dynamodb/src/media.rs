//! `MediaStore`: one item per upload in the media table (`M#key` / `_`, the SQL column
//! names as attributes, `gsi1` = the owner's uploads for the account purge).
//!
//! Access patterns: the upload state machine is conditional updates on the one item
//! (pending → uploading, stale uploading → uploading, uploading → pending); a change
//! that must come with a job (transcode, file purge) is one transaction with the job
//! and its dedupe marker; a page's media are one `BatchGetItem` of the posts (their
//! `media_keys` lists keep the order) and one of the uploads. Deleting a post or a
//! scoop removes its uploads with [`DynamoStore::media_removal_writes`].

use crate::DynamoStore;
use crate::item::{Item, ItemBuilder, Rec, n, s};
use crate::keys;
use crate::write::Write;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use scooter_core::ids::new_id;
use scooter_core::media::{Media, MediaStatus};
use scooter_core::notification::NewJob;
use scooter_core::post::Attachment;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_store::media::{PROCESS_VIDEO_JOB, PURGE_MEDIA_JOB};
use scooter_store::{JobStore, MediaStore, MediaUpdate, PostMedia, StoreError, StoreResult};
use scooter_store_sql::rows;
use std::collections::HashMap;

/// An upload as stored: the SQL columns (no `upload_started_at` until it is claimed)
/// and the owner's list (`gsi1`). The bulk loader writes the same item.
pub(crate) fn media_item(m: &Media) -> Item {
    let owner = m.owner.as_str();
    ItemBuilder::key(keys::media(&m.key), keys::ONE)
        .s("key", &m.key)
        .s("owner_id", owner)
        .s("purpose", m.purpose.as_str())
        .s("kind", m.kind.as_str())
        .s("content_type", &m.content_type)
        .n("size", i64::try_from(m.size).unwrap_or(i64::MAX))
        .s("status", m.status.as_str())
        .opt_n("width", m.width.map(i64::from))
        .opt_n("height", m.height.map(i64::from))
        .opt_n(
            "duration_ms",
            m.duration_ms.and_then(|d| i64::try_from(d).ok()),
        )
        .opt_s("thumb_key", m.thumb_key.clone())
        .opt_s("blurhash", m.blurhash.clone())
        .opt_s("error", m.error.clone())
        .n("created_at", m.created_at.millis())
        .s("gsi1pk", keys::media_of(owner))
        .s("gsi1sk", m.key.clone())
        .build()
}

/// The job that deletes one upload's files (one per key while queued).
fn purge_job(key: &str) -> NewJob {
    NewJob {
        id: new_id(),
        kind: PURGE_MEDIA_JOB.to_owned(),
        payload: key.to_owned(),
        dedupe: Some(format!("purge:{key}")),
        run_at: Timestamp::now(),
    }
}

/// The transcode job of a video (one per key, however often it is queued).
fn video_job(key: &str) -> NewJob {
    NewJob {
        id: new_id(),
        kind: PROCESS_VIDEO_JOB.to_owned(),
        payload: key.to_owned(),
        dedupe: Some(format!("video:{key}")),
        run_at: Timestamp::now(),
    }
}

/// The update expression of a [`MediaUpdate`]: only the fields it carries change, like
/// SQL's `COALESCE(?, column)`. `#key = :key` keeps the expression valid when the
/// update carries nothing.
fn media_update_write(table: &str, key: &str, u: &MediaUpdate) -> Write {
    let mut fields: Vec<(&str, AttributeValue)> = vec![("key", s(key))];
    let mut add = |name: &'static str, v: Option<AttributeValue>| {
        if let Some(v) = v {
            fields.push((name, v));
        }
    };
    add("status", u.status.map(|st| s(st.as_str())));
    add("content_type", u.content_type.clone().map(s));
    add("width", u.width.map(|v| n(i64::from(v))));
    add("height", u.height.map(|v| n(i64::from(v))));
    add(
        "duration_ms",
        u.duration_ms.and_then(|d| i64::try_from(d).ok()).map(n),
    );
    add("thumb_key", u.thumb_key.clone().map(s));
    add("blurhash", u.blurhash.clone().map(s));
    add("error", u.error.clone().map(s));
    let sets: Vec<String> = fields
        .iter()
        .map(|(name, _)| format!("#{name} = :{name}"))
        .collect();
    let expr = format!("SET {}", sets.join(", "));
    let mut w = Write::update(table, &keys::media(key), keys::ONE, expr)
        .cond("attribute_exists(#pk) AND #status <> :removed")
        .value(":removed", s(MediaStatus::Removed.as_str()));
    for (name, v) in fields {
        w = w.value(&format!(":{name}"), v);
    }
    w
}

impl DynamoStore {
    /// Applies `u` in one transaction with `job` (and its dedupe marker unless taken),
    /// planned again when the marker appears meanwhile. `false` when the upload is
    /// missing or removed.
    async fn update_media_with(
        &self,
        key: &str,
        u: &MediaUpdate,
        job: NewJob,
    ) -> StoreResult<bool> {
        for _ in 0..crate::REPLANS {
            let mut writes = vec![media_update_write(&self.t.media, key, u)];
            writes.extend(self.job_writes(&job).await?);
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(true),
                Err(c) if c.failed(0) => return Ok(false),
                Err(c) if c.replan => continue,
                Err(_) => return Err(StoreError::Backend("media update refused".into())),
            }
        }
        Err(crate::kept_racing())
    }

    /// For the transaction that deletes what owns an upload: the writes that mark it
    /// removed (when it exists; its condition replans) and queue its file purge (unless
    /// queued already), and whether it exists. Both reads run at once.
    pub(crate) async fn media_removal_writes(&self, key: &str) -> StoreResult<(bool, Vec<Write>)> {
        let pk = keys::media(key);
        let job = purge_job(key);
        let (media, purge) = tokio::try_join!(
            self.db.get(&self.t.media, &pk, keys::ONE),
            self.job_writes(&job)
        )?;
        let mut writes = Vec::with_capacity(purge.len() + 1);
        if media.is_some() {
            writes.push(
                Write::update(&self.t.media, &pk, keys::ONE, "SET #status = :r")
                    .cond("attribute_exists(#pk)")
                    .value(":r", s(MediaStatus::Removed.as_str()))
                    .replan_on_fail(),
            );
        }
        writes.extend(purge);
        Ok((media.is_some(), writes))
    }

    /// The uploads with these keys that exist, by key.
    async fn media_items(&self, media_keys: &[String]) -> StoreResult<HashMap<String, Media>> {
        let wanted: Vec<(String, String)> = media_keys
            .iter()
            .map(|k| (keys::media(k), keys::ONE.to_owned()))
            .collect();
        self.db
            .batch_get(&self.t.media, &wanted)
            .await?
            .iter()
            .map(|i| rows::media(&Rec(i)).map(|m| (m.key.clone(), m)))
            .collect()
    }
}

#[async_trait]
impl MediaStore for DynamoStore {
    async fn create_media(&self, m: Media) -> StoreResult<()> {
        // The owner must exist (SQL's foreign key): checked in the same transaction.
        let writes = vec![
            Write::put_new(&self.t.media, media_item(&m)),
            Write::check(
                &self.t.users,
                &keys::user(m.owner.as_str()),
                keys::PROFILE,
                "attribute_exists(#pk)",
            ),
        ];
        match self.db.transact(writes).await? {
            Ok(()) => Ok(()),
            Err(c) if c.failed(1) => Err(StoreError::MissingReference),
            Err(_) => Err(StoreError::Backend("media key already recorded".into())),
        }
    }

    async fn get_media(&self, key: &str) -> StoreResult<Option<Media>> {
        let item = self
            .db
            .get(&self.t.media, &keys::media(key), keys::ONE)
            .await?;
        item.as_ref().map(|i| rows::media(&Rec(i))).transpose()
    }

    async fn media_by_keys(&self, media_keys: &[String]) -> StoreResult<Vec<Media>> {
        if media_keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.media_items(media_keys).await?.into_values().collect())
    }

    async fn begin_upload(
        &self,
        key: &str,
        now: Timestamp,
        stale_before: Timestamp,
    ) -> StoreResult<bool> {
        // A claim without a start time counts as started at 0 (SQL's COALESCE).
        let w = Write::update(
            &self.t.media,
            &keys::media(key),
            keys::ONE,
            "SET #status = :uploading, #upload_started_at = :now",
        )
        .cond(
            "#status = :pending OR (#status = :uploading AND \
             (attribute_not_exists(#upload_started_at) OR #upload_started_at < :stale))",
        )
        .value(":uploading", s(MediaStatus::Uploading.as_str()))
        .value(":pending", s(MediaStatus::Pending.as_str()))
        .value(":now", n(now.millis()))
        .value(":stale", n(stale_before.millis()));
        Ok(self.db.write(w, false).await?.is_ok())
    }

    async fn abort_upload(&self, key: &str) -> StoreResult<()> {
        let w = Write::update(
            &self.t.media,
            &keys::media(key),
            keys::ONE,
            "SET #status = :pending",
        )
        .cond("#status = :uploading")
        .value(":uploading", s(MediaStatus::Uploading.as_str()))
        .value(":pending", s(MediaStatus::Pending.as_str()));
        // Not uploading (or gone): nothing to return to pending, as in SQL.
        let _ = self.db.write(w, false).await?;
        Ok(())
    }

    async fn update_media(&self, key: &str, u: MediaUpdate) -> StoreResult<Option<Media>> {
        if !u.transcode {
            let w = media_update_write(&self.t.media, key, &u);
            return match self.db.write(w, true).await? {
                Ok(Some(item)) => rows::media(&Rec(&item)).map(Some),
                Ok(None) => Err(StoreError::Backend("the update returned no media".into())),
                Err(_) => Ok(None),
            };
        }
        if !self.update_media_with(key, &u, video_job(key)).await? {
            return Ok(None);
        }
        // A transaction returns no item: read the result back (strongly consistent).
        self.get_media(key).await
    }

    async fn queue_video(&self, key: &str) -> StoreResult<()> {
        self.enqueue_job(video_job(key)).await
    }

    async fn remove_media(&self, key: &str) -> StoreResult<bool> {
        let removed = MediaUpdate {
            status: Some(MediaStatus::Removed),
            ..MediaUpdate::default()
        };
        self.update_media_with(key, &removed, purge_job(key)).await
    }

    async fn media_for_posts(&self, post_ids: &[String]) -> StoreResult<Vec<PostMedia>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Most pages read their posts just before: their media are remembered.
        let mut posts: Vec<(String, Vec<Attachment>)> = Vec::new();
        let mut wanted: Vec<(String, String)> = Vec::new();
        for id in post_ids {
            match self.post_media.get(id) {
                Some(media) => posts.push((id.clone(), media.to_vec())),
                None => wanted.push((keys::post(id), keys::POST_ITEM.to_owned())),
            }
        }
        if !wanted.is_empty() {
            for p in self.db.batch_get(&self.t.posts, &wanted).await? {
                let post = self.read_post(&p)?;
                posts.push((post.id, crate::posts::attachments_of(&p)));
            }
        }
        posts.retain(|(_, media)| !media.is_empty());
        // SQL orders by post id, then position: so do we.
        posts.sort_by(|a, b| a.0.cmp(&b.0));
        let all: Vec<String> = posts
            .iter()
            .flat_map(|(_, m)| m.iter().map(|a| a.key.clone()))
            .collect();
        if all.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.media_items(&all).await?;
        Ok(posts
            .into_iter()
            .flat_map(|(post_id, media)| {
                let found = &found;
                media.into_iter().filter_map(move |a| {
                    Some(PostMedia {
                        post_id: post_id.clone(),
                        media: found.get(&a.key)?.clone(),
                        alt: a.alt,
                    })
                })
            })
            .collect())
    }

    async fn set_avatar(
        &self,
        user: &UserId,
        thumb_key: Option<&str>,
    ) -> StoreResult<Option<User>> {
        let pk = keys::user(user.as_str());
        let w = match thumb_key {
            Some(k) => Write::update(&self.t.users, &pk, keys::PROFILE, "SET #avatar_key = :k")
                .value(":k", s(k)),
            None => Write::update(&self.t.users, &pk, keys::PROFILE, "REMOVE #avatar_key"),
        }
        .cond("attribute_exists(#pk)");
        match self.db.write(w, true).await? {
            Ok(Some(item)) => rows::user(&Rec(&item)).map(Some),
            Ok(None) => Err(StoreError::Backend("the update returned no profile".into())),
            Err(_) => Ok(None),
        }
    }
}
