//! `UserStore` for PostgreSQL.

use crate::error::{conflict_as, from_sqlx};
use crate::rows::{USER_COLUMNS, USER_RETURNING, user_from_row};
use crate::{PgStore, retry};
use async_trait::async_trait;
use scooter_core::post::ReactionType;
use scooter_core::search::{RANK_EXACT_HANDLE, index_terms, prefix_upper_bound};
use scooter_core::user::{NewUser, NotificationPrefs, User};
use scooter_core::{Handle, Timestamp, UserId};
use scooter_store::{EnsureOutcome, ProfilePatch, SearchHit, SearchKey, StoreResult, UserStore};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row};

/// Rewrites a user's search terms from their current handle and display name.
pub(crate) async fn reindex(conn: &mut PgConnection, user: &User) -> StoreResult<()> {
    sqlx::query("DELETE FROM user_search_terms WHERE user_id = $1")
        .bind(user.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let handle = user.handle.as_ref().map(Handle::lowercase);
    for (term, kind) in index_terms(handle.as_deref(), user.display_name.as_deref()) {
        sqlx::query("INSERT INTO user_search_terms (term, kind, user_id) VALUES ($1, $2, $3)")
            .bind(term)
            .bind(i16::from(kind))
            .bind(user.id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    }
    Ok(())
}

/// Inserts a new user row (no-op when it exists) inside the caller's transaction.
pub(crate) async fn insert_user(conn: &mut PgConnection, new: &NewUser) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, email, email_verified, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(new.id.as_str())
    .bind(new.email.as_str())
    .bind(new.email_verified)
    .bind(new.created_at.millis())
    .execute(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

/// Reads one user inside a transaction.
pub(crate) async fn select_user(conn: &mut PgConnection, id: &str) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(from_sqlx)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Subtracts one user's (`$1`) reactions from the counters of other people's posts.
fn uncount_reactions_sql() -> String {
    let sets: Vec<String> = ReactionType::ALL
        .iter()
        .map(|t| {
            let name = t.as_str();
            format!(
                "{name}_count = {name}_count - (SELECT COUNT(*) FROM reactions r \
                 WHERE r.post_id = posts.id AND r.user_id = $1 AND r.type = '{name}')"
            )
        })
        .collect();
    format!(
        "UPDATE posts SET {} WHERE id IN (SELECT post_id FROM reactions WHERE user_id = $1) AND author_id <> $1",
        sets.join(", ")
    )
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

impl PgStore {
    /// Runs an `UPDATE … RETURNING` of one user (which locks the row until commit),
    /// reindexing search terms in the same transaction when asked.
    async fn update_user(
        &self,
        sql: &str,
        binds: impl Fn(PgQuery<'_>) -> PgQuery<'_>,
        conflict: &'static str,
        reindex_terms: bool,
    ) -> StoreResult<Option<User>> {
        let sql = format!("{sql} RETURNING {USER_RETURNING}");
        let (sql, binds) = (&sql, &binds);
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let row: Option<PgRow> = binds(sqlx::query(AssertSqlSafe(sql.clone())))
                .fetch_optional(&mut *conn)
                .await
                .map_err(conflict_as(conflict))?;
            let Some(row) = row else {
                {
                    tx.commit().await.map_err(from_sqlx)?;
                    return Ok(None);
                }
            };
            let user = user_from_row(&row)?;
            if reindex_terms {
                reindex(conn, &user).await?;
            }
            tx.commit().await.map_err(from_sqlx)?;
            Ok(Some(user))
        })
        .await
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1)");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user_by_handle(&self, handle: &Handle) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE handle_lower = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(handle.lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn users_by_handles(&self, handles: &[Handle]) -> StoreResult<Vec<User>> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let lower: Vec<String> = handles.iter().map(Handle::lowercase).collect();
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE handle_lower = ANY($1)");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&lower)
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn ensure_user(&self, new: NewUser) -> StoreResult<EnsureOutcome> {
        if let Some(user) = self.get_user(&new.id).await? {
            return Ok(EnsureOutcome::Active(Box::new(user)));
        }
        let new = &new;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let deleted: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM deleted_users WHERE id = $1")
                    .bind(new.id.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
            if deleted.is_some() {
                return Ok(EnsureOutcome::Deleted);
            }
            insert_user(conn, new).await?;
            let user = select_user(conn, new.id.as_str()).await?;
            let user = user.ok_or_else(|| {
                scooter_store::StoreError::Backend("inserted user vanished".into())
            })?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(EnsureOutcome::Active(Box::new(user)))
        })
        .await
    }

    async fn set_handle(&self, id: &UserId, handle: &Handle) -> StoreResult<Option<User>> {
        let (h, lower) = (handle.as_str().to_owned(), handle.lowercase());
        self.update_user(
            "UPDATE users SET handle = $1, handle_lower = $2 WHERE id = $3",
            |q| {
                q.bind(h.clone())
                    .bind(lower.clone())
                    .bind(id.as_str().to_owned())
            },
            "handle",
            true,
        )
        .await
    }

    async fn update_profile(&self, id: &UserId, patch: ProfilePatch) -> StoreResult<Option<User>> {
        let (set_name, name) = match patch.display_name {
            Some(v) => (true, v),
            None => (false, None),
        };
        let (set_bio, bio) = match patch.bio {
            Some(v) => (true, v),
            None => (false, None),
        };
        self.update_user(
            "UPDATE users SET \
               display_name = CASE WHEN $1 THEN $2 ELSE display_name END, \
               bio = CASE WHEN $3 THEN $4 ELSE bio END \
             WHERE id = $5",
            |q| {
                q.bind(set_name)
                    .bind(name.clone())
                    .bind(set_bio)
                    .bind(bio.clone())
                    .bind(id.as_str().to_owned())
            },
            "profile",
            set_name,
        )
        .await
    }

    async fn set_notification_prefs(
        &self,
        id: &UserId,
        prefs: NotificationPrefs,
    ) -> StoreResult<Option<User>> {
        self.update_user(
            "UPDATE users SET pref_follow = $1, pref_comment = $2, pref_reaction = $3, \
             pref_mention = $4, pref_push = $5 WHERE id = $6",
            |q| {
                q.bind(prefs.follow)
                    .bind(prefs.comment)
                    .bind(prefs.reaction)
                    .bind(prefs.mention)
                    .bind(prefs.push)
                    .bind(id.as_str().to_owned())
            },
            "preferences",
            false,
        )
        .await
    }

    async fn accept_terms(
        &self,
        id: &UserId,
        version: &str,
        at: Timestamp,
    ) -> StoreResult<Option<User>> {
        self.update_user(
            "UPDATE users SET terms_version = $1, terms_accepted_at = $2 WHERE id = $3",
            |q| {
                q.bind(version.to_owned())
                    .bind(at.millis())
                    .bind(id.as_str().to_owned())
            },
            "terms",
            false,
        )
        .await
    }

    async fn delete_user(&self, id: &UserId, at: Timestamp) -> StoreResult<bool> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            // Lock the account first, so no follow or suspension of it interleaves.
            let active: Option<bool> =
                sqlx::query_scalar("SELECT suspended_at IS NULL FROM users WHERE id = $1 FOR UPDATE")
                    .bind(id.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
            if active == Some(true) {
                // Everyone connected counts this user only while it is not suspended.
                sqlx::query(
                    "UPDATE users SET following_count = following_count - 1 \
                     WHERE id IN (SELECT follower_id FROM follows WHERE followee_id = $1)",
                )
                .bind(id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
                sqlx::query(
                    "UPDATE users SET followers_count = followers_count - 1 \
                     WHERE id IN (SELECT followee_id FROM follows WHERE follower_id = $1)",
                )
                .bind(id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            }
            // The user's comments and reactions on other people's posts are counted there.
            sqlx::query(
                "UPDATE posts SET comment_count = comment_count - \
                   (SELECT COUNT(*) FROM comments c WHERE c.post_id = posts.id AND c.author_id = $1) \
                 WHERE id IN (SELECT post_id FROM comments WHERE author_id = $1) AND author_id <> $1",
            )
            .bind(id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            sqlx::query(AssertSqlSafe(uncount_reactions_sql()))
                .bind(id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            // The user's views of other people's scoops are counted there.
            sqlx::query(
                "UPDATE scoops SET view_count = view_count - 1 \
                 WHERE id IN (SELECT scoop_id FROM scoop_views WHERE viewer_id = $1) AND author_id <> $1",
            )
            .bind(id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            let gone = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?
                .rows_affected();
            sqlx::query("INSERT INTO deleted_users (id, deleted_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
                .bind(id.as_str())
                .bind(at.millis())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            let purge = scooter_core::notification::NewJob {
                id: scooter_core::ids::new_id(),
                kind: scooter_store::media::PURGE_USER_MEDIA_JOB.to_owned(),
                payload: id.to_string(),
                dedupe: Some(format!("purge-user:{id}")),
                run_at: at,
            };
            crate::notifications::insert_job(conn, &purge).await?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(gone > 0)
        })
        .await
    }

    async fn search_users(
        &self,
        viewer: &UserId,
        prefix: &str,
        after: Option<&SearchKey>,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        let upper = prefix_upper_bound(prefix);
        let (a_rank, a_handle, a_id) = match after {
            Some((r, h, i)) => (i16::from(*r), h.as_str(), i.as_str()),
            None => (-1, "", ""),
        };
        let sql = format!(
            "SELECT * FROM ( \
               SELECT {USER_COLUMNS}, users.handle_lower AS key_handle, \
                      MIN(CASE WHEN t.kind = 1 AND t.term = $1 THEN {RANK_EXACT_HANDLE} ELSE t.kind END)::smallint AS rank \
               FROM user_search_terms t JOIN users ON users.id = t.user_id \
               WHERE t.term >= $1 AND t.term < $2 AND users.handle_lower IS NOT NULL \
                 AND users.suspended_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $7 AND b.blocked_id = users.id) \
                 AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = $7) \
               GROUP BY users.id) ranked \
             WHERE (rank, key_handle, id) > ($3::smallint, $4::text COLLATE \"C\", $5::text COLLATE \"C\") \
             ORDER BY rank, key_handle, id \
             LIMIT $6"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(prefix)
            .bind(upper)
            .bind(a_rank)
            .bind(a_handle)
            .bind(a_id)
            .bind(i64::from(limit))
            .bind(viewer.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let user = user_from_row(row)?;
                let rank: i16 = row.try_get("rank").map_err(from_sqlx)?;
                let handle: String = row.try_get("key_handle").map_err(from_sqlx)?;
                let key = (
                    u8::try_from(rank).unwrap_or(u8::MAX),
                    handle,
                    user.id.to_string(),
                );
                Ok(SearchHit { key, user })
            })
            .collect()
    }
}
