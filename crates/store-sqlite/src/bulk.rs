//! `BulkLoad` for SQLite: multi-row `INSERT`s inside one transaction per call.

use crate::SqliteStore;
use crate::error::from_sqlx;
use async_trait::async_trait;
use scooter_core::search::index_terms;
use scooter_store::StoreResult;
use scooter_store::bulk::{BulkLoad, SeedFollow, SeedPost, SeedScoop, SeedUser};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

/// Rows per statement: the widest row binds 8 values, far under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// Runs `INSERT … VALUES (…), (…)` for `rows` in statements of [`ROWS_PER_STATEMENT`].
async fn insert_rows<T>(
    conn: &mut SqliteConnection,
    head: &'static str,
    rows: &[T],
    mut bind: impl FnMut(&mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>, &T),
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(head);
        q.push_values(chunk, |mut b, row| bind(&mut b, row));
        q.build().execute(&mut *conn).await.map_err(from_sqlx)?;
    }
    Ok(())
}

#[async_trait]
impl BulkLoad for SqliteStore {
    async fn load_users(&self, users: &[SeedUser]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "INSERT INTO users (id, email, email_verified, handle, handle_lower, display_name, \
             created_at, terms_version, terms_accepted_at) ",
            users,
            |b, u| {
                b.push_bind(u.id.to_string())
                    .push_bind(u.email.clone())
                    .push_bind(1_i64)
                    .push_bind(u.handle.clone())
                    .push_bind(u.handle.to_lowercase())
                    .push_bind(u.display_name.clone())
                    .push_bind(u.created_at.millis())
                    .push_bind(u.terms_version.clone())
                    .push_bind(u.created_at.millis());
            },
        )
        .await?;
        let terms: Vec<(String, u8, String)> = users
            .iter()
            .flat_map(|u| {
                index_terms(Some(&u.handle.to_lowercase()), Some(&u.display_name))
                    .into_iter()
                    .map(|(term, kind)| (term, kind, u.id.to_string()))
            })
            .collect();
        insert_rows(
            &mut tx,
            "INSERT INTO user_search_terms (term, kind, user_id) ",
            &terms,
            |b, (term, kind, id)| {
                b.push_bind(term.clone())
                    .push_bind(i64::from(*kind))
                    .push_bind(id.clone());
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            "INSERT INTO local_accounts (email, user_id, password_hash, created_at) ",
            users,
            |b, u| {
                b.push_bind(u.email.clone())
                    .push_bind(u.id.to_string())
                    .push_bind(None::<String>)
                    .push_bind(u.created_at.millis());
            },
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn load_follows(&self, follows: &[SeedFollow]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "INSERT INTO follows (follower_id, followee_id, created_at) ",
            follows,
            |b, f| {
                b.push_bind(f.follower.to_string())
                    .push_bind(f.followee.to_string())
                    .push_bind(f.created_at.millis());
            },
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn load_posts(&self, posts: &[SeedPost]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "INSERT INTO posts (id, author_id, text, created_at) ",
            posts,
            |b, p| {
                b.push_bind(p.id.clone())
                    .push_bind(p.author.to_string())
                    .push_bind(p.text.clone())
                    .push_bind(p.created_at.millis());
            },
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn load_scoops(&self, scoops: &[SeedScoop]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "INSERT INTO media (key, owner_id, purpose, kind, content_type, size, status, \
             width, height, created_at) ",
            scoops,
            |b, s| {
                b.push_bind(s.media_key.clone())
                    .push_bind(s.author.to_string())
                    .push_bind("scoop")
                    .push_bind("image")
                    .push_bind("image/jpeg")
                    .push_bind(SEED_IMAGE_BYTES)
                    .push_bind("ready")
                    .push_bind(1080_i64)
                    .push_bind(1920_i64)
                    .push_bind(s.created_at.millis());
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            "INSERT INTO scoops (id, author_id, media_key, created_at, expires_at) ",
            scoops,
            |b, s| {
                b.push_bind(s.id.clone())
                    .push_bind(s.author.to_string())
                    .push_bind(s.media_key.clone())
                    .push_bind(s.created_at.millis())
                    .push_bind(s.expires_at.millis());
            },
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn recount(&self) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET \
               followers_count = (SELECT count(*) FROM follows WHERE followee_id = users.id), \
               following_count = (SELECT count(*) FROM follows WHERE follower_id = users.id), \
               posts_count = (SELECT count(*) FROM posts WHERE author_id = users.id)",
        )
        .execute(&self.writer)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }
}

/// The size recorded for a seeded scoop's image (no file is written).
const SEED_IMAGE_BYTES: i64 = 200_000;
