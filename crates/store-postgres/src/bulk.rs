//! `BulkLoad` for PostgreSQL: one `INSERT … SELECT FROM UNNEST(arrays)` per table and
//! call, so a call of thousands of rows is one statement with a handful of parameters.

use crate::PgStore;
use crate::error::from_sqlx;
use async_trait::async_trait;
use scooter_core::search::index_terms;
use scooter_store::StoreResult;
use scooter_store::bulk::{BulkLoad, SeedFollow, SeedPost, SeedScoop, SeedUser};

/// The size recorded for a seeded scoop's image (no file is written).
const SEED_IMAGE_BYTES: i64 = 200_000;

fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

#[async_trait]
impl BulkLoad for PgStore {
    async fn load_users(&self, users: &[SeedUser]) -> StoreResult<()> {
        let ids = column(users, |u| u.id.to_string());
        let emails = column(users, |u| u.email.clone());
        let handles = column(users, |u| u.handle.clone());
        let lowers = column(users, |u| u.handle.to_lowercase());
        let names = column(users, |u| u.display_name.clone());
        let terms_versions = column(users, |u| u.terms_version.clone());
        let created = column(users, |u| u.created_at.millis());
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO users (id, email, email_verified, handle, handle_lower, display_name, \
               created_at, terms_version, terms_accepted_at) \
             SELECT id, email, TRUE, handle, lower, name, created, tv, created \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[]) \
               AS t(id, email, handle, lower, name, created, tv)",
        )
        .bind(&ids)
        .bind(&emails)
        .bind(&handles)
        .bind(&lowers)
        .bind(&names)
        .bind(&created)
        .bind(&terms_versions)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let mut term_words = Vec::new();
        let mut term_kinds = Vec::new();
        let mut term_users = Vec::new();
        for (u, lower) in users.iter().zip(&lowers) {
            for (term, kind) in index_terms(Some(lower), Some(&u.display_name)) {
                term_words.push(term);
                term_kinds.push(i16::from(kind));
                term_users.push(u.id.to_string());
            }
        }
        sqlx::query(
            "INSERT INTO user_search_terms (term, kind, user_id) \
             SELECT * FROM UNNEST($1::text[], $2::smallint[], $3::text[])",
        )
        .bind(&term_words)
        .bind(&term_kinds)
        .bind(&term_users)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO local_accounts (email, user_id, password_hash, created_at) \
             SELECT email, id, NULL, created FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
               AS t(email, id, created)",
        )
        .bind(&emails)
        .bind(&ids)
        .bind(&created)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn load_follows(&self, follows: &[SeedFollow]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, created_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])",
        )
        .bind(column(follows, |f| f.follower.to_string()))
        .bind(column(follows, |f| f.followee.to_string()))
        .bind(column(follows, |f| f.created_at.millis()))
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn load_posts(&self, posts: &[SeedPost]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO posts (id, author_id, text, created_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])",
        )
        .bind(column(posts, |p| p.id.clone()))
        .bind(column(posts, |p| p.author.to_string()))
        .bind(column(posts, |p| p.text.clone()))
        .bind(column(posts, |p| p.created_at.millis()))
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn load_scoops(&self, scoops: &[SeedScoop]) -> StoreResult<()> {
        let keys = column(scoops, |s| s.media_key.clone());
        let authors = column(scoops, |s| s.author.to_string());
        let created = column(scoops, |s| s.created_at.millis());
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO media (key, owner_id, purpose, kind, content_type, size, status, \
               width, height, created_at) \
             SELECT key, owner, 'scoop', 'image', 'image/jpeg', $4, 'ready', 1080, 1920, created \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS t(key, owner, created)",
        )
        .bind(&keys)
        .bind(&authors)
        .bind(&created)
        .bind(SEED_IMAGE_BYTES)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO scoops (id, author_id, media_key, created_at, expires_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])",
        )
        .bind(column(scoops, |s| s.id.clone()))
        .bind(&authors)
        .bind(&keys)
        .bind(&created)
        .bind(column(scoops, |s| s.expires_at.millis()))
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn recount(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        // Whole-table aggregates can outlast the per-request statement timeout.
        for sql in [
            "SET LOCAL statement_timeout = 0",
            "UPDATE users u SET followers_count = c.n FROM \
               (SELECT followee_id AS id, count(*) AS n FROM follows GROUP BY followee_id) c \
             WHERE u.id = c.id",
            "UPDATE users u SET following_count = c.n FROM \
               (SELECT follower_id AS id, count(*) AS n FROM follows GROUP BY follower_id) c \
             WHERE u.id = c.id",
            "UPDATE users u SET posts_count = c.n FROM \
               (SELECT author_id AS id, count(*) AS n FROM posts GROUP BY author_id) c \
             WHERE u.id = c.id",
            "ANALYZE users, follows, posts, scoops",
        ] {
            sqlx::query(sql)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)
    }
}
