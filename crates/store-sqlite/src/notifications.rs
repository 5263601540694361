//! `NotificationStore`, `PushStore` and `JobStore` for SQLite, and the helper that
//! writes notifications (with their push jobs) inside the causing transaction.

use crate::SqliteStore;
use crate::error::from_sqlx;
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::notification::{
    Job, NewJob, NewNotification, Notification, PUSH_JOB_KIND, Platform, PushDevice, PushService,
};
use scooter_core::post::ReactionType;
use scooter_core::{Timestamp, UserId};
use scooter_store::{
    JobKinds, JobStore, ListedNotification, NotificationStore, PushStore, StoreError, StoreResult,
};
use scooter_store_sql::json;
use scooter_store_sql::rows::user as user_from_json;
use scooter_store_sql::rows::{
    JOB_COLUMNS, NOTIFICATION_COLUMNS, job as job_from_row, notification as notification_from_row,
};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, Row, SqliteConnection};
use std::time::Duration;

/// Notifications the recipient (`?1`) may see: the actor is neither suspended nor on
/// either side of a block with them.
const VISIBLE_ACTOR: &str = "a.suspended_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ?1 AND b.blocked_id = a.id) \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = a.id AND b.blocked_id = ?1)";

/// Devices kept per user.
const MAX_DEVICES: i64 = 20;

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} is malformed").into())
}

pub(crate) async fn insert_job(conn: &mut SqliteConnection, job: &NewJob) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedupe, state, run_at, created_at) \
         VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (dedupe) DO NOTHING",
    )
    .bind(&job.id)
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(&job.dedupe)
    .bind(job.run_at.millis())
    .bind(Timestamp::now().millis())
    .execute(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

/// Writes notifications inside the caller's transaction. Each one new under its dedupe
/// key also gets a push job, when its recipient wants push.
pub(crate) async fn write_notifications(
    conn: &mut SqliteConnection,
    notes: &[NewNotification],
) -> StoreResult<()> {
    for n in notes {
        let added = sqlx::query(
            "INSERT INTO notifications (id, recipient_id, kind, actor_id, post_id, comment_id, reaction, dedupe, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recipient_id, dedupe) DO NOTHING",
        )
        .bind(&n.id)
        .bind(n.recipient.as_str())
        .bind(n.kind.as_str())
        .bind(n.actor.as_str())
        .bind(&n.post_id)
        .bind(&n.comment_id)
        .bind(n.reaction.map(ReactionType::as_str))
        .bind(&n.dedupe)
        .bind(n.created_at.millis())
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        let wants_push: Option<bool> =
            sqlx::query_scalar("SELECT pref_push FROM users WHERE id = ?")
                .bind(n.recipient.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(from_sqlx)?;
        if added > 0 && wants_push == Some(true) {
            let job = NewJob {
                id: new_id(),
                kind: PUSH_JOB_KIND.to_owned(),
                payload: n.id.clone(),
                dedupe: Some(format!("push:{}", n.id)),
                run_at: n.created_at,
            };
            insert_job(conn, &job).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn list_notifications(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ListedNotification>> {
        // The actor comes back as one JSON column: its columns would clash with the
        // notification's in the row.
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS}, {object}({actor}){cast} AS actor, \
               p.text AS post_text, c.text AS comment_text, \
               (SELECT m.thumb_key FROM post_media pm JOIN media m ON m.key = pm.media_key \
                  WHERE pm.post_id = n.post_id AND m.status = 'ready' \
                  ORDER BY pm.position LIMIT 1) AS post_thumb \
             FROM notifications n JOIN users a ON a.id = n.actor_id \
             LEFT JOIN posts p ON p.id = n.post_id \
             LEFT JOIN comments c ON c.id = n.comment_id \
             WHERE n.recipient_id = ?1 AND n.id < ?2 AND {VISIBLE_ACTOR} \
             ORDER BY n.id DESC LIMIT ?3",
            object = "json_object",
            actor = json::user_fields_as("a"),
            cast = "",
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(user.as_str())
            .bind(before.unwrap_or("\u{10FFFF}"))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let actor: Option<String> = row.try_get("actor").map_err(from_sqlx)?;
                let actor = json::read_one(actor.as_deref(), user_from_json)?
                    .ok_or_else(|| StoreError::Backend("notification without its actor".into()))?;
                Ok(ListedNotification {
                    notification: notification_from_row(row)?,
                    actor,
                    post_text: row.try_get("post_text").map_err(from_sqlx)?,
                    post_thumb_key: row.try_get("post_thumb").map_err(from_sqlx)?,
                    comment_text: row.try_get("comment_text").map_err(from_sqlx)?,
                })
            })
            .collect()
    }

    async fn unread_count(&self, user: &UserId) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM notifications n JOIN users a ON a.id = n.actor_id \
             WHERE n.recipient_id = ?1 AND n.read_at IS NULL AND {VISIBLE_ACTOR}"
        );
        sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(user.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(from_sqlx)
    }

    async fn mark_read(&self, user: &UserId, ids: &[String], at: Timestamp) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = serde_json::to_string(ids).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let n = sqlx::query(
            "UPDATE notifications SET read_at = ? \
             WHERE recipient_id = ? AND read_at IS NULL AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(at.millis())
        .bind(user.as_str())
        .bind(list)
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        Ok(n)
    }

    async fn mark_all_read(&self, user: &UserId, at: Timestamp) -> StoreResult<u64> {
        let n = sqlx::query(
            "UPDATE notifications SET read_at = ? WHERE recipient_id = ? AND read_at IS NULL",
        )
        .bind(at.millis())
        .bind(user.as_str())
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        Ok(n)
    }

    async fn get_notification(&self, id: &str) -> StoreResult<Option<Notification>> {
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(notification_from_row).transpose()
    }

    async fn mark_pushed(&self, id: &str, at: Timestamp) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE notifications SET pushed_at = ? WHERE id = ? AND pushed_at IS NULL",
        )
        .bind(at.millis())
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        Ok(n > 0)
    }
}

#[async_trait]
impl PushStore for SqliteStore {
    async fn register_device(
        &self,
        user: &UserId,
        token: &str,
        platform: Platform,
        service: PushService,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO push_devices (token, user_id, platform, provider, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform, \
             provider = excluded.provider, created_at = excluded.created_at",
        )
        .bind(token)
        .bind(user.as_str())
        .bind(platform.as_str())
        .bind(service.as_str())
        .bind(at.millis())
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        // A user keeps their newest devices only, so nobody can make one push fan out
        // to thousands of tokens.
        sqlx::query(
            "DELETE FROM push_devices WHERE user_id = ?1 AND token NOT IN \
             (SELECT token FROM push_devices WHERE user_id = ?1 ORDER BY created_at DESC, token DESC LIMIT ?2)",
        )
        .bind(user.as_str())
        .bind(MAX_DEVICES)
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn unregister_device(&self, user: &UserId, token: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM push_devices WHERE token = ? AND user_id = ?")
            .bind(token)
            .bind(user.as_str())
            .execute(&self.writer)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        Ok(n > 0)
    }

    async fn devices_of(&self, user: &UserId) -> StoreResult<Vec<PushDevice>> {
        let rows = sqlx::query(
            "SELECT token, platform, provider FROM push_devices WHERE user_id = ? ORDER BY created_at",
        )
        .bind(user.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let platform: String = row.try_get("platform").map_err(from_sqlx)?;
                let service: String = row.try_get("provider").map_err(from_sqlx)?;
                Ok(PushDevice {
                    token: row.try_get("token").map_err(from_sqlx)?,
                    user: user.clone(),
                    platform: Platform::from_stored(&platform).ok_or_else(|| bad("platform"))?,
                    service: PushService::from_stored(&service).ok_or_else(|| bad("provider"))?,
                })
            })
            .collect()
    }

    async fn forget_device(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM push_devices WHERE token = ?")
            .bind(token)
            .execute(&self.writer)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await.map_err(from_sqlx)?;
        insert_job(&mut conn, &job).await
    }

    async fn claim_jobs_of(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
        kinds: JobKinds<'_>,
    ) -> StoreResult<Vec<Job>> {
        let (mode, names) = kinds.as_filter();
        let until = now.plus_seconds(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX));
        // One writer: the select and the update cannot interleave with another claim.
        let sql = format!(
            "UPDATE jobs SET state = 'running', locked_until = ?2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs \
                 WHERE ((state = 'pending' AND run_at <= ?1) OR (state = 'running' AND locked_until <= ?1)) \
                   AND (?4 = 0 OR (?4 = 1) = (kind IN (SELECT value FROM json_each(?5)))) \
                 ORDER BY run_at LIMIT ?3) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now.millis())
            .bind(until.millis())
            .bind(i64::from(limit))
            .bind(mode)
            .bind(serde_json::to_string(&names).map_err(|e| StoreError::Backend(Box::new(e)))?)
            .fetch_all(&self.writer)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn complete_job(&self, id: &str, attempt: u32) -> StoreResult<()> {
        sqlx::query("DELETE FROM jobs WHERE id = ? AND attempts = ? AND state = 'running'")
            .bind(id)
            .bind(i64::from(attempt))
            .execute(&self.writer)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn fail_job(
        &self,
        id: &str,
        attempt: u32,
        error: &str,
        run_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let (state, at) = match run_at {
            Some(t) => ("pending", Some(t.millis())),
            None => ("dead", None),
        };
        sqlx::query(
            "UPDATE jobs SET state = ?, run_at = COALESCE(?, run_at), locked_until = NULL, last_error = ? \
             WHERE id = ? AND attempts = ? AND state = 'running'",
        )
        .bind(state)
        .bind(at)
        .bind(error)
        .bind(id)
        .bind(i64::from(attempt))
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn purge_stale(&self, now: Timestamp) -> StoreResult<u64> {
        let day = 24 * 3600 * 1000;
        let mut gone = 0;
        for (sql, cutoff) in [
            (
                "DELETE FROM refresh_tokens WHERE expires_at < ?1 OR revoked_at < ?1",
                now.millis() - 7 * day,
            ),
            // Sessions whose every token is gone (expired or revoked a week ago).
            (
                "DELETE FROM sessions WHERE last_used_at < ?1 \
                 AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = sessions.id)",
                now.millis() - 7 * day,
            ),
            (
                "DELETE FROM idempotency_keys WHERE created_at < ?1",
                now.millis() - day,
            ),
            (
                "DELETE FROM jobs WHERE state = 'dead' AND created_at < ?1",
                now.millis() - 30 * day,
            ),
        ] {
            gone += sqlx::query(sql)
                .bind(cutoff)
                .execute(&self.writer)
                .await
                .map_err(from_sqlx)?
                .rows_affected();
        }
        Ok(gone)
    }

    async fn dead_jobs(&self, limit: u32) -> StoreResult<Vec<Job>> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'dead' ORDER BY id DESC LIMIT ?");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(job_from_row).collect()
    }
}
