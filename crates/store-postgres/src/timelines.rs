//! `TimelineStore` for PostgreSQL: `timelines` (one row per user: the horizon) and
//! `timeline_entries` (user, post, author), filtered at read; see
//! `scooter_store::timelines` for the rules.
//!
//! Concurrency under READ COMMITTED: a follow locks both users' rows, as a new post
//! locks its author's (its count), so a follow and a post by the followee never overlap
//! (the follow's backfill sees the post, or the post's fan-out sees the follow). A
//! rebuild registers the timeline in a transaction of its own before it backfills, so a
//! fan-out that runs meanwhile writes to it.

use crate::error::from_sqlx;
use crate::notifications::insert_job;
use crate::{PgStore, retry};
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_core::post::Post;
use scooter_core::{Timestamp, UserId};
use scooter_store::StoreResult;
use scooter_store::timelines::{FAN_OUT_JOB, FanOut, TimelinePage, TimelineStore};
use scooter_store_sql::rows::{POST_COLUMNS, post as post_from_row};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, PgConnection, Row};

/// Above every id: "before nothing" as a cursor, "nothing is authoritative" as a horizon.
pub(crate) const TOP: &str = "\u{10FFFF}";

/// At most this many of a newly followed author's posts are copied into the follower's
/// timeline; beyond them the follower's horizon rises, and older pages are pulled.
const FOLLOW_BACKFILL: i64 = 200;

/// The page of the pull query: `user`'s own posts and those of the accounts followed,
/// newest first, before `before`. Two passes over `posts_by_author`, both bounded by
/// the accounts followed: each author's newest post gives a bound the page is at or
/// above; then, for the authors whose newest post reaches it, the posts between the
/// bound and the cursor.
pub(crate) async fn pull_page(
    conn: &mut PgConnection,
    user: &str,
    before: &str,
    limit: u32,
) -> StoreResult<Vec<Post>> {
    let sql = format!(
        "WITH newest AS MATERIALIZED ( \
             SELECT authors.id AS author, n.id FROM ( \
                 SELECT followee_id AS id FROM follows WHERE follower_id = $1 UNION SELECT $1) authors \
             JOIN users ON users.id = authors.id AND users.suspended_at IS NULL \
             CROSS JOIN LATERAL ( \
                 SELECT p.id FROM posts p \
                 WHERE p.author_id = authors.id AND p.id < $2::text COLLATE \"C\" \
                 ORDER BY p.id DESC LIMIT 1) n), \
         bound AS MATERIALIZED ( \
             SELECT COALESCE((SELECT id FROM newest ORDER BY id DESC LIMIT 1 OFFSET $3 - 1), '') \
                 COLLATE \"C\" AS id) \
         SELECT {POST_COLUMNS} FROM newest CROSS JOIN bound \
         CROSS JOIN LATERAL ( \
             SELECT * FROM posts p \
             WHERE p.author_id = newest.author AND p.id < $2::text COLLATE \"C\" \
               AND p.id >= bound.id \
             ORDER BY p.id DESC LIMIT $3) posts \
         WHERE newest.id >= bound.id \
         ORDER BY posts.id DESC LIMIT $3"
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
/// (when they have one), and the fan-out to followers is queued in the outbox. Always a
/// job here, unlike SQLite: under READ COMMITTED an inline copy could miss a timeline
/// whose rebuild registers during the post's transaction, while a job runs after the
/// post committed and so sees any registration made before it.
pub(crate) async fn on_new_post(
    conn: &mut PgConnection,
    post_id: &str,
    author: &str,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO timeline_entries (user_id, post_id, author_id) \
         SELECT $2, $1, $2 WHERE EXISTS (SELECT 1 FROM timelines WHERE user_id = $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(post_id)
    .bind(author)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let job = NewJob {
        id: new_id(),
        kind: FAN_OUT_JOB.to_owned(),
        payload: post_id.to_owned(),
        dedupe: Some(format!("fan-out:{post_id}")),
        run_at: at,
    };
    insert_job(conn, &job).await
}

/// In the transaction that adds a follow (both users locked): the followee's posts above
/// the follower's horizon join the follower's timeline (a pulled followee is merged at
/// read instead).
pub(crate) async fn on_follow(
    conn: &mut PgConnection,
    follower: &str,
    followee: &str,
) -> StoreResult<()> {
    let horizon: Option<String> = sqlx::query_scalar(
        "SELECT t.horizon FROM timelines t, users u \
         WHERE t.user_id = $1 AND u.id = $2 AND NOT u.timeline_pull",
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
        "SELECT id FROM posts WHERE author_id = $1 AND id >= $2::text COLLATE \"C\" \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(followee)
    .bind(&horizon)
    .bind(FOLLOW_BACKFILL + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let keep = ids
        .len()
        .min(usize::try_from(FOLLOW_BACKFILL).unwrap_or(200));
    sqlx::query(
        "INSERT INTO timeline_entries (user_id, post_id, author_id) \
         SELECT $1, id, $2 FROM UNNEST($3::text[]) AS t(id) ON CONFLICT DO NOTHING",
    )
    .bind(follower)
    .bind(followee)
    .bind(&ids[..keep])
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?;
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
    conn: &mut PgConnection,
    follower: &str,
    followee: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM timeline_entries WHERE user_id = $1 AND author_id = $2")
        .bind(follower)
        .bind(followee)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    Ok(())
}

/// Moves `user`'s horizon up to `to` (never down) and drops the entries below it;
/// returns the entries dropped.
async fn raise_horizon(conn: &mut PgConnection, user: &str, to: &str) -> StoreResult<u64> {
    sqlx::query(
        "UPDATE timelines SET horizon = GREATEST(horizon, $2::text COLLATE \"C\") \
         WHERE user_id = $1",
    )
    .bind(user)
    .bind(to)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let gone = sqlx::query(
        "DELETE FROM timeline_entries WHERE user_id = $1 \
         AND post_id < (SELECT horizon FROM timelines WHERE user_id = $1)",
    )
    .bind(user)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?
    .rows_affected();
    Ok(gone)
}

#[async_trait]
impl TimelineStore for PgStore {
    async fn timeline_page(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Option<TimelinePage>> {
        let mut conn = self.pool.acquire().await.map_err(from_sqlx)?;
        let before = before.unwrap_or(TOP);
        let sql = format!(
            "WITH t AS (SELECT horizon, read_at FROM timelines WHERE user_id = $1), \
             entries AS ( \
                 SELECT te.post_id AS id FROM timeline_entries te \
                 JOIN posts p ON p.id = te.post_id \
                 JOIN users a ON a.id = te.author_id AND a.suspended_at IS NULL \
                 WHERE te.user_id = $1 AND te.post_id < $2::text COLLATE \"C\" \
                   AND te.post_id >= (SELECT horizon FROM t) COLLATE \"C\" \
                   AND (te.author_id = $1 OR EXISTS (SELECT 1 FROM follows f \
                        WHERE f.follower_id = $1 AND f.followee_id = te.author_id)) \
                 ORDER BY te.post_id DESC LIMIT $3), \
             pulled_posts AS ( \
                 SELECT q.id FROM users u \
                 CROSS JOIN LATERAL ( \
                     SELECT p.id FROM posts p WHERE p.author_id = u.id \
                       AND p.id < $2::text COLLATE \"C\" AND p.id >= (SELECT horizon FROM t) COLLATE \"C\" \
                     ORDER BY p.id DESC LIMIT $3) q \
                 WHERE u.timeline_pull AND u.suspended_at IS NULL \
                   AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = u.id)), \
             page AS (SELECT {POST_COLUMNS} FROM posts \
                 WHERE posts.id IN (SELECT id FROM entries UNION SELECT id FROM pulled_posts) \
                 ORDER BY posts.id DESC LIMIT $3) \
             SELECT t.horizon AS tl_horizon, t.read_at AS tl_read_at, page.* \
             FROM t LEFT JOIN page ON true ORDER BY page.id DESC"
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
        let got = u32::try_from(page.len()).unwrap_or(u32::MAX);
        if got < limit && !horizon.is_empty() {
            let from = if before < horizon.as_str() {
                before
            } else {
                horizon.as_str()
            };
            page.extend(pull_page(&mut conn, user.as_str(), from, limit - got).await?);
        }
        Ok(Some(TimelinePage {
            posts: page,
            read_at: Timestamp::from_millis(read_at),
        }))
    }

    async fn touch_timeline(&self, user: &UserId, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE timelines SET read_at = $2 WHERE user_id = $1 AND read_at < $2")
            .bind(user.as_str())
            .bind(now.millis())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn expire_timelines(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "DELETE FROM timeline_entries WHERE user_id IN \
             (SELECT user_id FROM timelines WHERE read_at < $1)",
        )
        .bind(cutoff.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let n = sqlx::query("DELETE FROM timelines WHERE read_at < $1")
            .bind(cutoff.millis())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        tx.commit().await.map_err(from_sqlx)?;
        Ok(n)
    }

    async fn rebuild_timeline(&self, user: &UserId, keep: u32, now: Timestamp) -> StoreResult<()> {
        // Registered (and emptied) first, in a transaction of its own: a fan-out from
        // now on writes to it, and reads pull until the backfill is in.
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO timelines (user_id, horizon, read_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET horizon = EXCLUDED.horizon, read_at = EXCLUDED.read_at",
        )
        .bind(user.as_str())
        .bind(TOP)
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query("DELETE FROM timeline_entries WHERE user_id = $1")
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            // Ids only, from the index `posts_by_author (author_id, id)`, newest `keep`.
            sqlx::query(
                "INSERT INTO timeline_entries (user_id, post_id, author_id) \
                 SELECT $1, p.id, p.author_id \
                 FROM (SELECT followee_id AS id FROM follows WHERE follower_id = $1 UNION SELECT $1) a \
                 JOIN posts p ON p.author_id = a.id \
                 ORDER BY p.id DESC LIMIT $2 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(user.as_str())
            .bind(i64::from(keep.max(1)))
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            // Full: authoritative down to the newest `keep`-th; short: everything.
            let cut: Option<String> = sqlx::query_scalar(
                "SELECT post_id FROM timeline_entries WHERE user_id = $1 \
                 ORDER BY post_id DESC LIMIT 1 OFFSET $2",
            )
            .bind(user.as_str())
            .bind(i64::from(keep.max(1)) - 1)
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            let horizon = cut.unwrap_or_default();
            sqlx::query("UPDATE timelines SET horizon = $2 WHERE user_id = $1")
                .bind(user.as_str())
                .bind(&horizon)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            // Entries a fan-out wrote meanwhile below the new horizon are dropped.
            sqlx::query("DELETE FROM timeline_entries WHERE user_id = $1 AND post_id < $2::text COLLATE \"C\"")
                .bind(user.as_str())
                .bind(&horizon)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(())
        })
        .await
    }

    async fn fan_out_post(&self, post_id: &str, max_followers: u64) -> StoreResult<FanOut> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let row = sqlx::query(
                "SELECT u.id, u.followers_count, u.timeline_pull FROM posts p \
                 JOIN users u ON u.id = p.author_id WHERE p.id = $1",
            )
            .bind(post_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            let Some(row) = row else {
                return Ok(FanOut::Gone);
            };
            let author: String = row.try_get(0).map_err(from_sqlx)?;
            let followers: i64 = row.try_get(1).map_err(from_sqlx)?;
            let pulled: bool = row.try_get(2).map_err(from_sqlx)?;
            if pulled || u64::try_from(followers).unwrap_or(0) >= max_followers {
                sqlx::query(
                    "UPDATE users SET timeline_pull = true WHERE id = $1 AND NOT timeline_pull",
                )
                .bind(&author)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(FanOut::Pulled);
            }
            let written = sqlx::query(
                "INSERT INTO timeline_entries (user_id, post_id, author_id) \
                 SELECT f.follower_id, $1, $2 FROM follows f \
                 JOIN timelines t ON t.user_id = f.follower_id WHERE f.followee_id = $2 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(post_id)
            .bind(&author)
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            tx.commit().await.map_err(from_sqlx)?;
            Ok(FanOut::Written(written))
        })
        .await
    }

    async fn trim_timelines(&self, keep: u32, slack: u32) -> StoreResult<u64> {
        let long: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM timeline_entries GROUP BY user_id HAVING count(*) > $1",
        )
        .bind(i64::from(keep) + i64::from(slack))
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let mut dropped = 0;
        for user in &long {
            dropped += retry(move || async move {
                let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
                let conn: &mut PgConnection = &mut tx;
                let cut: Option<String> = sqlx::query_scalar(
                    "SELECT post_id FROM timeline_entries WHERE user_id = $1 \
                     ORDER BY post_id DESC LIMIT 1 OFFSET $2",
                )
                .bind(user)
                .bind(i64::from(keep.max(1)) - 1)
                .fetch_optional(&mut *conn)
                .await
                .map_err(from_sqlx)?;
                let gone = match cut {
                    Some(cut) => raise_horizon(conn, user, &cut).await?,
                    None => 0,
                };
                tx.commit().await.map_err(from_sqlx)?;
                Ok(gone)
            })
            .await?;
        }
        Ok(dropped)
    }

    async fn timeline_users(&self, after: Option<&UserId>, limit: u32) -> StoreResult<Vec<UserId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after.map_or("", UserId::as_str))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(from_sqlx)?;
        ids.iter()
            .map(|s| {
                UserId::parse(s).ok_or_else(|| {
                    scooter_store::StoreError::Backend("stored user id is malformed".into())
                })
            })
            .collect()
    }
}
