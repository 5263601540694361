//! `UserStore` for SQLite.

use crate::SqliteStore;
use crate::error::{conflict_as, from_sqlx};
use crate::rows::{USER_COLUMNS, USER_RETURNING, user_from_row};
use async_trait::async_trait;
use scooter_core::post::ReactionType;
use scooter_core::search::{RANK_EXACT_HANDLE, index_terms, prefix_upper_bound};
use scooter_core::user::{NewUser, NotificationPrefs, User};
use scooter_core::{Handle, Timestamp, UserId};
use scooter_store::{
    EnsureOutcome, ProfilePatch, SearchHit, SearchKey, StoreError, StoreResult, UserStore,
};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, Row, SqliteConnection};

/// Rewrites a user's search terms from their current handle and display name.
pub(crate) async fn reindex(conn: &mut SqliteConnection, user: &User) -> StoreResult<()> {
    sqlx::query("DELETE FROM user_search_terms WHERE user_id = ?")
        .bind(user.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    let handle = user.handle.as_ref().map(Handle::lowercase);
    for (term, kind) in index_terms(handle.as_deref(), user.display_name.as_deref()) {
        sqlx::query("INSERT INTO user_search_terms (term, kind, user_id) VALUES (?, ?, ?)")
            .bind(term)
            .bind(i64::from(kind))
            .bind(user.id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    }
    Ok(())
}

/// Inserts a new user row (no-op when it exists) inside the caller's transaction.
pub(crate) async fn insert_user(conn: &mut SqliteConnection, new: &NewUser) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, email, email_verified, created_at) VALUES (?, ?, ?, ?) \
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

/// Subtracts one user's (`?1`) reactions from the counters of other people's posts.
fn uncount_reactions_sql() -> String {
    let sets: Vec<String> = ReactionType::ALL
        .iter()
        .map(|t| {
            let name = t.as_str();
            format!(
                "{name}_count = {name}_count - (SELECT COUNT(*) FROM reactions r \
                 WHERE r.post_id = posts.id AND r.user_id = ?1 AND r.type = '{name}')"
            )
        })
        .collect();
    format!(
        "UPDATE posts SET {} WHERE id IN (SELECT post_id FROM reactions WHERE user_id = ?1) AND author_id <> ?1",
        sets.join(", ")
    )
}

impl SqliteStore {
    /// Runs an `UPDATE … RETURNING` of one user on the writer, reindexing search terms
    /// in the same transaction when asked.
    async fn update_user(
        &self,
        sql: &str,
        binds: impl FnOnce(
            sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        )
            -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        conflict: &'static str,
        reindex_terms: bool,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.begin_write().await?;
        let sql = format!("{sql} RETURNING {USER_RETURNING}");
        let row = binds(sqlx::query(AssertSqlSafe(sql)))
            .fetch_optional(&mut *tx)
            .await
            .map_err(conflict_as(conflict))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        if reindex_terms {
            reindex(&mut tx, &user).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(user))
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn get_users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for any number of ids: the list travels as a JSON array.
        let ids: Vec<&str> = ids.iter().map(UserId::as_str).collect();
        let list = serde_json::to_string(&ids).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN (SELECT value FROM json_each(?))"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(list)
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn user_by_handle(&self, handle: &Handle) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE handle_lower = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(handle.lowercase())
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn users_by_handles(&self, handles: &[Handle]) -> StoreResult<Vec<User>> {
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let lower: Vec<String> = handles.iter().map(Handle::lowercase).collect();
        let list = serde_json::to_string(&lower).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE handle_lower IN (SELECT value FROM json_each(?))"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(list)
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn ensure_user(&self, new: NewUser) -> StoreResult<EnsureOutcome> {
        // The common case is one indexed read on a reader connection.
        if let Some(user) = self.get_user(&new.id).await? {
            return Ok(EnsureOutcome::Active(Box::new(user)));
        }
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("SELECT 1 FROM deleted_users WHERE id = ?")
            .bind(new.id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if deleted.is_some() {
            return Ok(EnsureOutcome::Deleted);
        }
        insert_user(&mut tx, &new).await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(new.id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let user = user_from_row(&row)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(EnsureOutcome::Active(Box::new(user)))
    }

    async fn set_handle(&self, id: &UserId, handle: &Handle) -> StoreResult<Option<User>> {
        self.update_user(
            "UPDATE users SET handle = ?, handle_lower = ? WHERE id = ?",
            |q| {
                q.bind(handle.as_str())
                    .bind(handle.lowercase())
                    .bind(id.as_str())
            },
            "handle",
            true,
        )
        .await
    }

    async fn update_profile(&self, id: &UserId, patch: ProfilePatch) -> StoreResult<Option<User>> {
        // Each column keeps its value unless the patch names it (flag = 1).
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
               display_name = CASE WHEN ? THEN ? ELSE display_name END, \
               bio = CASE WHEN ? THEN ? ELSE bio END \
             WHERE id = ?",
            |q| {
                q.bind(set_name)
                    .bind(name)
                    .bind(set_bio)
                    .bind(bio)
                    .bind(id.as_str())
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
            "UPDATE users SET pref_follow = ?, pref_comment = ?, pref_reaction = ?, \
             pref_mention = ?, pref_push = ? WHERE id = ?",
            |q| {
                q.bind(prefs.follow)
                    .bind(prefs.comment)
                    .bind(prefs.reaction)
                    .bind(prefs.mention)
                    .bind(prefs.push)
                    .bind(id.as_str())
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
            "UPDATE users SET terms_version = ?, terms_accepted_at = ? WHERE id = ?",
            |q| q.bind(version).bind(at.millis()).bind(id.as_str()),
            "terms",
            false,
        )
        .await
    }

    async fn delete_user(&self, id: &UserId, at: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // The counters of everyone connected count this user only while it is not
        // suspended; take it out of them before its edges cascade away.
        sqlx::query(
            "UPDATE users SET following_count = following_count - 1 \
             WHERE id IN (SELECT follower_id FROM follows WHERE followee_id = ?1) \
               AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND suspended_at IS NULL)",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(
            "UPDATE users SET followers_count = followers_count - 1 \
             WHERE id IN (SELECT followee_id FROM follows WHERE follower_id = ?1) \
               AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND suspended_at IS NULL)",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        // The user's comments and reactions on other people's posts are counted there.
        sqlx::query(
            "UPDATE posts SET comment_count = comment_count - \
               (SELECT COUNT(*) FROM comments c WHERE c.post_id = posts.id AND c.author_id = ?1) \
             WHERE id IN (SELECT post_id FROM comments WHERE author_id = ?1) AND author_id <> ?1",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(AssertSqlSafe(uncount_reactions_sql()))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        // The user's views of other people's scoops are counted there.
        sqlx::query(
            "UPDATE scoops SET view_count = view_count - 1 \
             WHERE id IN (SELECT scoop_id FROM scoop_views WHERE viewer_id = ?1) AND author_id <> ?1",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        // Credentials, refresh tokens, search terms, created invites, follows, blocks,
        // posts, comments, reactions and the user's own reports cascade; reports about
        // the user stay.
        let gone = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        sqlx::query(
            "INSERT INTO deleted_users (id, deleted_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(at.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let purge = scooter_core::notification::NewJob {
            id: scooter_core::ids::new_id(),
            kind: scooter_store::media::PURGE_USER_MEDIA_JOB.to_owned(),
            payload: id.to_string(),
            dedupe: Some(format!("purge-user:{id}")),
            run_at: at,
        };
        crate::notifications::insert_job(&mut tx, &purge).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(gone > 0)
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
            Some((r, h, i)) => (i64::from(*r), h.as_str(), i.as_str()),
            None => (-1, "", ""),
        };
        // The range on the primary key finds candidate terms; grouping keeps a user's
        // best rank; the row-value comparison continues after the cursor.
        let sql = format!(
            "SELECT {USER_COLUMNS}, users.handle_lower AS key_handle, \
                    MIN(CASE WHEN t.kind = 1 AND t.term = ?1 THEN {RANK_EXACT_HANDLE} ELSE t.kind END) AS rank \
             FROM user_search_terms t JOIN users ON users.id = t.user_id \
             WHERE t.term >= ?1 AND t.term < ?2 AND users.handle_lower IS NOT NULL \
               AND users.suspended_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ?7 AND b.blocked_id = users.id) \
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = ?7) \
             GROUP BY users.id \
             HAVING (rank, key_handle, users.id) > (?3, ?4, ?5) \
             ORDER BY rank, key_handle, users.id \
             LIMIT ?6"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(prefix)
            .bind(upper)
            .bind(a_rank)
            .bind(a_handle)
            .bind(a_id)
            .bind(i64::from(limit))
            .bind(viewer.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let user = user_from_row(row)?;
                let rank: i64 = row.try_get("rank").map_err(from_sqlx)?;
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
