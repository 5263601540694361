//! `InviteStore` for SQLite.

use crate::SqliteStore;
use crate::error::{conflict_as, from_sqlx};
use async_trait::async_trait;
use scooter_core::invite::{Invite, InviteCode};
use scooter_core::{Timestamp, UserId};
use scooter_store::{CreateInviteOutcome, InviteStore, RedeemOutcome, StoreResult};
use sqlx::Row;

#[async_trait]
impl InviteStore for SqliteStore {
    async fn list_invites(&self, owner: &UserId) -> StoreResult<Vec<Invite>> {
        let rows = sqlx::query(
            "SELECT code, created_at, used_at FROM invites WHERE created_by = ? \
             ORDER BY created_at DESC, code DESC",
        )
        .bind(owner.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| {
                Ok(Invite {
                    code: InviteCode::from_stored(row.try_get("code").map_err(from_sqlx)?),
                    created_by: owner.clone(),
                    created_at: Timestamp::from_millis(
                        row.try_get("created_at").map_err(from_sqlx)?,
                    ),
                    used_at: row
                        .try_get::<Option<i64>, _>("used_at")
                        .map_err(from_sqlx)?
                        .map(Timestamp::from_millis),
                })
            })
            .collect()
    }

    async fn create_invite(
        &self,
        owner: &UserId,
        code: &InviteCode,
        quota: u32,
        at: Timestamp,
    ) -> StoreResult<CreateInviteOutcome> {
        // One writer connection: the count and the insert cannot interleave with another.
        let mut tx = self.begin_write().await?;
        let made: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invites WHERE created_by = ?")
            .bind(owner.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if made >= i64::from(quota) {
            return Ok(CreateInviteOutcome::QuotaExhausted);
        }
        sqlx::query("INSERT INTO invites (code, created_by, created_at) VALUES (?, ?, ?)")
            .bind(code.as_str())
            .bind(owner.as_str())
            .bind(at.millis())
            .execute(&mut *tx)
            .await
            .map_err(conflict_as("invite code"))?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(CreateInviteOutcome::Created(Invite {
            code: code.clone(),
            created_by: owner.clone(),
            created_at: at,
            used_at: None,
        }))
    }

    async fn redeem_invite(
        &self,
        user: &UserId,
        code: &InviteCode,
        at: Timestamp,
    ) -> StoreResult<RedeemOutcome> {
        let mut tx = self.begin_write().await?;
        let invited: Option<Option<i64>> =
            sqlx::query_scalar("SELECT invited_at FROM users WHERE id = ?")
                .bind(user.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        if matches!(invited, Some(Some(_))) {
            return Ok(RedeemOutcome::AlreadyInvited);
        }
        let row = sqlx::query("SELECT created_by, used_at FROM invites WHERE code = ?")
            .bind(code.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(row) = row else {
            return Ok(RedeemOutcome::Invalid);
        };
        let creator: String = row.try_get("created_by").map_err(from_sqlx)?;
        let used_at: Option<i64> = row.try_get("used_at").map_err(from_sqlx)?;
        if used_at.is_some() {
            return Ok(RedeemOutcome::Invalid);
        }
        if creator == user.as_str() {
            return Ok(RedeemOutcome::OwnCode);
        }
        sqlx::query("UPDATE invites SET used_by = ?, used_at = ? WHERE code = ?")
            .bind(user.as_str())
            .bind(at.millis())
            .bind(code.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        sqlx::query("UPDATE users SET invited_at = ? WHERE id = ?")
            .bind(at.millis())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(RedeemOutcome::Redeemed)
    }
}
