//! `ModerationStore` for SQLite.

use crate::SqliteStore;
use crate::error::from_sqlx;
use crate::rows::{USER_RETURNING, user_from_row};
use async_trait::async_trait;
use scooter_core::UserId;
use scooter_core::report::{Report, Resolution};
use scooter_core::user::{Suspension, User};
use scooter_store::{
    ModerationStore, ReportFilter, ReportOutcome, ResolveOutcome, StoreError, StoreResult,
};
use scooter_store_sql::rows::{REPORT_COLUMNS, report as report_from_row};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, SqliteConnection};

#[async_trait]
impl ModerationStore for SqliteStore {
    async fn create_report(&self, report: Report) -> StoreResult<ReportOutcome> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports \
             WHERE reporter_id = ? AND target_type = ? AND target_id = ? AND resolved_at IS NULL"
        );
        let existing = sqlx::query(AssertSqlSafe(sql))
            .bind(report.reporter.as_ref().map(UserId::as_str))
            .bind(report.target_type.as_str())
            .bind(&report.target_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if let Some(row) = existing {
            return Ok(ReportOutcome::Duplicate(Box::new(report_from_row(&row)?)));
        }
        sqlx::query(
            "INSERT INTO reports (id, reporter_id, target_type, target_id, target_user_id, reason, details, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&report.id)
        .bind(report.reporter.as_ref().map(UserId::as_str))
        .bind(report.target_type.as_str())
        .bind(&report.target_id)
        .bind(report.target_user.as_ref().map(UserId::as_str))
        .bind(report.reason.as_str())
        .bind(&report.details)
        .bind(report.created_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(ReportOutcome::Created(Box::new(report)))
    }

    async fn get_report(&self, id: &str) -> StoreResult<Option<Report>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(report_from_row).transpose()
    }

    async fn list_reports(
        &self,
        filter: ReportFilter,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Report>> {
        let open = matches!(filter, ReportFilter::Open);
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE (resolved_at IS NULL) = ?1 AND (?2 IS NULL OR id < ?2) \
             ORDER BY id DESC LIMIT ?3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(open)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(report_from_row).collect()
    }

    async fn resolve_report(
        &self,
        id: &str,
        resolution: &Resolution,
        suspend: Option<Suspension>,
    ) -> StoreResult<ResolveOutcome> {
        let mut tx = self.begin_write().await?;
        let Some(report) = select_report(&mut tx, id).await? else {
            return Ok(ResolveOutcome::NotFound);
        };
        if report.resolution.is_some() {
            return Ok(ResolveOutcome::AlreadyResolved);
        }
        if let Some(s) = suspend {
            let Some(target) = report.target_user.as_ref() else {
                return Ok(ResolveOutcome::TargetGone);
            };
            if apply_suspension(&mut tx, target, Some(s)).await?.is_none() {
                return Ok(ResolveOutcome::TargetGone);
            }
        }
        sqlx::query(
            "UPDATE reports SET resolved_at = ?, resolved_by = ?, resolution_action = ?, resolution_note = ? \
             WHERE target_type = ? AND target_id = ? AND resolved_at IS NULL",
        )
        .bind(resolution.at.millis())
        .bind(resolution.by.as_ref().map(UserId::as_str))
        .bind(resolution.action.as_str())
        .bind(&resolution.note)
        .bind(report.target_type.as_str())
        .bind(&report.target_id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let decided = select_report(&mut tx, id)
            .await?
            .ok_or(StoreError::Backend("report vanished".into()))?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(ResolveOutcome::Resolved(Box::new(decided)))
    }

    async fn set_suspension(
        &self,
        user: &UserId,
        suspension: Option<Suspension>,
    ) -> StoreResult<Option<User>> {
        let mut tx = self.begin_write().await?;
        let updated = apply_suspension(&mut tx, user, suspension).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(updated)
    }
}

/// Reads one report inside a transaction.
async fn select_report(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Report>> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    row.as_ref().map(report_from_row).transpose()
}

/// Suspends or reinstates a user inside the caller's transaction (see
/// `ModerationStore::set_suspension`).
async fn apply_suspension(
    conn: &mut SqliteConnection,
    user: &UserId,
    suspension: Option<Suspension>,
) -> StoreResult<Option<User>> {
    let current: Option<Option<i64>> =
        sqlx::query_scalar("SELECT suspended_at FROM users WHERE id = ?")
            .bind(user.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    let Some(current) = current else {
        return Ok(None);
    };
    // Counters count only unsuspended ends; move this user in or out of them once,
    // when the state really changes.
    let delta: i64 = match (current.is_some(), suspension.is_some()) {
        (false, true) => -1,
        (true, false) => 1,
        _ => 0,
    };
    if delta != 0 {
        sqlx::query(
            "UPDATE users SET following_count = following_count + ?2 \
             WHERE id IN (SELECT follower_id FROM follows WHERE followee_id = ?1)",
        )
        .bind(user.as_str())
        .bind(delta)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(
            "UPDATE users SET followers_count = followers_count + ?2 \
             WHERE id IN (SELECT followee_id FROM follows WHERE follower_id = ?1)",
        )
        .bind(user.as_str())
        .bind(delta)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    }
    let (at, reason) = match &suspension {
        // An existing suspension keeps its start time; the reason is updated.
        Some(s) => (
            Some(current.unwrap_or(s.at.millis())),
            Some(s.reason.as_str()),
        ),
        None => (None, None),
    };
    let sql = format!(
        "UPDATE users SET suspended_at = ?, suspension_reason = ? WHERE id = ? RETURNING {USER_RETURNING}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(at)
        .bind(reason)
        .bind(user.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    Ok(Some(user_from_row(&row)?))
}
