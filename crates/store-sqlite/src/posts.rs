//! `PostStore` for SQLite.

use crate::SqliteStore;
use crate::error::from_sqlx;
use crate::notifications::write_notifications;
use async_trait::async_trait;
use scooter_core::notification::NewNotification;
use scooter_core::post::{Comment, Post, Reaction, ReactionCounts, ReactionType};
use scooter_core::{Timestamp, UserId};
use scooter_store::{
    CommentKey, Created, Earlier, Idempotency, NewPost, PostContext, PostStore, ReactionChange,
    ReactionKey, StoreError, StoreResult, Toggled,
};
use scooter_store_sql::json::{self, POST_MEDIA_KEYS, object_fields};
use scooter_store_sql::rows::{
    COMMENT_COLUMNS, MEDIA_COLUMNS, POST_COLUMNS, USER_COLUMNS, comment as comment_from_row,
    post as post_from_row,
};
use std::sync::LazyLock;
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, Row, SqliteConnection};

/// Authors hidden from a viewer (`?2`): suspended, or a block either way.
const VISIBLE_AUTHOR: &str = "users.suspended_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ?2 AND b.blocked_id = users.id) \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = ?2)";

fn user_id(s: String) -> StoreResult<UserId> {
    UserId::parse(&s).ok_or_else(|| StoreError::Backend("stored user id is malformed".into()))
}

fn counter_column(t: ReactionType) -> &'static str {
    match t {
        ReactionType::Like => "like_count",
        ReactionType::Fire => "fire_count",
        ReactionType::Scooter => "scooter_count",
        ReactionType::Laugh => "laugh_count",
        ReactionType::Wow => "wow_count",
        ReactionType::Sad => "sad_count",
    }
}

/// The one statement of [`SqliteStore::post_context`]: `?1` the authors' ids and `?2`
/// the posts' ids (JSON arrays), `?3` the viewer.
static POST_CONTEXT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT \
           (SELECT json_group_array(json_object({users})) FROM users \
              WHERE users.id IN (SELECT value FROM json_each(?1))) AS authors, \
           (SELECT json_group_array(json_object({POST_MEDIA_KEYS}, {media})) \
              FROM post_media pm JOIN media ON media.key = pm.media_key \
              WHERE pm.post_id IN (SELECT value FROM json_each(?2))) AS media, \
           (SELECT json_group_array(json_object('post_id', r.post_id, 'type', r.type)) \
              FROM reactions r WHERE r.user_id = ?3 \
              AND r.post_id IN (SELECT value FROM json_each(?2))) AS mine",
        users = object_fields(USER_COLUMNS),
        media = object_fields(MEDIA_COLUMNS),
    )
});

impl SqliteStore {
    /// [`scooter_store::Store::post_context`] in one statement.
    pub(crate) async fn post_context_of(
        &self,
        viewer: &UserId,
        posts: &[Post],
    ) -> StoreResult<PostContext> {
        if posts.is_empty() {
            return Ok(PostContext::default());
        }
        let json =
            |v: Vec<&str>| serde_json::to_string(&v).map_err(|e| StoreError::Backend(Box::new(e)));
        let mut authors: Vec<&str> = posts.iter().map(|p| p.author.as_str()).collect();
        authors.sort_unstable();
        authors.dedup();
        let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
        let row = sqlx::query(AssertSqlSafe(POST_CONTEXT_SQL.as_str()))
            .bind(json(authors)?)
            .bind(json(ids)?)
            .bind(viewer.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(from_sqlx)?;
        let column = |name: &str| row.try_get::<Option<String>, _>(name).map_err(from_sqlx);
        json::post_context(
            column("authors")?.as_deref(),
            column("media")?.as_deref(),
            column("mine")?.as_deref(),
        )
    }
}

/// What an idempotency key was used for already, if anything.
async fn replayed(
    conn: &mut SqliteConnection,
    user: &UserId,
    kind: &str,
    idempotency: Option<Idempotency<'_>>,
) -> StoreResult<Option<Earlier>> {
    let Some(idem) = idempotency else {
        return Ok(None);
    };
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT resource_id, fingerprint FROM idempotency_keys WHERE user_id = ? AND kind = ? AND key = ?",
    )
    .bind(user.as_str())
    .bind(kind)
    .bind(idem.key)
    .fetch_optional(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(row.map(|(id, f)| Earlier::of(id, f.as_deref(), idem.fingerprint)))
}

async fn remember_key(
    conn: &mut SqliteConnection,
    user: &UserId,
    kind: &str,
    idempotency: Option<Idempotency<'_>>,
    resource: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let Some(idem) = idempotency else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO idempotency_keys (user_id, kind, key, resource_id, created_at, fingerprint) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(user.as_str())
    .bind(kind)
    .bind(idem.key)
    .bind(resource)
    .bind(at.millis())
    .bind(idem.fingerprint)
    .execute(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

async fn insert_mentions(
    conn: &mut SqliteConnection,
    table_and_column: (&str, &str),
    id: &str,
    users: &[UserId],
) -> StoreResult<()> {
    let (table, column) = table_and_column;
    let sql = format!(
        "INSERT INTO {table} ({column}, user_id) SELECT ?, id FROM users WHERE id = ? ON CONFLICT DO NOTHING"
    );
    for u in users {
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(u.as_str())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    }
    Ok(())
}

#[async_trait]
impl PostStore for SqliteStore {
    async fn create_post(
        &self,
        post: NewPost,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Created<Post>> {
        let mut tx = self.begin_write().await?;
        if let Some(earlier) = replayed(&mut tx, &post.author, "post", idempotency).await? {
            return Ok(earlier.into_created());
        }
        sqlx::query("INSERT INTO posts (id, author_id, text, created_at) VALUES (?, ?, ?, ?)")
            .bind(&post.id)
            .bind(post.author.as_str())
            .bind(&post.text)
            .bind(post.created_at.millis())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        for (position, m) in post.media.iter().enumerate() {
            sqlx::query(
                "INSERT INTO post_media (post_id, position, media_key, alt) VALUES (?, ?, ?, ?)",
            )
            .bind(&post.id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(&m.key)
            .bind(&m.alt)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        }
        insert_mentions(
            &mut tx,
            ("post_mentions", "post_id"),
            &post.id,
            &post.mentions,
        )
        .await?;
        sqlx::query("UPDATE users SET posts_count = posts_count + 1 WHERE id = ?")
            .bind(post.author.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        remember_key(
            &mut tx,
            &post.author,
            "post",
            idempotency,
            &post.id,
            post.created_at,
        )
        .await?;
        write_notifications(&mut tx, notify).await?;
        if self.timelines {
            crate::timelines::on_new_post(&mut tx, &post.id, post.author.as_str(), post.created_at)
                .await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Created::New(Post {
            id: post.id,
            author: post.author,
            text: post.text,
            created_at: post.created_at,
            comment_count: 0,
            reactions: ReactionCounts::default(),
        }))
    }

    async fn get_post(&self, id: &str) -> StoreResult<Option<Post>> {
        let sql = format!("SELECT {POST_COLUMNS} FROM posts WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(post_from_row).transpose()
    }

    async fn delete_post(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let media: Vec<String> =
            sqlx::query_scalar("SELECT media_key FROM post_media WHERE post_id = ?")
                .bind(id)
                .fetch_all(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        for key in &media {
            sqlx::query("UPDATE media SET status = 'removed' WHERE key = ?")
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            crate::media::queue_purge(&mut tx, key).await?;
        }
        let author: Option<String> =
            sqlx::query_scalar("DELETE FROM posts WHERE id = ? RETURNING author_id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        let Some(author) = author else {
            return Ok(false);
        };
        sqlx::query("UPDATE users SET posts_count = posts_count - 1 WHERE id = ?")
            .bind(author)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn home_feed(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let mut conn = self.reader.acquire().await.map_err(from_sqlx)?;
        crate::timelines::pull_page(
            &mut conn,
            user.as_str(),
            before.unwrap_or(crate::timelines::TOP),
            limit,
        )
        .await
    }

    async fn user_posts(
        &self,
        author: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE author_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(author.as_str())
            .bind(before.unwrap_or("\u{10FFFF}"))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(post_from_row).collect()
    }

    async fn add_comment(
        &self,
        comment: Comment,
        mentions: Vec<UserId>,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Option<Created<Comment>>> {
        let mut tx = self.begin_write().await?;
        if let Some(earlier) = replayed(&mut tx, &comment.author, "comment", idempotency).await? {
            return Ok(Some(earlier.into_created()));
        }
        let counted =
            sqlx::query("UPDATE posts SET comment_count = comment_count + 1 WHERE id = ?")
                .bind(&comment.post_id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?
                .rows_affected();
        if counted == 0 {
            return Ok(None);
        }
        sqlx::query("INSERT INTO comments (id, post_id, author_id, text, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&comment.id)
            .bind(&comment.post_id)
            .bind(comment.author.as_str())
            .bind(&comment.text)
            .bind(comment.created_at.millis())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        insert_mentions(
            &mut tx,
            ("comment_mentions", "comment_id"),
            &comment.id,
            &mentions,
        )
        .await?;
        remember_key(
            &mut tx,
            &comment.author,
            "comment",
            idempotency,
            &comment.id,
            comment.created_at,
        )
        .await?;
        write_notifications(&mut tx, notify).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(Created::New(comment)))
    }

    async fn comment_by_id(&self, comment_id: &str) -> StoreResult<Option<Comment>> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(comment_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(comment_from_row).transpose()
    }

    async fn get_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<Option<Comment>> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE post_id = ? AND id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(post_id)
            .bind(comment_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(comment_from_row).transpose()
    }

    async fn delete_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM comments WHERE post_id = ? AND id = ?")
            .bind(post_id)
            .bind(comment_id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        if gone == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE posts SET comment_count = comment_count - 1 WHERE id = ?")
            .bind(post_id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn list_comments(
        &self,
        post_id: &str,
        viewer: &UserId,
        after: Option<&CommentKey>,
        limit: u32,
    ) -> StoreResult<Vec<Comment>> {
        let sql = format!(
            "SELECT {COMMENT_COLUMNS} FROM comments JOIN users ON users.id = comments.author_id \
             WHERE comments.post_id = ?1 AND comments.id > ?3 AND {VISIBLE_AUTHOR} \
             ORDER BY comments.id LIMIT ?4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(post_id)
            .bind(viewer.as_str())
            .bind(after.map_or("", String::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(comment_from_row).collect()
    }

    async fn react(
        &self,
        post_id: &str,
        user: &UserId,
        kind: ReactionType,
        change: ReactionChange,
        at: Timestamp,
        notify: Option<&NewNotification>,
    ) -> StoreResult<Option<Toggled>> {
        let mut tx = self.begin_write().await?;
        let removed = if change == ReactionChange::Add {
            0
        } else {
            sqlx::query("DELETE FROM reactions WHERE post_id = ? AND user_id = ? AND type = ?")
                .bind(post_id)
                .bind(user.as_str())
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?
                .rows_affected()
        };
        let reacted = match change {
            ReactionChange::Toggle => removed == 0,
            ReactionChange::Add => true,
            ReactionChange::Remove => false,
        };
        let added = if reacted {
            sqlx::query(
                "INSERT INTO reactions (post_id, user_id, type, created_at) \
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?1) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(post_id)
            .bind(user.as_str())
            .bind(kind.as_str())
            .bind(at.millis())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected()
        } else {
            0
        };
        let column = counter_column(kind);
        let delta = i64::try_from(added).unwrap_or(0) - i64::try_from(removed).unwrap_or(0);
        let sql = format!(
            "UPDATE posts SET {column} = {column} + ? WHERE id = ? RETURNING {POST_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(delta)
            .bind(post_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        if added > 0 {
            write_notifications(
                &mut tx,
                notify.map(std::slice::from_ref).unwrap_or_default(),
            )
            .await?;
        }
        let post = post_from_row(&row)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(Toggled {
            reacted,
            counts: post.reactions,
        }))
    }

    async fn list_reactions(
        &self,
        post_id: &str,
        viewer: &UserId,
        after: Option<&ReactionKey>,
        limit: u32,
    ) -> StoreResult<Vec<Reaction>> {
        let (at, uid, kind) =
            after.map_or((i64::MAX, "", ""), |(a, u, k)| (*a, u.as_str(), k.as_str()));
        let sql = format!(
            "SELECT r.user_id, r.type, r.created_at FROM reactions r JOIN users ON users.id = r.user_id \
             WHERE r.post_id = ?1 AND (r.created_at, r.user_id, r.type) < (?3, ?4, ?5) AND {VISIBLE_AUTHOR} \
             ORDER BY r.created_at DESC, r.user_id DESC, r.type DESC LIMIT ?6"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(post_id)
            .bind(viewer.as_str())
            .bind(at)
            .bind(uid)
            .bind(kind)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("type").map_err(from_sqlx)?;
                Ok(Reaction {
                    user: user_id(row.try_get("user_id").map_err(from_sqlx)?)?,
                    kind: ReactionType::from_stored(&kind).ok_or_else(|| {
                        StoreError::Backend("stored reaction type is unknown".into())
                    })?,
                    created_at: Timestamp::from_millis(
                        row.try_get("created_at").map_err(from_sqlx)?,
                    ),
                })
            })
            .collect()
    }

    async fn my_reactions(
        &self,
        user: &UserId,
        post_ids: &[String],
    ) -> StoreResult<Vec<(String, ReactionType)>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(post_ids).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let rows = sqlx::query(
            "SELECT post_id, type FROM reactions WHERE user_id = ? AND post_id IN (SELECT value FROM json_each(?))",
        )
        .bind(user.as_str())
        .bind(list)
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .filter_map(|row| {
                let post: Result<String, _> = row.try_get("post_id");
                let kind: Result<String, _> = row.try_get("type");
                match (post, kind) {
                    (Ok(p), Ok(k)) => ReactionType::from_stored(&k).map(|k| Ok((p, k))),
                    (Err(e), _) | (_, Err(e)) => Some(Err(from_sqlx(e))),
                }
            })
            .collect()
    }
}
