//! `/admin/*`: the moderation queue and suspensions. Every handler takes `Admin`, so a
//! route added here denies non-administrators by construction.

use crate::domain::moderation;
use crate::dto::{AdminReportView, ModeratedUser, ReportListQuery, ResolveRequest, SuspendRequest};
use axum::extract::State;
use scooter_core::UserId;
use scooter_core::page::Limit;
use scooter_core::report::ReportStatus;
use scooter_http::{
    Admin, ApiError, ApiResult, AppContext, ErrorEnvelope, Json, Paged, Path, Query,
};
use scooter_store::ReportFilter;

fn user_id(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

/// Reports, newest first (`status=open` by default).
#[utoipa::path(get, path = "/admin/reports", tag = "admin", security(("bearer" = [])), params(ReportListQuery),
    responses(
        (status = 200, body = Paged<AdminReportView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, description = "Not an administrator", body = ErrorEnvelope),
    ))]
pub async fn list_reports(
    State(ctx): State<AppContext>,
    _admin: Admin,
    Query(q): Query<ReportListQuery>,
) -> ApiResult<Json<Paged<AdminReportView>>> {
    let filter = match q.status.unwrap_or(ReportStatus::Open) {
        ReportStatus::Open => ReportFilter::Open,
        ReportStatus::Resolved => ReportFilter::Resolved,
    };
    let limit = Limit::clamp(q.limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX)));
    let res = moderation::list(ctx.store.as_ref(), filter, limit, q.cursor.as_deref()).await?;
    let users = res.users;
    Ok(Json(Paged::from_page(res.page, |r| {
        AdminReportView::new(&r, &users)
    })))
}

/// Decide a report: dismiss it, remove the content, or suspend the responsible account.
/// Every open report on the same target is closed with it.
#[utoipa::path(post, path = "/admin/reports/{id}/resolve", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id")), request_body = ResolveRequest,
    responses(
        (status = 200, body = AdminReportView),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Already resolved, or the account is gone", body = ErrorEnvelope),
    ))]
pub async fn resolve_report(
    State(ctx): State<AppContext>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    Json(req): Json<ResolveRequest>,
) -> ApiResult<Json<AdminReportView>> {
    let store = ctx.store.as_ref();
    let report =
        moderation::resolve(store, &admin.user, &id, req.action, req.note.as_deref()).await?;
    let users = moderation::users_of(store, std::slice::from_ref(&report)).await?;
    Ok(Json(AdminReportView::new(&report, &users)))
}

/// Suspend an account: it can read but not write, and others no longer see it.
#[utoipa::path(post, path = "/admin/users/{id}/suspend", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")), request_body = SuspendRequest,
    responses(
        (status = 200, body = ModeratedUser),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn suspend_user(
    State(ctx): State<AppContext>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    Json(req): Json<SuspendRequest>,
) -> ApiResult<Json<ModeratedUser>> {
    let user =
        moderation::suspend(ctx.store.as_ref(), &admin.user, &user_id(&id)?, &req.reason).await?;
    Ok(Json(ModeratedUser::from(&user)))
}

/// Lift a suspension.
#[utoipa::path(post, path = "/admin/users/{id}/unsuspend", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = ModeratedUser),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn unsuspend_user(
    State(ctx): State<AppContext>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<ModeratedUser>> {
    let user = moderation::unsuspend(ctx.store.as_ref(), &user_id(&id)?).await?;
    Ok(Json(ModeratedUser::from(&user)))
}
