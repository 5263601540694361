//! `ScoopStore` for SQLite.

use crate::SqliteStore;
use crate::error::from_sqlx;
use crate::rows::{USER_COLUMNS, user_from_row};
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_core::scoop::Scoop;
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_store::scoops::{PURGE_SCOOP_JOB, SCOOPS_PER_AUTHOR};
use scooter_store::{AuthorScoops, ScoopFeedKey, ScoopStore, SeenScoop, StoreError, StoreResult};
use scooter_store_sql::rows::{SCOOP_COLUMNS, scoop as scoop_from_row};
use sqlx::sqlite::SqliteRow;
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, Row, SqliteConnection};
use std::collections::HashMap;

/// Whether viewer `?V` saw the scoop of the row, as an SQL expression.
fn seen_by(param: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM scoop_views v WHERE v.scoop_id = scoops.id AND v.viewer_id = {param}) AS seen"
    )
}

fn seen_from_row(row: &SqliteRow) -> StoreResult<SeenScoop> {
    Ok(SeenScoop {
        scoop: scoop_from_row(row)?,
        seen: row.try_get("seen").map_err(from_sqlx)?,
    })
}

/// Deletes a scoop row, marks its media removed and queues the file deletion.
async fn drop_scoop(conn: &mut SqliteConnection, id: &str) -> StoreResult<bool> {
    let media: Option<String> =
        sqlx::query_scalar("DELETE FROM scoops WHERE id = ? RETURNING media_key")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    let Some(key) = media else { return Ok(false) };
    sqlx::query("UPDATE media SET status = 'removed' WHERE key = ?")
        .bind(&key)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    crate::media::queue_purge(conn, &key).await?;
    Ok(true)
}

impl SqliteStore {
    /// The live scoops of several authors, oldest first per author (at most
    /// [`SCOOPS_PER_AUTHOR`] each), with `viewer`'s seen flags: one query for a whole
    /// feed page instead of one per author.
    async fn live_scoops_of_many(
        &self,
        authors: &[String],
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<HashMap<String, Vec<SeenScoop>>> {
        let mut out: HashMap<String, Vec<SeenScoop>> = HashMap::new();
        if authors.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT * FROM ( \
               SELECT {SCOOP_COLUMNS}, {}, \
                 ROW_NUMBER() OVER (PARTITION BY scoops.author_id ORDER BY scoops.created_at, scoops.id) AS nth \
               FROM scoops WHERE scoops.author_id IN (SELECT value FROM json_each(?1)) AND scoops.expires_at > ?3) live \
             WHERE nth <= {SCOOPS_PER_AUTHOR} ORDER BY author_id, created_at, id",
            seen_by("?2")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(serde_json::to_string(authors).map_err(|e| StoreError::Backend(Box::new(e)))?)
            .bind(viewer.as_str())
            .bind(now.millis())
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        for row in &rows {
            let seen = seen_from_row(row)?;
            out.entry(seen.scoop.author.as_str().to_owned())
                .or_default()
                .push(seen);
        }
        Ok(out)
    }
}

#[async_trait]
impl ScoopStore for SqliteStore {
    async fn create_scoop(&self, s: Scoop) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO scoops (id, author_id, media_key, media_alt, caption, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(s.author.as_str())
        .bind(&s.media_key)
        .bind(&s.media_alt)
        .bind(&s.caption)
        .bind(s.created_at.millis())
        .bind(s.expires_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let purge = NewJob {
            id: new_id(),
            kind: PURGE_SCOOP_JOB.to_owned(),
            payload: s.id.clone(),
            dedupe: Some(format!("purge-scoop:{}", s.id)),
            run_at: s.expires_at,
        };
        crate::notifications::insert_job(&mut tx, &purge).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(())
    }

    async fn get_scoop(&self, id: &str, now: Timestamp) -> StoreResult<Option<Scoop>> {
        let sql = format!("SELECT {SCOOP_COLUMNS} FROM scoops WHERE id = ? AND expires_at > ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(now.millis())
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(scoop_from_row).transpose()
    }

    async fn visible_scoop(
        &self,
        id: &str,
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<Option<SeenScoop>> {
        let sql = format!(
            "SELECT {SCOOP_COLUMNS}, {} FROM scoops JOIN users u ON u.id = scoops.author_id \
             WHERE scoops.id = ?1 AND scoops.expires_at > ?3 \
               AND (scoops.author_id = ?2 OR (u.suspended_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE \
                   (bl.blocker_id = ?2 AND bl.blocked_id = scoops.author_id) \
                   OR (bl.blocker_id = scoops.author_id AND bl.blocked_id = ?2))))",
            seen_by("?2")
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(viewer.as_str())
            .bind(now.millis())
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(seen_from_row).transpose()
    }

    async fn delete_scoop(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let gone = drop_scoop(&mut tx, id).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(gone)
    }

    async fn live_scoops_of(
        &self,
        author: &UserId,
        viewer: &UserId,
        now: Timestamp,
    ) -> StoreResult<Vec<SeenScoop>> {
        let author = author.as_str().to_owned();
        let mut found = self
            .live_scoops_of_many(std::slice::from_ref(&author), viewer, now)
            .await?;
        Ok(found.remove(&author).unwrap_or_default())
    }

    async fn record_view(&self, id: &str, viewer: &UserId, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let author: Option<String> =
            sqlx::query_scalar("SELECT author_id FROM scoops WHERE id = ? AND expires_at > ?")
                .bind(id)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        let Some(author) = author else {
            return Ok(false);
        };
        if author == viewer.as_str() {
            return Ok(true);
        }
        let added = sqlx::query(
            "INSERT INTO scoop_views (scoop_id, viewer_id, viewed_at) VALUES (?, ?, ?) \
             ON CONFLICT (scoop_id, viewer_id) DO NOTHING",
        )
        .bind(id)
        .bind(viewer.as_str())
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        if added > 0 {
            sqlx::query("UPDATE scoops SET view_count = view_count + 1 WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn list_viewers(
        &self,
        id: &str,
        owner: &UserId,
        after: Option<&(i64, String)>,
        limit: u32,
    ) -> StoreResult<Vec<(User, Timestamp)>> {
        let (at, uid) = after.map_or((i64::MAX, ""), |(a, u)| (*a, u.as_str()));
        let sql = format!(
            "SELECT {USER_COLUMNS}, v.viewed_at FROM scoop_views v JOIN users ON users.id = v.viewer_id \
             WHERE v.scoop_id = ?1 AND users.suspended_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ?2 AND b.blocked_id = users.id) \
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = ?2) \
               AND (v.viewed_at, v.viewer_id) < (?3, ?4) \
             ORDER BY v.viewed_at DESC, v.viewer_id DESC LIMIT ?5"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(owner.as_str())
            .bind(at)
            .bind(uid)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let at: i64 = row.try_get("viewed_at").map_err(from_sqlx)?;
                Ok((user_from_row(row)?, Timestamp::from_millis(at)))
            })
            .collect()
    }

    async fn scoop_feed(
        &self,
        viewer: &UserId,
        now: Timestamp,
        after: Option<&ScoopFeedKey>,
        limit: u32,
    ) -> StoreResult<Vec<AuthorScoops>> {
        let (a_rank, a_latest, a_id) = after.map_or((-1, i64::MIN, ""), |(r, l, i)| {
            (i64::from(*r), *l, i.as_str())
        });
        // One row per author with live scoops: rank 0 for me, 1 with something unseen,
        // 2 all seen; then newest first (latest negated), then id. Driven from the
        // accounts I follow (CROSS JOIN fixes that order in SQLite): one range of
        // `scoops_by_author` each, where filtering every live scoop by "do I follow its
        // author" read the whole table's live part per request (bench/NOTES.md).
        let rows = sqlx::query(
            "SELECT * FROM ( \
               SELECT scoops.author_id AS author, -MAX(scoops.created_at) AS neg_latest, \
                 CASE WHEN scoops.author_id = ?1 THEN 0 \
                      WHEN MIN(EXISTS (SELECT 1 FROM scoop_views v WHERE v.scoop_id = scoops.id AND v.viewer_id = ?1)) = 0 THEN 1 \
                      ELSE 2 END AS rank \
               FROM (SELECT followee_id AS id FROM follows WHERE follower_id = ?1 UNION SELECT ?1) authors \
               CROSS JOIN scoops ON scoops.author_id = authors.id AND scoops.expires_at > ?2 \
               JOIN users ON users.id = scoops.author_id AND users.suspended_at IS NULL \
               GROUP BY scoops.author_id) ranked \
             WHERE (rank, neg_latest, author) > (?3, ?4, ?5) \
             ORDER BY rank, neg_latest, author LIMIT ?6",
        )
        .bind(viewer.as_str())
        .bind(now.millis())
        .bind(a_rank)
        .bind(a_latest)
        .bind(a_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        let authors = rows
            .iter()
            .map(|row| row.try_get::<String, _>("author").map_err(from_sqlx))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut scoops_by_author = self.live_scoops_of_many(&authors, viewer, now).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, author) in rows.iter().zip(authors) {
            let rank: i64 = row.try_get("rank").map_err(from_sqlx)?;
            let neg_latest: i64 = row.try_get("neg_latest").map_err(from_sqlx)?;
            let author_id = UserId::parse(&author)
                .ok_or_else(|| StoreError::Backend("bad author id".into()))?;
            let scoops = scoops_by_author.remove(&author).unwrap_or_default();
            let key = (u8::try_from(rank).unwrap_or(u8::MAX), neg_latest, author);
            out.push(AuthorScoops {
                key,
                author: author_id,
                scoops,
            });
        }
        Ok(out)
    }

    async fn purge_expired_scoop(&self, id: &str, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let expired: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM scoops WHERE id = ? AND expires_at <= ?")
                .bind(id)
                .bind(now.millis())
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        if expired.is_none() {
            return Ok(false);
        }
        let gone = drop_scoop(&mut tx, id).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(gone)
    }
}
