//! `SocialStore` for PostgreSQL.

use crate::error::from_sqlx;
use crate::notifications::write_notifications;
use crate::rows::{USER_COLUMNS, user_from_row};
use crate::{PgStore, retry};
use async_trait::async_trait;
use scooter_core::notification::NewNotification;
use scooter_core::social::Relationship;
use scooter_core::{Timestamp, UserId};
use scooter_store::{Edge, EdgeKey, FollowOutcome, SocialStore, StoreResult};
use sqlx::postgres::PgRow;
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, PgConnection, Row};

/// True when `$N` names an existing, unsuspended user.
fn active(n: u8) -> String {
    format!("EXISTS (SELECT 1 FROM users WHERE id = ${n} AND suspended_at IS NULL)")
}

/// Locks the rows of the users involved, in id order so that two transactions over the
/// same pair never wait on each other crosswise.
pub(crate) async fn lock_users(conn: &mut PgConnection, ids: &[&str]) -> StoreResult<()> {
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    sqlx::query("SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(ids)
        .execute(conn)
        .await
        .map_err(from_sqlx)?;
    Ok(())
}

/// Deletes one follow edge and corrects both counters (see the SQLite backend); both
/// users must be locked by the caller.
pub(crate) async fn remove_follow(
    conn: &mut PgConnection,
    follower: &str,
    followee: &str,
) -> StoreResult<bool> {
    let gone = sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
        .bind(follower)
        .bind(followee)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
    if gone == 0 {
        return Ok(false);
    }
    crate::timelines::on_unfollow(conn, follower, followee).await?;
    let sql = format!(
        "UPDATE users SET following_count = following_count - 1 WHERE id = $1 AND {}",
        active(2)
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(follower)
        .bind(followee)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let sql = format!(
        "UPDATE users SET followers_count = followers_count - 1 WHERE id = $1 AND {}",
        active(2)
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(followee)
        .bind(follower)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    Ok(true)
}

/// Users hidden from a viewer (`$2`) by a block.
const NOT_BLOCKED_WITH_VIEWER: &str = "NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $2 AND b.blocked_id = users.id) \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = $2)";

fn edge_from_row(row: &PgRow) -> StoreResult<Edge> {
    let user = user_from_row(row)?;
    let at: i64 = row.try_get("edge_at").map_err(from_sqlx)?;
    Ok(Edge {
        key: (at, user.id.to_string()),
        user,
    })
}

impl PgStore {
    async fn edge_page(
        &self,
        (own, other): (&str, &str),
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        let (at, id) = after.map_or((i64::MAX, ""), |(t, i)| (*t, i.as_str()));
        let sql = format!(
            "SELECT {USER_COLUMNS}, e.created_at AS edge_at FROM follows e JOIN users ON users.id = e.{other} \
             WHERE e.{own} = $1 AND users.suspended_at IS NULL AND {NOT_BLOCKED_WITH_VIEWER} \
               AND (e.created_at, e.{other}) < ($3, $4::text COLLATE \"C\") \
             ORDER BY e.created_at DESC, e.{other} DESC LIMIT $5"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(user.as_str())
            .bind(viewer.as_str())
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(edge_from_row).collect()
    }
}

#[async_trait]
impl SocialStore for PgStore {
    async fn relationship(&self, viewer: &UserId, other: &UserId) -> StoreResult<Relationship> {
        let row = sqlx::query(
            "SELECT \
               EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2) AS following, \
               EXISTS (SELECT 1 FROM follows WHERE follower_id = $2 AND followee_id = $1) AS followed_by, \
               EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2) AS blocking, \
               EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $2 AND blocked_id = $1) AS blocked_by",
        )
        .bind(viewer.as_str())
        .bind(other.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let get = |c: &str| row.try_get::<bool, _>(c).map_err(from_sqlx);
        Ok(Relationship {
            following: get("following")?,
            followed_by: get("followed_by")?,
            blocking: get("blocking")?,
            blocked_by: get("blocked_by")?,
        })
    }

    async fn blocked_either_way_among(
        &self,
        user: &UserId,
        others: &[UserId],
    ) -> StoreResult<Vec<UserId>> {
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = others.iter().map(UserId::as_str).collect();
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT o FROM UNNEST($2::text[]) AS o WHERE EXISTS (SELECT 1 FROM blocks b \
             WHERE (b.blocker_id = $1 AND b.blocked_id = o) \
                OR (b.blocker_id = o AND b.blocked_id = $1))",
        )
        .bind(user.as_str())
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(found.iter().filter_map(|s| UserId::parse(s)).collect())
    }

    async fn follow(
        &self,
        follower: &UserId,
        followee: &UserId,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<FollowOutcome> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            lock_users(conn, &[follower.as_str(), followee.as_str()]).await?;
            let available: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1 AND suspended_at IS NULL")
                .bind(followee.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            if available.is_none() {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(FollowOutcome::Unavailable);
            }
            }
            let blocked: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)",
            )
            .bind(follower.as_str())
            .bind(followee.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            if blocked.is_some() {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(FollowOutcome::Blocked);
            }
            }
            let added = sqlx::query(
                "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (follower_id, followee_id) DO NOTHING",
            )
            .bind(follower.as_str())
            .bind(followee.as_str())
            .bind(at.millis())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            if added == 0 {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(FollowOutcome::AlreadyFollowing);
            }
            }
            sqlx::query("UPDATE users SET following_count = following_count + 1 WHERE id = $1")
                .bind(follower.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            let sql = format!("UPDATE users SET followers_count = followers_count + 1 WHERE id = $1 AND {}", active(2));
            sqlx::query(AssertSqlSafe(sql))
                .bind(followee.as_str())
                .bind(follower.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            write_notifications(conn, notify.map(std::slice::from_ref).unwrap_or_default()).await?;
            if self.timelines {
                crate::timelines::on_follow(conn, follower.as_str(), followee.as_str()).await?;
            }
            tx.commit().await.map_err(from_sqlx)?;
            Ok(FollowOutcome::Followed)
        })
        .await
    }

    async fn unfollow(&self, follower: &UserId, followee: &UserId) -> StoreResult<bool> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            lock_users(conn, &[follower.as_str(), followee.as_str()]).await?;
            let removed = remove_follow(conn, follower.as_str(), followee.as_str()).await?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(removed)
        })
        .await
    }

    async fn block(&self, blocker: &UserId, blocked: &UserId, at: Timestamp) -> StoreResult<bool> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            lock_users(conn, &[blocker.as_str(), blocked.as_str()]).await?;
            let added = sqlx::query(
                "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            )
            .bind(blocker.as_str())
            .bind(blocked.as_str())
            .bind(at.millis())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            remove_follow(conn, blocker.as_str(), blocked.as_str()).await?;
            remove_follow(conn, blocked.as_str(), blocker.as_str()).await?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(added > 0)
        })
        .await
    }

    async fn unblock(&self, blocker: &UserId, blocked: &UserId) -> StoreResult<bool> {
        let gone = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker.as_str())
            .bind(blocked.as_str())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        Ok(gone > 0)
    }

    async fn list_blocked(
        &self,
        blocker: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        let (at, id) = after.map_or((i64::MAX, ""), |(t, i)| (*t, i.as_str()));
        let sql = format!(
            "SELECT {USER_COLUMNS}, b.created_at AS edge_at FROM blocks b JOIN users ON users.id = b.blocked_id \
             WHERE b.blocker_id = $1 AND users.suspended_at IS NULL \
               AND (b.created_at, b.blocked_id) < ($2, $3::text COLLATE \"C\") \
             ORDER BY b.created_at DESC, b.blocked_id DESC LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(blocker.as_str())
            .bind(at)
            .bind(id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(edge_from_row).collect()
    }

    async fn list_followers(
        &self,
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        self.edge_page(("followee_id", "follower_id"), user, viewer, after, limit)
            .await
    }

    async fn list_following(
        &self,
        user: &UserId,
        viewer: &UserId,
        after: Option<&EdgeKey>,
        limit: u32,
    ) -> StoreResult<Vec<Edge>> {
        self.edge_page(("follower_id", "followee_id"), user, viewer, after, limit)
            .await
    }
}
