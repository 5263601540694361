//! `PostStore` for PostgreSQL.

use crate::error::from_sqlx;
use crate::notifications::write_notifications;
use crate::{PgStore, retry};
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
use sqlx::{AssertSqlSafe, PgConnection, Row};

/// Authors hidden from a viewer (`$2`): suspended, or a block either way.
const VISIBLE_AUTHOR: &str = "users.suspended_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $2 AND b.blocked_id = users.id) \
     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = $2)";

/// The one statement of [`PgStore::post_context_of`]: `$1` the authors' ids, `$2` the
/// posts' ids, `$3` the viewer.
static POST_CONTEXT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT \
           (SELECT json_agg(json_build_object({users}))::text FROM users \
              WHERE users.id = ANY($1)) AS authors, \
           (SELECT json_agg(json_build_object({POST_MEDIA_KEYS}, {media}))::text \
              FROM post_media pm JOIN media ON media.key = pm.media_key \
              WHERE pm.post_id = ANY($2)) AS media, \
           (SELECT json_agg(json_build_object('post_id', r.post_id, 'type', r.type))::text \
              FROM reactions r WHERE r.user_id = $3 AND r.post_id = ANY($2)) AS mine",
        users = object_fields(USER_COLUMNS),
        media = object_fields(MEDIA_COLUMNS),
    )
});

impl PgStore {
    /// [`scooter_store::Store::post_context`] in one statement.
    pub(crate) async fn post_context_of(
        &self,
        viewer: &UserId,
        posts: &[Post],
    ) -> StoreResult<PostContext> {
        if posts.is_empty() {
            return Ok(PostContext::default());
        }
        let mut authors: Vec<&str> = posts.iter().map(|p| p.author.as_str()).collect();
        authors.sort_unstable();
        authors.dedup();
        let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
        let row = sqlx::query(AssertSqlSafe(POST_CONTEXT_SQL.as_str()))
            .bind(authors)
            .bind(ids)
            .bind(viewer.as_str())
            .fetch_one(&self.pool)
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

/// A cursor above every UUIDv7 id, for the first page of a newest-first list.
use crate::timelines::TOP;

fn user_id(s: String) -> StoreResult<UserId> {
    UserId::parse(&s).ok_or_else(|| StoreError::Backend("stored user id is malformed".into()))
}

/// Claims an idempotency key for `resource`; returns its earlier use when the key was
/// used already. A racing duplicate waits on the key's unique index and then sees the
/// winner's row.
async fn claim_key(
    conn: &mut PgConnection,
    user: &UserId,
    kind: &str,
    idempotency: Option<Idempotency<'_>>,
    resource: &str,
    at: Timestamp,
) -> StoreResult<Option<Earlier>> {
    let Some(idem) = idempotency else {
        return Ok(None);
    };
    let added = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, kind, key, resource_id, created_at, fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, kind, key) DO NOTHING",
    )
    .bind(user.as_str())
    .bind(kind)
    .bind(idem.key)
    .bind(resource)
    .bind(at.millis())
    .bind(idem.fingerprint)
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?
    .rows_affected();
    if added > 0 {
        return Ok(None);
    }
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT resource_id, fingerprint FROM idempotency_keys \
         WHERE user_id = $1 AND kind = $2 AND key = $3",
    )
    .bind(user.as_str())
    .bind(kind)
    .bind(idem.key)
    .fetch_optional(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(row.map(|(id, f)| Earlier::of(id, f.as_deref(), idem.fingerprint)))
}

async fn insert_mentions(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    id: &str,
    users: &[UserId],
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO {table} ({column}, user_id) SELECT $1, id FROM users WHERE id = $2 ON CONFLICT DO NOTHING"
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
impl PostStore for PgStore {
    async fn create_post(
        &self,
        post: NewPost,
        idempotency: Option<Idempotency<'_>>,
        notify: &[NewNotification],
    ) -> StoreResult<Created<Post>> {
        let post = &post;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            if let Some(earlier) = claim_key(
                conn,
                &post.author,
                "post",
                idempotency,
                &post.id,
                post.created_at,
            )
            .await?
            {
                return Ok(earlier.into_created());
            }
            sqlx::query(
                "INSERT INTO posts (id, author_id, text, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&post.id)
            .bind(post.author.as_str())
            .bind(&post.text)
            .bind(post.created_at.millis())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            for (position, m) in post.media.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO post_media (post_id, position, media_key, alt) VALUES ($1, $2, $3, $4)",
                )
                .bind(&post.id)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(&m.key)
                .bind(&m.alt)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            }
            insert_mentions(conn, "post_mentions", "post_id", &post.id, &post.mentions).await?;
            sqlx::query("UPDATE users SET posts_count = posts_count + 1 WHERE id = $1")
                .bind(post.author.as_str())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            write_notifications(conn, notify).await?;
            if self.timelines {
                crate::timelines::on_new_post(
                    conn,
                    &post.id,
                    post.author.as_str(),
                    post.created_at,
                )
                .await?;
            }
            tx.commit().await.map_err(from_sqlx)?;
            Ok(Created::New(Post {
                id: post.id.clone(),
                author: post.author.clone(),
                text: post.text.clone(),
                created_at: post.created_at,
                comment_count: 0,
                reactions: ReactionCounts::default(),
            }))
        })
        .await
    }

    async fn get_post(&self, id: &str) -> StoreResult<Option<Post>> {
        let sql = format!("SELECT {POST_COLUMNS} FROM posts WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(post_from_row).transpose()
    }

    async fn delete_post(&self, id: &str) -> StoreResult<bool> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let media: Vec<String> =
                sqlx::query_scalar("SELECT media_key FROM post_media WHERE post_id = $1")
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
            for key in &media {
                sqlx::query("UPDATE media SET status = 'removed' WHERE key = $1")
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
                crate::media::queue_purge(conn, key).await?;
            }
            let author: Option<String> =
                sqlx::query_scalar("DELETE FROM posts WHERE id = $1 RETURNING author_id")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
            let Some(author) = author else {
                {
                    tx.commit().await.map_err(from_sqlx)?;
                    return Ok(false);
                }
            };
            sqlx::query("UPDATE users SET posts_count = posts_count - 1 WHERE id = $1")
                .bind(author)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(true)
        })
        .await
    }

    async fn home_feed(
        &self,
        user: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let mut conn = self.pool.acquire().await.map_err(from_sqlx)?;
        crate::timelines::pull_page(&mut conn, user.as_str(), before.unwrap_or(TOP), limit).await
    }

    async fn user_posts(
        &self,
        author: &UserId,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Post>> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE author_id = $1 AND id < $2::text COLLATE \"C\" \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(author.as_str())
            .bind(before.unwrap_or(TOP))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
        let (comment, mentions) = (&comment, &mentions);
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let counted = sqlx::query("UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1")
                .bind(&comment.post_id)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?
                .rows_affected();
            if counted == 0 {
                return Ok(None);
            }
            let key = claim_key(conn, &comment.author, "comment", idempotency, &comment.id, comment.created_at);
            if let Some(earlier) = key.await? {
                return Ok(Some(earlier.into_created()));
            }
            sqlx::query("INSERT INTO comments (id, post_id, author_id, text, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&comment.id)
                .bind(&comment.post_id)
                .bind(comment.author.as_str())
                .bind(&comment.text)
                .bind(comment.created_at.millis())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            insert_mentions(conn, "comment_mentions", "comment_id", &comment.id, mentions).await?;
            write_notifications(conn, notify).await?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(Some(Created::New(comment.clone())))
        })
        .await
    }

    async fn comment_by_id(&self, comment_id: &str) -> StoreResult<Option<Comment>> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(comment_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(comment_from_row).transpose()
    }

    async fn get_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<Option<Comment>> {
        let sql = format!("SELECT {COMMENT_COLUMNS} FROM comments WHERE post_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(post_id)
            .bind(comment_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(comment_from_row).transpose()
    }

    async fn delete_comment(&self, post_id: &str, comment_id: &str) -> StoreResult<bool> {
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let gone = sqlx::query("DELETE FROM comments WHERE post_id = $1 AND id = $2")
                .bind(post_id)
                .bind(comment_id)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?
                .rows_affected();
            if gone == 0 {
                {
                    tx.commit().await.map_err(from_sqlx)?;
                    return Ok(false);
                }
            }
            sqlx::query("UPDATE posts SET comment_count = comment_count - 1 WHERE id = $1")
                .bind(post_id)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(true)
        })
        .await
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
             WHERE comments.post_id = $1 AND comments.id > $3::text COLLATE \"C\" AND {VISIBLE_AUTHOR} \
             ORDER BY comments.id LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(post_id)
            .bind(viewer.as_str())
            .bind(after.map_or("", String::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            // Locking the post makes changes on it take turns, so counts follow rows.
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM posts WHERE id = $1 FOR UPDATE")
                    .bind(post_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
            if exists.is_none() {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(None);
            }
            let removed = if change == ReactionChange::Add {
                0
            } else {
                sqlx::query(
                    "DELETE FROM reactions WHERE post_id = $1 AND user_id = $2 AND type = $3",
                )
                .bind(post_id)
                .bind(user.as_str())
                .bind(kind.as_str())
                .execute(&mut *conn)
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
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(post_id)
                .bind(user.as_str())
                .bind(kind.as_str())
                .bind(at.millis())
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?
                .rows_affected()
            } else {
                0
            };
            let column = format!("{}_count", kind.as_str());
            let sql = format!(
                "UPDATE posts SET {column} = {column} + $1 WHERE id = $2 RETURNING {POST_COLUMNS}"
            );
            let delta = i64::try_from(added).unwrap_or(0) - i64::try_from(removed).unwrap_or(0);
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(delta)
                .bind(post_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            if added > 0 {
                write_notifications(conn, notify.map(std::slice::from_ref).unwrap_or_default())
                    .await?;
            }
            let post = post_from_row(&row)?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(Some(Toggled {
                reacted,
                counts: post.reactions,
            }))
        })
        .await
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
             WHERE r.post_id = $1 \
               AND (r.created_at, r.user_id, r.type) < ($3, $4::text COLLATE \"C\", $5::text COLLATE \"C\") \
               AND {VISIBLE_AUTHOR} \
             ORDER BY r.created_at DESC, r.user_id DESC, r.type DESC LIMIT $6"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(post_id)
            .bind(viewer.as_str())
            .bind(at)
            .bind(uid)
            .bind(kind)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
        let rows = sqlx::query(
            "SELECT post_id, type FROM reactions WHERE user_id = $1 AND post_id = ANY($2)",
        )
        .bind(user.as_str())
        .bind(post_ids)
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let post: String = row.try_get("post_id").map_err(from_sqlx)?;
            let kind: String = row.try_get("type").map_err(from_sqlx)?;
            if let Some(k) = ReactionType::from_stored(&kind) {
                out.push((post, k));
            }
        }
        Ok(out)
    }
}
