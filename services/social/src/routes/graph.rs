//! `/follow`, `/unfollow`, `/block`, `/unblock`, `/blocked`.

use crate::domain::graph::{self, Target};
use crate::dto::{RelationshipState, TargetRequest};
use axum::extract::State;
use scooter_core::social::Relationship;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Publisher, Query,
    UserSummary,
};

fn target(req: TargetRequest) -> ApiResult<Target> {
    Ok(Target::from_parts(req.user_id, req.handle)?)
}

/// Follow a user (idempotent).
#[utoipa::path(post, path = "/follow", tag = "social", security(("bearer" = [])), request_body = TargetRequest,
    responses(
        (status = 200, body = RelationshipState),
        (status = 400, description = "Yourself, or not exactly one of userId and handle", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, description = "Suspended or invite required", body = ErrorEnvelope),
        (status = 404, description = "No such user, or hidden by a block", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn follow(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    Json(req): Json<TargetRequest>,
) -> ApiResult<Json<RelationshipState>> {
    let target = target(req)?;
    ctx.limiters
        .follow_per_account
        .check(me.user_id.as_str())
        .await?;
    let (user, rel) = graph::follow(ctx.store.as_ref(), &me.user, &target).await?;
    Ok(Json(RelationshipState::new(&user, &rel)))
}

/// Stop following a user (idempotent).
#[utoipa::path(post, path = "/unfollow", tag = "social", security(("bearer" = [])), request_body = TargetRequest,
    responses(
        (status = 200, body = RelationshipState),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn unfollow(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<TargetRequest>,
) -> ApiResult<Json<RelationshipState>> {
    let target = target(req)?;
    ctx.limiters
        .follow_per_account
        .check(me.user_id.as_str())
        .await?;
    let (user, rel) = graph::unfollow(ctx.store.as_ref(), &me.user, &target).await?;
    Ok(Json(RelationshipState::new(&user, &rel)))
}

/// Block a user (idempotent): follows both ways end, and neither sees the other.
#[utoipa::path(post, path = "/block", tag = "social", security(("bearer" = [])), request_body = TargetRequest,
    responses(
        (status = 200, body = RelationshipState),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn block(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<TargetRequest>,
) -> ApiResult<Json<RelationshipState>> {
    let target = target(req)?;
    ctx.limiters
        .follow_per_account
        .check(me.user_id.as_str())
        .await?;
    let user = graph::block(ctx.store.as_ref(), &me.user, &target).await?;
    let rel = Relationship {
        blocking: true,
        ..Relationship::default()
    };
    Ok(Json(RelationshipState::new(&user, &rel)))
}

/// Remove a block (idempotent); follows are not restored.
#[utoipa::path(post, path = "/unblock", tag = "social", security(("bearer" = [])), request_body = TargetRequest,
    responses(
        (status = 200, body = RelationshipState),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn unblock(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<TargetRequest>,
) -> ApiResult<Json<RelationshipState>> {
    let target = target(req)?;
    ctx.limiters
        .follow_per_account
        .check(me.user_id.as_str())
        .await?;
    let user = graph::unblock(ctx.store.as_ref(), &me.user, &target).await?;
    let rel = ctx.store.relationship(&me.user_id, &user.id).await?;
    Ok(Json(RelationshipState::new(&user, &rel)))
}

/// The users I block, newest first.
#[utoipa::path(get, path = "/blocked", tag = "social", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = Paged<UserSummary>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn blocked(
    State(ctx): State<AppContext>,
    me: Identity,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<UserSummary>>> {
    let page = graph::blocked(
        ctx.store.as_ref(),
        &me.user_id,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    Ok(Json(Paged::from_page(page, |u| UserSummary::from(&u))))
}
