//! `MediaStore` for PostgreSQL.

use crate::PgStore;
use crate::error::from_sqlx;
use crate::rows::{USER_RETURNING, user_from_row};
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::media::{Media, MediaStatus};
use scooter_core::notification::NewJob;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_store::media::{PROCESS_VIDEO_JOB, PURGE_MEDIA_JOB};
use scooter_store::{MediaStore, MediaUpdate, PostMedia, StoreResult};
use scooter_store_sql::rows::{MEDIA_COLUMNS, media as media_from_row};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, PgConnection, Row};

/// Queues the deletion of one upload's files inside the caller's transaction.
pub(crate) async fn queue_purge(conn: &mut PgConnection, key: &str) -> StoreResult<()> {
    let job = NewJob {
        id: new_id(),
        kind: PURGE_MEDIA_JOB.to_owned(),
        payload: key.to_owned(),
        dedupe: Some(format!("purge:{key}")),
        run_at: Timestamp::now(),
    };
    crate::notifications::insert_job(conn, &job).await
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

#[async_trait]
impl MediaStore for PgStore {
    async fn create_media(&self, m: Media) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO media (key, owner_id, purpose, kind, content_type, size, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&m.key)
        .bind(m.owner.as_str())
        .bind(m.purpose.as_str())
        .bind(m.kind.as_str())
        .bind(&m.content_type)
        .bind(i64::try_from(m.size).unwrap_or(i64::MAX))
        .bind(m.status.as_str())
        .bind(m.created_at.millis())
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn get_media(&self, key: &str) -> StoreResult<Option<Media>> {
        let sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE key = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(media_from_row).transpose()
    }

    async fn media_by_keys(&self, keys: &[String]) -> StoreResult<Vec<Media>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE key = ANY($1)");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(keys)
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(media_from_row).collect()
    }

    async fn begin_upload(
        &self,
        key: &str,
        now: Timestamp,
        stale_before: Timestamp,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE media SET status = 'uploading', upload_started_at = $2 \
             WHERE key = $1 AND (status = 'pending' \
               OR (status = 'uploading' AND COALESCE(upload_started_at, 0) < $3))",
        )
        .bind(key)
        .bind(now.millis())
        .bind(stale_before.millis())
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn abort_upload(&self, key: &str) -> StoreResult<()> {
        sqlx::query("UPDATE media SET status = 'pending' WHERE key = $1 AND status = 'uploading'")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn update_media(&self, key: &str, u: MediaUpdate) -> StoreResult<Option<Media>> {
        let sql = format!(
            "UPDATE media SET status = COALESCE($1, status), content_type = COALESCE($2, content_type), \
               width = COALESCE($3, width), height = COALESCE($4, height), \
               duration_ms = COALESCE($5, duration_ms), thumb_key = COALESCE($6, thumb_key), \
               error = COALESCE($7, error), blurhash = COALESCE($8, blurhash) \
             WHERE key = $9 AND status <> 'removed' RETURNING {}",
            MEDIA_COLUMNS.replace("media.", "")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(u.status.map(MediaStatus::as_str))
            .bind(u.content_type)
            .bind(u.width.map(i64::from))
            .bind(u.height.map(i64::from))
            .bind(u.duration_ms.and_then(|d| i64::try_from(d).ok()))
            .bind(u.thumb_key)
            .bind(u.error)
            .bind(u.blurhash)
            .bind(key);
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let row = row.fetch_optional(&mut *tx).await.map_err(from_sqlx)?;
        if u.transcode && row.is_some() {
            crate::notifications::insert_job(&mut tx, &video_job(key)).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        row.as_ref().map(media_from_row).transpose()
    }

    async fn queue_video(&self, key: &str) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(from_sqlx)?;
        crate::notifications::insert_job(&mut conn, &video_job(key)).await
    }

    async fn remove_media(&self, key: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let n = sqlx::query(
            "UPDATE media SET status = 'removed' WHERE key = $1 AND status <> 'removed'",
        )
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        queue_purge(&mut tx, key).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn media_for_posts(&self, post_ids: &[String]) -> StoreResult<Vec<PostMedia>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT pm.post_id, pm.alt AS pm_alt, {MEDIA_COLUMNS} FROM post_media pm JOIN media ON media.key = pm.media_key \
             WHERE pm.post_id = ANY($1) ORDER BY pm.post_id, pm.position"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(post_ids)
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(PostMedia {
                    post_id: row.try_get("post_id").map_err(from_sqlx)?,
                    media: media_from_row(row)?,
                    alt: row.try_get("pm_alt").map_err(from_sqlx)?,
                })
            })
            .collect()
    }

    async fn set_avatar(
        &self,
        user: &UserId,
        thumb_key: Option<&str>,
    ) -> StoreResult<Option<User>> {
        let sql =
            format!("UPDATE users SET avatar_key = $1 WHERE id = $2 RETURNING {USER_RETURNING}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(thumb_key)
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(user_from_row).transpose()
    }
}
