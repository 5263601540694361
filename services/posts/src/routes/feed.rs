//! `/feed` and `/u/{handle}/posts`.

use crate::domain::{feed, view};
use crate::dto::PostView;
use axum::extract::State;
use scooter_core::page::Page;
use scooter_core::post::Post;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Path, Query,
};

async fn render(
    ctx: &AppContext,
    me: &Identity,
    page: Page<Post>,
) -> ApiResult<Json<Paged<PostView>>> {
    let items = view::render(ctx.store.as_ref(), &me.user_id, page.items).await?;
    Ok(Json(Paged {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// My posts and the posts of everyone I follow, newest first.
#[utoipa::path(get, path = "/feed", tag = "posts", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = Paged<PostView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn home_feed(
    State(ctx): State<AppContext>,
    me: Identity,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<PostView>>> {
    let page = feed::home(
        ctx.store.as_ref(),
        ctx.timelines,
        &me.user,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    render(&ctx, &me, page).await
}

/// One user's posts, newest first.
#[utoipa::path(get, path = "/u/{handle}/posts", tag = "posts", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle"), PageQuery),
    responses(
        (status = 200, body = Paged<PostView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such user, suspended, or hidden by a block", body = ErrorEnvelope),
    ))]
pub async fn user_posts(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<PostView>>> {
    let page = feed::by_handle(
        ctx.store.as_ref(),
        &me.user,
        &handle,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    render(&ctx, &me, page).await
}
