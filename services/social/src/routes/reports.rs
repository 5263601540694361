//! `/report`.

use crate::domain::reports::{self, NewReport};
use crate::dto::{ReportReceipt, ReportRequest};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Identity, Json};

/// Report a user or content to the moderators. A repeat of my open report on the same
/// target is accepted and returns the same report.
#[utoipa::path(post, path = "/report", tag = "social", security(("bearer" = [])), request_body = ReportRequest,
    responses(
        (status = 202, body = ReportReceipt),
        (status = 400, description = "Unknown reason or target type, or yourself", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such target", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn report(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<ReportRequest>,
) -> ApiResult<(StatusCode, Json<ReportReceipt>)> {
    ctx.limiters
        .report_per_account
        .check(me.user_id.as_str())
        .await?;
    let new = NewReport {
        target_type: req.target_type,
        target_id: req.target_id,
        reason: req.reason,
        details: req.details,
    };
    let report = reports::report(ctx.store.as_ref(), &me.user, new).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ReportReceipt {
            id: report.id.clone(),
            status: report.status(),
        }),
    ))
}
