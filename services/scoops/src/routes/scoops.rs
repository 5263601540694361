//! `/scoops`, `/scoops/feed`, `/scoops/me`, `/scoops/user/{userId}`, `/scoops/{id}`,
//! `/scoops/{id}/view`, `/scoops/{id}/viewers`.

use crate::domain;
use crate::dto::{CreateScoopRequest, ScoopAuthorView, ScoopList, ScoopView, ViewerView};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_http::{
    ApiError, ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Path,
    Publisher, Query, UserSummary,
};
use scooter_store::SeenScoop;

async fn one(ctx: &AppContext, me: &Identity, s: SeenScoop) -> ApiResult<Json<ScoopView>> {
    let mut v = domain::render(ctx.store.as_ref(), &me.user_id, vec![s]).await?;
    v.pop()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("scoop"))
}

/// Post a scoop from my ready scoop upload; it vanishes after `SCOOP_TTL`.
#[utoipa::path(post, path = "/scoops", tag = "scoops", security(("bearer" = [])), request_body = CreateScoopRequest,
    responses(
        (status = 201, body = ScoopView),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 409, description = "The upload is not ready", body = ErrorEnvelope),
    ))]
pub async fn create(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    Json(req): Json<CreateScoopRequest>,
) -> ApiResult<(StatusCode, Json<ScoopView>)> {
    ctx.limiters
        .post_per_account
        .check(me.user_id.as_str())
        .await?;
    let (scoop, media) = domain::create(
        ctx.store.as_ref(),
        &me.user,
        &req.media_key,
        req.alt.as_deref(),
        req.caption.as_deref(),
        ctx.scoop_ttl,
    )
    .await?;
    let seen = SeenScoop { scoop, seen: false };
    let view = domain::assemble(
        &me.user_id,
        vec![seen],
        std::slice::from_ref(&me.user),
        std::slice::from_ref(&media),
    )
    .pop()
    .ok_or_else(|| ApiError::not_found("scoop"))?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Me and the people I follow who have live scoops: me first, then authors with
/// unseen scoops, then authors I have seen; newest first within each.
#[utoipa::path(get, path = "/scoops/feed", tag = "scoops", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = Paged<ScoopAuthorView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn feed(
    State(ctx): State<AppContext>,
    me: Identity,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<ScoopAuthorView>>> {
    let page = domain::feed(ctx.store.as_ref(), &me.user, q.limit(), q.cursor.as_deref()).await?;
    Ok(Json(Paged {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// My live scoops, with their view counts.
#[utoipa::path(get, path = "/scoops/me", tag = "scoops", security(("bearer" = [])),
    responses((status = 200, body = ScoopList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn mine(State(ctx): State<AppContext>, me: Identity) -> ApiResult<Json<ScoopList>> {
    let items = domain::mine(ctx.store.as_ref(), &me.user).await?;
    Ok(Json(ScoopList {
        items,
        next_cursor: None,
    }))
}

/// One user's live scoops.
#[utoipa::path(get, path = "/scoops/user/{userId}", tag = "scoops", security(("bearer" = [])),
    params(("userId" = String, Path, description = "User id")),
    responses(
        (status = 200, body = ScoopList),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such user, or hidden", body = ErrorEnvelope),
    ))]
pub async fn of_user(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(user_id): Path<String>,
) -> ApiResult<Json<ScoopList>> {
    let live = domain::of_user(ctx.store.as_ref(), &me.user, &user_id).await?;
    let items = domain::render(ctx.store.as_ref(), &me.user_id, live).await?;
    Ok(Json(ScoopList {
        items,
        next_cursor: None,
    }))
}

/// One live scoop.
#[utoipa::path(get, path = "/scoops/{id}", tag = "scoops", security(("bearer" = [])),
    params(("id" = String, Path, description = "Scoop id")),
    responses(
        (status = 200, body = ScoopView),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "Missing, expired or hidden", body = ErrorEnvelope),
    ))]
pub async fn get(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(id): Path<String>,
) -> ApiResult<Json<ScoopView>> {
    let s = domain::visible(ctx.store.as_ref(), &me.user, &id).await?;
    one(&ctx, &me, s).await
}

/// Delete a scoop (its author or an administrator).
#[utoipa::path(delete, path = "/scoops/{id}", tag = "scoops", operation_id = "delete_scoop", security(("bearer" = [])),
    params(("id" = String, Path, description = "Scoop id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn delete(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    domain::delete(ctx.store.as_ref(), &me.user, me.is_admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record that I viewed a scoop (idempotent; the author's own views are not counted).
#[utoipa::path(post, path = "/scoops/{id}/view", tag = "scoops", security(("bearer" = [])),
    params(("id" = String, Path, description = "Scoop id")),
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "Missing, expired or hidden", body = ErrorEnvelope),
    ))]
pub async fn view(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    domain::view(ctx.store.as_ref(), &me.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who viewed my scoop, newest first (anyone else gets 404).
#[utoipa::path(get, path = "/scoops/{id}/viewers", tag = "scoops", security(("bearer" = [])),
    params(("id" = String, Path, description = "Scoop id"), PageQuery),
    responses(
        (status = 200, body = Paged<ViewerView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "Not my scoop, or expired", body = ErrorEnvelope),
    ))]
pub async fn viewers(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<ViewerView>>> {
    let page = domain::viewers(
        ctx.store.as_ref(),
        &me.user,
        &id,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    Ok(Json(Paged::from_page(page, |(u, at)| ViewerView {
        user: UserSummary::from(&u),
        viewed_at: at,
    })))
}
