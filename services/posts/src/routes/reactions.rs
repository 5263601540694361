//! `/reactions/{postId}` and `/reactions/{postId}/{type}`.

use crate::domain::{reactions, view};
use crate::dto::{ReactionRequest, ReactionView, ToggleResponse};
use axum::extract::State;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Path, Publisher, Query,
    UserSummary,
};
use scooter_store::ReactionChange;

/// Who reacted to a post with what, newest first.
#[utoipa::path(get, path = "/reactions/{postId}", tag = "posts", security(("bearer" = [])),
    params(("postId" = String, Path, description = "Post id"), PageQuery),
    responses(
        (status = 200, body = Paged<ReactionView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn list_reactions(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(post_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<ReactionView>>> {
    let page = reactions::list(
        ctx.store.as_ref(),
        &me.user,
        &post_id,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    let users = view::users_by_id(
        ctx.store.as_ref(),
        page.items.iter().map(|r| r.user.clone()),
    )
    .await?;
    let items = page
        .items
        .iter()
        .filter_map(|r| {
            users.get(&r.user).map(|u| ReactionView {
                user: UserSummary::from(u),
                kind: r.kind,
                created_at: r.created_at,
            })
        })
        .collect();
    Ok(Json(Paged {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Add my reaction of a type, or remove it if I had it.
#[utoipa::path(post, path = "/reactions/{postId}", tag = "posts", security(("bearer" = [])),
    params(("postId" = String, Path, description = "Post id")), request_body = ReactionRequest,
    responses(
        (status = 200, body = ToggleResponse),
        (status = 400, description = "Unknown reaction type", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn toggle_reaction(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    Path(post_id): Path<String>,
    Json(req): Json<ReactionRequest>,
) -> ApiResult<Json<ToggleResponse>> {
    let t = reactions::change(
        ctx.store.as_ref(),
        &me.user,
        &post_id,
        req.kind,
        ReactionChange::Toggle,
    )
    .await?;
    Ok(Json(ToggleResponse {
        reacted: t.reacted,
        counts: t.counts,
    }))
}

/// Have my reaction of this type on a post. Idempotent: a retry changes nothing (where
/// `POST /reactions/{postId}`, a toggle, would take it back).
#[utoipa::path(put, path = "/reactions/{postId}/{type}", tag = "posts", security(("bearer" = [])),
    params(
        ("postId" = String, Path, description = "Post id"),
        ("type" = scooter_core::post::ReactionType, Path, description = "like, fire, scooter, laugh, wow or sad"),
    ),
    responses(
        (status = 200, description = "I have the reaction; the post's counts", body = ToggleResponse),
        (status = 400, description = "Unknown reaction type (`validation_failed`, field `type`)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such post, or hidden from me", body = ErrorEnvelope),
    ))]
pub async fn add_reaction(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    Path((post_id, kind)): Path<(String, String)>,
) -> ApiResult<Json<ToggleResponse>> {
    set(ctx, me, post_id, &kind, ReactionChange::Add).await
}

/// Not have my reaction of this type on a post. Idempotent.
#[utoipa::path(delete, path = "/reactions/{postId}/{type}", tag = "posts", security(("bearer" = [])),
    params(
        ("postId" = String, Path, description = "Post id"),
        ("type" = scooter_core::post::ReactionType, Path, description = "like, fire, scooter, laugh, wow or sad"),
    ),
    responses(
        (status = 200, description = "I do not have the reaction; the post's counts", body = ToggleResponse),
        (status = 400, description = "Unknown reaction type (`validation_failed`, field `type`)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such post, or hidden from me", body = ErrorEnvelope),
    ))]
pub async fn remove_reaction(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    Path((post_id, kind)): Path<(String, String)>,
) -> ApiResult<Json<ToggleResponse>> {
    set(ctx, me, post_id, &kind, ReactionChange::Remove).await
}

async fn set(
    ctx: AppContext,
    me: Identity,
    post_id: String,
    kind: &str,
    change: ReactionChange,
) -> ApiResult<Json<ToggleResponse>> {
    let kind = reactions::parse_kind(kind)?;
    let t = reactions::change(ctx.store.as_ref(), &me.user, &post_id, kind, change).await?;
    Ok(Json(ToggleResponse {
        reacted: t.reacted,
        counts: t.counts,
    }))
}
