//! `ModerationStore` for PostgreSQL.

use crate::error::from_sqlx;
use crate::rows::{USER_RETURNING, user_from_row};
use crate::{PgStore, retry};
use async_trait::async_trait;
use scooter_core::UserId;
use scooter_core::report::{Report, Resolution};
use scooter_core::user::{Suspension, User};
use scooter_store::{
    ModerationStore, ReportFilter, ReportOutcome, ResolveOutcome, StoreError, StoreResult,
};
use scooter_store_sql::rows::{REPORT_COLUMNS, report as report_from_row};
// Dynamic SQL here is only ever built from this crate's constants, never from input.
use sqlx::{AssertSqlSafe, PgConnection};

async fn select_report(
    conn: &mut PgConnection,
    id: &str,
    lock: bool,
) -> StoreResult<Option<Report>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1{lock}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    row.as_ref().map(report_from_row).transpose()
}

/// Suspends or reinstates a user inside the caller's transaction, locking the user.
async fn apply_suspension(
    conn: &mut PgConnection,
    user: &UserId,
    suspension: Option<Suspension>,
) -> StoreResult<Option<User>> {
    let current: Option<Option<i64>> =
        sqlx::query_scalar("SELECT suspended_at FROM users WHERE id = $1 FOR NO KEY UPDATE")
            .bind(user.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    let Some(current) = current else {
        return Ok(None);
    };
    let delta: i64 = match (current.is_some(), suspension.is_some()) {
        (false, true) => -1,
        (true, false) => 1,
        _ => 0,
    };
    if delta != 0 {
        sqlx::query(
            "UPDATE users SET following_count = following_count + $2 \
             WHERE id IN (SELECT follower_id FROM follows WHERE followee_id = $1)",
        )
        .bind(user.as_str())
        .bind(delta)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
        sqlx::query(
            "UPDATE users SET followers_count = followers_count + $2 \
             WHERE id IN (SELECT followee_id FROM follows WHERE follower_id = $1)",
        )
        .bind(user.as_str())
        .bind(delta)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    }
    let (at, reason) = match &suspension {
        Some(s) => (
            Some(current.unwrap_or(s.at.millis())),
            Some(s.reason.clone()),
        ),
        None => (None, None),
    };
    let sql = format!(
        "UPDATE users SET suspended_at = $1, suspension_reason = $2 WHERE id = $3 RETURNING {USER_RETURNING}"
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

#[async_trait]
impl ModerationStore for PgStore {
    async fn create_report(&self, report: Report) -> StoreResult<ReportOutcome> {
        let report = &report;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let added = sqlx::query(
                "INSERT INTO reports (id, reporter_id, target_type, target_id, target_user_id, reason, details, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (reporter_id, target_type, target_id) WHERE resolved_at IS NULL DO NOTHING",
            )
            .bind(&report.id)
            .bind(report.reporter.as_ref().map(UserId::as_str))
            .bind(report.target_type.as_str())
            .bind(&report.target_id)
            .bind(report.target_user.as_ref().map(UserId::as_str))
            .bind(report.reason.as_str())
            .bind(&report.details)
            .bind(report.created_at.millis())
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
            if added > 0 {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(ReportOutcome::Created(Box::new(report.clone())));
            }
            }
            let sql = format!(
                "SELECT {REPORT_COLUMNS} FROM reports \
                 WHERE reporter_id = $1 AND target_type = $2 AND target_id = $3 AND resolved_at IS NULL"
            );
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(report.reporter.as_ref().map(UserId::as_str))
                .bind(report.target_type.as_str())
                .bind(&report.target_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(ReportOutcome::Duplicate(Box::new(report_from_row(&row)?)))
        })
        .await
    }

    async fn get_report(&self, id: &str) -> StoreResult<Option<Report>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
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
            "SELECT {REPORT_COLUMNS} FROM reports \
             WHERE (resolved_at IS NULL) = $1 AND ($2::text IS NULL OR id < $2::text COLLATE \"C\") \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(open)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
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
        let suspend = &suspend;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let conn: &mut PgConnection = &mut tx;
            let Some(report) = select_report(conn, id, true).await? else {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(ResolveOutcome::NotFound);
            }
            };
            if report.resolution.is_some() {
                {
                tx.commit().await.map_err(from_sqlx)?;
                return Ok(ResolveOutcome::AlreadyResolved);
            }
            }
            if let Some(s) = suspend.clone() {
                let Some(target) = report.target_user.as_ref() else {
                    return Ok(ResolveOutcome::TargetGone);
                };
                if apply_suspension(conn, target, Some(s)).await?.is_none() {
                    return Ok(ResolveOutcome::TargetGone);
                }
            }
            sqlx::query(
                "UPDATE reports SET resolved_at = $1, resolved_by = $2, resolution_action = $3, resolution_note = $4 \
                 WHERE target_type = $5 AND target_id = $6 AND resolved_at IS NULL",
            )
            .bind(resolution.at.millis())
            .bind(resolution.by.as_ref().map(UserId::as_str))
            .bind(resolution.action.as_str())
            .bind(&resolution.note)
            .bind(report.target_type.as_str())
            .bind(&report.target_id)
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
            let decided = select_report(conn, id, false)
                .await?
                .ok_or_else(|| StoreError::Backend("report vanished".into()))?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(ResolveOutcome::Resolved(Box::new(decided)))
        })
        .await
    }

    async fn set_suspension(
        &self,
        user: &UserId,
        suspension: Option<Suspension>,
    ) -> StoreResult<Option<User>> {
        let suspension = &suspension;
        retry(move || async move {
            let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
            let updated = apply_suspension(&mut tx, user, suspension.clone()).await?;
            tx.commit().await.map_err(from_sqlx)?;
            Ok(updated)
        })
        .await
    }
}
