//! `/notifications`, `/notifications/unread-count`, `/notifications/read`, `/notifications/read-all`.

use crate::domain::inbox;
use crate::dto::{NotificationView, ReadRequest, ReadResult, UnreadCount};
use axum::extract::State;
use scooter_core::Timestamp;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Query};

/// My notifications, newest first.
#[utoipa::path(get, path = "/notifications", tag = "notifications", operation_id = "list_notifications", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = Paged<NotificationView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn list(
    State(ctx): State<AppContext>,
    me: Identity,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<NotificationView>>> {
    let page = inbox::list(
        ctx.store.as_ref(),
        &me.user_id,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    let items = page.items.iter().map(NotificationView::new).collect();
    Ok(Json(Paged {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// How many of my notifications are unread.
#[utoipa::path(get, path = "/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn unread_count(
    State(ctx): State<AppContext>,
    me: Identity,
) -> ApiResult<Json<UnreadCount>> {
    let count = ctx.store.unread_count(&me.user_id).await?;
    Ok(Json(UnreadCount { count }))
}

/// Mark some of my notifications read.
#[utoipa::path(post, path = "/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = ReadRequest,
    responses(
        (status = 200, body = ReadResult),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn read(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<ReadRequest>,
) -> ApiResult<Json<ReadResult>> {
    let updated = inbox::read(ctx.store.as_ref(), &me.user_id, &req.ids).await?;
    Ok(Json(ReadResult { updated }))
}

/// Mark all my notifications read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = ReadResult), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn read_all(State(ctx): State<AppContext>, me: Identity) -> ApiResult<Json<ReadResult>> {
    let updated = ctx
        .store
        .mark_all_read(&me.user_id, Timestamp::now())
        .await?;
    Ok(Json(ReadResult { updated }))
}
