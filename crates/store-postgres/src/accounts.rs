//! `AccountStore` for PostgreSQL.

use crate::error::from_sqlx;
use crate::users::{insert_user, select_user};
use crate::{PgStore, retry};
use async_trait::async_trait;
use scooter_core::invite::InviteCode;
use scooter_core::user::NewUser;
use scooter_core::{Email, Timestamp, UserId};
use scooter_store::{
    AccountStore, Credential, EndSessions, NewRefreshToken, RotateOutcome, SessionInfo,
    SignupOutcome, StoreError, StoreResult,
};
use sqlx::{PgConnection, Row};

fn user_id(s: String) -> StoreResult<UserId> {
    UserId::parse(&s).ok_or_else(|| StoreError::Backend("stored user id is malformed".into()))
}

#[async_trait]
impl AccountStore for PgStore {
    async fn create_password_account(
        &self,
        user: NewUser,
        password_hash: Option<&str>,
        invite: Option<&InviteCode>,
    ) -> StoreResult<SignupOutcome> {
        let user = &user;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            insert_user(conn, user).await?;
            let added = sqlx::query(
                "INSERT INTO local_accounts (email, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (email) DO NOTHING",
            )
            .bind(user.email.as_str())
            .bind(user.id.as_str())
            .bind(password_hash)
            .bind(user.created_at.millis())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            if added == 0 {
                return Ok(SignupOutcome::EmailTaken);
            }
            if let Some(code) = invite {
                let used = sqlx::query("UPDATE invites SET used_by = $1, used_at = $2 WHERE code = $3 AND used_at IS NULL")
                    .bind(user.id.as_str())
                    .bind(user.created_at.millis())
                    .bind(code.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(from_sqlx)?
                    .rows_affected();
                if used == 0 {
                    return Ok(SignupOutcome::InviteInvalid);
                }
                sqlx::query("UPDATE users SET invited_at = $1 WHERE id = $2")
                    .bind(user.created_at.millis())
                    .bind(user.id.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
            }
            let created = select_user(conn, user.id.as_str())
                .await?
                .ok_or_else(|| StoreError::Backend("inserted user vanished".into()))?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(SignupOutcome::Created(Box::new(created)))
        })
        .await
    }

    async fn credential_by_email(&self, email: &Email) -> StoreResult<Option<Credential>> {
        let row = sqlx::query(
            "SELECT user_id, password_hash FROM local_accounts WHERE email = $1 AND password_hash IS NOT NULL",
        )
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Credential {
            user_id: user_id(row.try_get("user_id").map_err(from_sqlx)?)?,
            password_hash: row.try_get("password_hash").map_err(from_sqlx)?,
        }))
    }

    async fn user_id_by_email(&self, email: &Email) -> StoreResult<Option<UserId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM local_accounts WHERE email = $1")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(from_sqlx)?;
        id.map(user_id).transpose()
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.token_hash)
        .bind(&token.family_id)
        .bind(token.user_id.as_str())
        .bind(token.issued_at.millis())
        .bind(token.expires_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, client) \
             VALUES ($1, $2, $3, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&token.family_id)
        .bind(token.user_id.as_str())
        .bind(token.issued_at.millis())
        .bind(token.client.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        next_hash: &str,
        now: Timestamp,
        next_expires_at: Timestamp,
        grace: std::time::Duration,
    ) -> StoreResult<RotateOutcome> {
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            // The row lock makes two refreshes with one token take turns.
            let row = sqlx::query(
                "SELECT family_id, user_id, expires_at, spent_at, revoked_at FROM refresh_tokens \
                 WHERE token_hash = $1 FOR UPDATE",
            )
            .bind(presented_hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            let Some(row) = row else { {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(RotateOutcome::Invalid);
            } };
            let family: String = row.try_get("family_id").map_err(from_sqlx)?;
            let owner: String = row.try_get("user_id").map_err(from_sqlx)?;
            let expires_at: i64 = row.try_get("expires_at").map_err(from_sqlx)?;
            let spent: Option<i64> = row.try_get("spent_at").map_err(from_sqlx)?;
            let revoked: Option<i64> = row.try_get("revoked_at").map_err(from_sqlx)?;
            if revoked.is_some() || expires_at <= now.millis() {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(RotateOutcome::Invalid);
            }
            }
            let repeated = spent.is_some_and(|at| at.saturating_add(grace_ms) > now.millis());
            if spent.is_some() && !repeated {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                    .bind(now.millis())
                    .bind(&family)
                    .execute(&mut *conn)
                    .await
                    .map_err(from_sqlx)?;
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(RotateOutcome::Reused);
            }
            }
            // A repeat keeps the first spend's time, so repeats cannot stretch the window.
            sqlx::query("UPDATE refresh_tokens SET spent_at = $1 WHERE token_hash = $2 AND spent_at IS NULL")
                .bind(now.millis())
                .bind(presented_hash)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(next_hash)
            .bind(&family)
            .bind(&owner)
            .bind(now.millis())
            .bind(next_expires_at.millis())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
                .bind(now.millis())
                .bind(&family)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(RotateOutcome::Rotated {
                user: user_id(owner)?,
                session: family,
            })
        })
        .await
    }

    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<bool> {
        let now = Timestamp::now().millis();
        let n = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) \
               AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn bar_address(&self, digest: &str, at: Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO barred_addresses (digest, barred_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
            .bind(digest)
            .bind(at.millis())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn is_address_barred(&self, digest: &str) -> StoreResult<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM barred_addresses WHERE digest = $1")
                .bind(digest)
                .fetch_optional(&self.pool)
                .await
                .map_err(from_sqlx)?;
        Ok(found.is_some())
    }

    async fn list_sessions(&self, user: &UserId, now: Timestamp) -> StoreResult<Vec<SessionInfo>> {
        let rows = sqlx::query(
            "SELECT s.id, s.created_at, s.last_used_at, s.client FROM sessions s \
             WHERE s.user_id = $1 AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = s.id \
                 AND t.revoked_at IS NULL AND t.spent_at IS NULL AND t.expires_at > $2) \
             ORDER BY s.created_at DESC, s.id DESC",
        )
        .bind(user.as_str())
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(SessionInfo {
                    id: row.try_get("id").map_err(from_sqlx)?,
                    created_at: Timestamp::from_millis(
                        row.try_get("created_at").map_err(from_sqlx)?,
                    ),
                    last_used_at: Timestamp::from_millis(
                        row.try_get("last_used_at").map_err(from_sqlx)?,
                    ),
                    client: row.try_get("client").map_err(from_sqlx)?,
                })
            })
            .collect()
    }

    async fn end_sessions(&self, user: &UserId, which: EndSessions<'_>) -> StoreResult<u64> {
        // The session's own row goes too, so the list never shows an ended session.
        let (one, keep) = match which {
            EndSessions::One(id) => (Some(id), None),
            EndSessions::AllBut(keep) => (None, keep),
        };
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = (extract(epoch from clock_timestamp()) * 1000)::bigint \
             WHERE user_id = $1 AND revoked_at IS NULL \
               AND ($2 IS NULL OR family_id = $2) \
               AND ($3 IS NULL OR family_id <> $3)",
        )
        .bind(user.as_str())
        .bind(one)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let gone = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 \
               AND ($2 IS NULL OR id = $2) \
               AND ($3 IS NULL OR id <> $3)",
        )
        .bind(user.as_str())
        .bind(one)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        tx.commit().await.map_err(from_sqlx)?;
        Ok(gone)
    }
}
