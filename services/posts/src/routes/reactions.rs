//! `/reactions/{postId}`.

use crate::domain::{reactions, view};
use crate::dto::{ReactionRequest, ReactionView, ToggleResponse};
use axum::extract::State;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Path, Query,
    UserSummary,
};

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
    me: Identity,
    Path(post_id): Path<String>,
    Json(req): Json<ReactionRequest>,
) -> ApiResult<Json<ToggleResponse>> {
    let t = reactions::toggle(ctx.store.as_ref(), &me.user, &post_id, req.kind).await?;
    Ok(Json(ToggleResponse {
        reacted: t.reacted,
        counts: t.counts,
    }))
}
