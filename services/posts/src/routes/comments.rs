//! `/comments/{postId}` and `/comments/{postId}/{commentId}`.

use crate::domain::{comments, view};
use crate::dto::{CommentRequest, CommentView};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_core::post::Comment;
use scooter_http::extract::IdempotencyKey;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Path, Publisher, Query,
    UserSummary,
};

async fn render(ctx: &AppContext, items: Vec<Comment>) -> ApiResult<Vec<CommentView>> {
    let authors =
        view::users_by_id(ctx.store.as_ref(), items.iter().map(|c| c.author.clone())).await?;
    Ok(items
        .iter()
        .filter_map(|c| {
            authors
                .get(&c.author)
                .map(|a| CommentView::new(c, UserSummary::from(a)))
        })
        .collect())
}

/// Comments on a post, oldest first.
#[utoipa::path(get, path = "/comments/{postId}", tag = "posts", security(("bearer" = [])),
    params(("postId" = String, Path, description = "Post id"), PageQuery),
    responses(
        (status = 200, body = Paged<CommentView>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn list_comments(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(post_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<CommentView>>> {
    let page = comments::list(
        ctx.store.as_ref(),
        &me.user,
        &post_id,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    let items = render(&ctx, page.items).await?;
    Ok(Json(Paged {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// Comment on a post. Send `Idempotency-Key` to make a retry create nothing new.
#[utoipa::path(post, path = "/comments/{postId}", tag = "posts", security(("bearer" = [])),
    params(
        ("postId" = String, Path, description = "Post id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]{1,255}$", description = "Retries of the same request with the same key return the first comment; the key with a different request answers 422"),
    ),
    request_body = CommentRequest,
    responses(
        (status = 201, body = CommentView),
        (status = 422, description = "The Idempotency-Key was used before for a different request (`idempotency_key_reused`)", body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn add_comment(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    Path(post_id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    Json(req): Json<CommentRequest>,
) -> ApiResult<(StatusCode, Json<CommentView>)> {
    ctx.limiters
        .post_per_account
        .check(me.user_id.as_str())
        .await?;
    let comment = comments::add(
        ctx.store.as_ref(),
        &me.user,
        &post_id,
        &req.text,
        key.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CommentView::new(&comment, UserSummary::from(&me.user))),
    ))
}

/// Delete a comment (its author, the post's author, or an administrator).
#[utoipa::path(delete, path = "/comments/{postId}/{commentId}", tag = "posts", security(("bearer" = [])),
    params(("postId" = String, Path, description = "Post id"), ("commentId" = String, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn delete_comment(
    State(ctx): State<AppContext>,
    me: Identity,
    Path((post_id, comment_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    comments::delete(
        ctx.store.as_ref(),
        &me.user,
        me.is_admin,
        &post_id,
        &comment_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
