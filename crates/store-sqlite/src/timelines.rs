//! `TimelineStore` for SQLite: `timelines` (one row per user: the horizon) and
//! `timeline_entries` (user, post, author), filtered at read; see `scooter_store::timelines`
//! for the rules.

use crate::SqliteStore;
use crate::error::from_sqlx;
use crate::notifications::insert_job;
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_core::post::Post;
use scooter_core::{Timestamp, UserId};
use scooter_store::timelines::{FAN_OUT_JOB, FanOut, TimelinePage, TimelineStore};
use scooter_store::{StoreError, StoreResult};
use scooter_store_sql::rows::{POST_COLUMNS, post as post_from_row};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, Row, SqliteConnection};

/// Above every id: "before nothing" as a cursor, "nothing is authoritative" as a horizon.
pub(crate) const TOP: &str = "\u{10FFFF}";

/// Posts of authors with at most this many followers are fanned out in the post's own
/// transaction: a job costs the single SQLite writer three more commits (claim,
/// fan-out, completion). Each active follower is a random B-tree page write, ~0.1 ms
/// (an author with 1,000 active followers: POST 121 ms inline), so only small audiences.
pub(crate) const INLINE_FAN_OUT: i64 = 100;

/// At most this many of a newly followed author's posts are copied into the follower's
/// timeline; beyond them the follower's horizon rises, and older pages are pulled.
const FOLLOW_BACKFILL: u32 = 200;

/// The page of the pull query: `user`'s own posts and those of the accounts followed,
/// newest first, before `before`. Bounded by the number of accounts followed, never by
/// the table size (see `PostStore::home_feed`).
pub(crate) async fn pull_page(
    conn: &mut SqliteConnection,
    user: &str,
    before: &str,
    limit: u32,
) -> StoreResult<Vec<Post>> {
    // First each author's newest post before the cursor (one seek each): the
    // `limit`-th newest of those is a bound the whole page is at or above, since that
    // many posts already are. Then per author the posts between the bound and the
    // cursor, only for authors whose newest post reaches the bound.
    let sql = format!(
        "WITH authors(id) AS ( \
             SELECT followee_id FROM follows WHERE follower_id = ?1 UNION SELECT ?1), \
         newest(author, id) AS MATERIALIZED ( \
             SELECT authors.id, (SELECT p.id FROM posts p \
                 WHERE p.author_id = authors.id AND p.id < ?2 ORDER BY p.id DESC LIMIT 1) \
             FROM authors JOIN users ON users.id = authors.id AND users.suspended_at IS NULL), \
         bound(id) AS MATERIALIZED ( \
             SELECT coalesce((SELECT id FROM newest WHERE id IS NOT NULL \
                 ORDER BY id DESC LIMIT 1 OFFSET ?3 - 1), '')) \
         SELECT {POST_COLUMNS} FROM newest, bound \
         JOIN posts ON posts.id IN ( \
             SELECT p.id FROM posts p \
             WHERE p.author_id = newest.author AND p.id < ?2 AND p.id >= bound.id \
             ORDER BY p.id DESC LIMIT ?3) \
         WHERE newest.id >= bound.id \
         ORDER BY posts.id DESC LIMIT ?3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(user)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    rows.iter().map(post_from_row).collect()
}

/// In the transaction that stores a new post: the author's own timeline gets it at once
/// (when they have one), and so do their followers' when the author has at most
/// [`INLINE_FAN_OUT`] followers and is not pulled; a larger audience is left to the
/// fan-out job queued in the outbox. (The single writer makes the inline copy atomic
/// with any rebuild; PostgreSQL always queues the job.)
pub(crate) async fn on_new_post(
    conn: &mut SqliteConnection,
    post_id: &str,
    author: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let (followers, pulled): (i64, i64) =
        sqlx::query_as("SELECT followers_count, timeline_pull FROM users WHERE id = ?")
            .bind(author)
            .fetch_one(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    let inline = pulled == 0 && followers <= INLINE_FAN_OUT;
    let sql = if inline {
        "INSERT OR IGNORE INTO timeline_entries (user_id, post_id, author_id) \
         SELECT t.user_id, ?1, ?2 FROM timelines t WHERE t.user_id = ?2 \
         UNION ALL \
         SELECT f.follower_id, ?1, ?2 FROM follows f \
         JOIN timelines t ON t.user_id = f.follower_id WHERE f.followee_id = ?2"
    } else {
        "INSERT OR IGNORE INTO timeline_entries (user_id, post_id, author_id) \
         SELECT ?2, ?1, ?2 WHERE EXISTS (SELECT 1 FROM timelines WHERE user_id = ?2)"
    };
    sqlx::query(sql)
        .bind(post_id)
        .bind(author)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    if inline {
        return Ok(());
    }
    let job = NewJob {
        id: new_id(),
        kind: FAN_OUT_JOB.to_owned(),
        payload: post_id.to_owned(),
        dedupe: Some(format!("fan-out:{post_id}")),
        run_at: at,
    };
    insert_job(conn, &job).await
}

/// In the transaction that adds a follow: the followee's posts above the follower's
/// horizon join the follower's timeline (a pulled followee is merged at read instead).
pub(crate) async fn on_follow(
    conn: &mut SqliteConnection,
    follower: &str,
    followee: &str,
) -> StoreResult<()> {
    let horizon: Option<String> = sqlx::query_scalar(
        "SELECT t.horizon FROM timelines t, users u \
         WHERE t.user_id = ? AND u.id = ? AND u.timeline_pull = 0",
    )
    .bind(follower)
    .bind(followee)
    .fetch_optional(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let Some(horizon) = horizon else {
        return Ok(());
    };
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM posts WHERE author_id = ? AND id >= ? ORDER BY id DESC LIMIT ?",
    )
    .bind(followee)
    .bind(&horizon)
    .bind(i64::from(FOLLOW_BACKFILL) + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let keep = ids.len().min(FOLLOW_BACKFILL as usize);
    insert_entries(conn, follower, followee, &ids[..keep]).await?;
    if ids.len() > keep
        && let Some(lowest) = ids.get(keep - 1)
    {
        raise_horizon(conn, follower, lowest).await?;
    }
    Ok(())
}

/// In the transaction that removes a follow: the followee's entries leave the
/// follower's timeline (reads already hide them; this keeps the timeline short).
pub(crate) async fn on_unfollow(
    conn: &mut SqliteConnection,
    follower: &str,
    followee: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM timeline_entries WHERE user_id = ? AND author_id = ?")
        .bind(follower)
        .bind(followee)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    Ok(())
}

async fn insert_entries(
    conn: &mut SqliteConnection,
    user: &str,
    author: &str,
    post_ids: &[String],
) -> StoreResult<()> {
    if post_ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(post_ids).map_err(|e| StoreError::Backend(Box::new(e)))?;
    sqlx::query(
        "INSERT OR IGNORE INTO timeline_entries (user_id, post_id, author_id) \
         SELECT ?1, value, ?2 FROM json_each(?3)",
    )
    .bind(user)
    .bind(author)
    .bind(ids)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

/// Moves `user`'s horizon up to `to` (never down) and drops the entries below it;
/// returns the entries dropped.
async fn raise_horizon(conn: &mut SqliteConnection, user: &str, to: &str) -> StoreResult<u64> {
    sqlx::query("UPDATE timelines SET horizon = max(horizon, ?2) WHERE user_id = ?1")
        .bind(user)
        .bind(to)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let gone = sqlx::query(
        "DELETE FROM timeline_entries WHERE user_id = ?1 \
         AND post_id < (SELECT horizon FROM timelines WHERE user_id = ?1)",
    )
    .bind(user)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?
    .rows_affected();
    Ok(gone)
}

#[async_trait]
impl TimelineStore for SqliteStore {
    async fn timeline_page(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Option<TimelinePage>> {
        let mut conn = self.reader.acquire().await.map_err(from_sqlx)?;
        let before = before.unwrap_or(TOP);
        // The timeline's entries at or above the horizon, shown only while the viewer
        // follows the author (or is the author), the author is not suspended and the
        // post exists; merged with the pulled authors the viewer follows.
        let sql = format!(
            "WITH t AS (SELECT horizon, read_at FROM timelines WHERE user_id = ?1), \
             entries(id) AS ( \
                 SELECT te.post_id FROM timeline_entries te \
                 JOIN posts p ON p.id = te.post_id \
                 JOIN users a ON a.id = te.author_id AND a.suspended_at IS NULL \
                 WHERE te.user_id = ?1 AND te.post_id < ?2 AND te.post_id >= (SELECT horizon FROM t) \
                   AND (te.author_id = ?1 OR EXISTS (SELECT 1 FROM follows f \
                        WHERE f.follower_id = ?1 AND f.followee_id = te.author_id)) \
                 ORDER BY te.post_id DESC LIMIT ?3), \
             pulled(id) AS ( \
                 SELECT u.id FROM users u WHERE u.timeline_pull = 1 AND u.suspended_at IS NULL \
                   AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ?1 AND f.followee_id = u.id)), \
             pulled_posts(id) AS ( \
                 SELECT p.id FROM pulled JOIN posts p ON p.id IN ( \
                     SELECT q.id FROM posts q WHERE q.author_id = pulled.id \
                       AND q.id < ?2 AND q.id >= (SELECT horizon FROM t) ORDER BY q.id DESC LIMIT ?3)), \
             page AS (SELECT {POST_COLUMNS} FROM posts \
                 WHERE posts.id IN (SELECT id FROM entries UNION SELECT id FROM pulled_posts) \
                 ORDER BY posts.id DESC LIMIT ?3) \
             SELECT t.horizon AS tl_horizon, t.read_at AS tl_read_at, page.* \
             FROM t LEFT JOIN page ON 1 ORDER BY page.id DESC"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(user.as_str())
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(from_sqlx)?;
        // No row: no timeline. Otherwise every row carries the timeline's state, and a
        // post unless the page is empty (the one row's post columns are then NULL).
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let horizon: String = first.try_get("tl_horizon").map_err(from_sqlx)?;
        let read_at: i64 = first.try_get("tl_read_at").map_err(from_sqlx)?;
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            if row
                .try_get::<Option<String>, _>("id")
                .map_err(from_sqlx)?
                .is_some()
            {
                page.push(post_from_row(row)?);
            }
        }
        // Below the horizon the timeline says nothing: continue from the follow graph.
        let short = u32::try_from(page.len()).unwrap_or(u32::MAX) < limit;
        if short && !horizon.is_empty() {
            let from = if before < horizon.as_str() {
                before
            } else {
                horizon.as_str()
            };
            let rest = limit - u32::try_from(page.len()).unwrap_or(0);
            page.extend(pull_page(&mut conn, user.as_str(), from, rest).await?);
        }
        Ok(Some(TimelinePage {
            posts: page,
            read_at: Timestamp::from_millis(read_at),
        }))
    }

    async fn touch_timeline(&self, user: &UserId, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE timelines SET read_at = ?2 WHERE user_id = ?1 AND read_at < ?2")
            .bind(user.as_str())
            .bind(now.millis())
            .execute(&self.writer)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn expire_timelines(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM timeline_entries WHERE user_id IN \
             (SELECT user_id FROM timelines WHERE read_at < ?1)",
        )
        .bind(cutoff.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let n = sqlx::query("DELETE FROM timelines WHERE read_at < ?1")
            .bind(cutoff.millis())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        tx.commit().await.map_err(from_sqlx)?;
        Ok(n)
    }

    async fn rebuild_timeline(&self, user: &UserId, keep: u32, now: Timestamp) -> StoreResult<()> {
        // One writer: no fan-out runs between the read of the graph and the writes.
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO timelines (user_id, horizon, read_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id) DO UPDATE SET horizon = excluded.horizon, read_at = excluded.read_at",
        )
        .bind(user.as_str())
        .bind(TOP)
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query("DELETE FROM timeline_entries WHERE user_id = ?")
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        // Ids only, from the covering `posts_by_author (author_id, id)`: one pass over
        // the followed authors' index entries, then the newest `keep` (5 ms for 200
        // follows × 100 posts, where pages of the pull query took 35 ms).
        sqlx::query(
            "INSERT OR IGNORE INTO timeline_entries (user_id, post_id, author_id) \
             SELECT ?1, p.id, p.author_id \
             FROM (SELECT followee_id AS id FROM follows WHERE follower_id = ?1 UNION SELECT ?1) a \
             CROSS JOIN posts p ON p.author_id = a.id \
             ORDER BY p.id DESC LIMIT ?2",
        )
        .bind(user.as_str())
        .bind(i64::from(keep.max(1)))
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        // Full: authoritative down to the oldest kept; short: everything is there.
        sqlx::query(
            "UPDATE timelines SET horizon = CASE \
               WHEN (SELECT count(*) FROM timeline_entries WHERE user_id = ?1) >= ?2 \
               THEN (SELECT min(post_id) FROM timeline_entries WHERE user_id = ?1) ELSE '' END \
             WHERE user_id = ?1",
        )
        .bind(user.as_str())
        .bind(i64::from(keep.max(1)))
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(())
    }

    async fn fan_out_post(&self, post_id: &str, max_followers: u64) -> StoreResult<FanOut> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT u.id, u.followers_count, u.timeline_pull FROM posts p \
             JOIN users u ON u.id = p.author_id WHERE p.id = ?",
        )
        .bind(post_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let Some(row) = row else {
            return Ok(FanOut::Gone);
        };
        let author: String = row.try_get(0).map_err(from_sqlx)?;
        let followers: i64 = row.try_get(1).map_err(from_sqlx)?;
        let pulled: i64 = row.try_get(2).map_err(from_sqlx)?;
        if pulled != 0 || u64::try_from(followers).unwrap_or(0) >= max_followers {
            sqlx::query("UPDATE users SET timeline_pull = 1 WHERE id = ?")
                .bind(&author)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            tx.commit().await.map_err(from_sqlx)?;
            return Ok(FanOut::Pulled);
        }
        let written = sqlx::query(
            "INSERT OR IGNORE INTO timeline_entries (user_id, post_id, author_id) \
             SELECT f.follower_id, ?1, ?2 FROM follows f \
             JOIN timelines t ON t.user_id = f.follower_id WHERE f.followee_id = ?2",
        )
        .bind(post_id)
        .bind(&author)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        tx.commit().await.map_err(from_sqlx)?;
        Ok(FanOut::Written(written))
    }

    async fn trim_timelines(&self, keep: u32, slack: u32) -> StoreResult<u64> {
        let long: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM timeline_entries GROUP BY user_id HAVING count(*) > ?",
        )
        .bind(i64::from(keep) + i64::from(slack))
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        let mut dropped = 0;
        for user in long {
            let mut tx = self.begin_write().await?;
            let cut: Option<String> = sqlx::query_scalar(
                "SELECT post_id FROM timeline_entries WHERE user_id = ? \
                 ORDER BY post_id DESC LIMIT 1 OFFSET ?",
            )
            .bind(&user)
            .bind(i64::from(keep.max(1)) - 1)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
            if let Some(cut) = cut {
                dropped += raise_horizon(&mut tx, &user, &cut).await?;
            }
            tx.commit().await.map_err(from_sqlx)?;
        }
        Ok(dropped)
    }

    async fn timeline_users(&self, after: Option<&UserId>, limit: u32) -> StoreResult<Vec<UserId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after.map_or("", UserId::as_str))
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err(from_sqlx)?;
        ids.iter()
            .map(|s| {
                UserId::parse(s)
                    .ok_or_else(|| StoreError::Backend("stored user id is malformed".into()))
            })
            .collect()
    }
}
