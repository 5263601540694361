//! `/posts` and `/posts/{id}`.

use crate::domain::{posts, view};
use crate::dto::{CreatePostRequest, PostView};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_http::extract::IdempotencyKey;
use scooter_http::{
    ApiError, ApiResult, AppContext, ErrorEnvelope, Identity, Json, Path, Publisher,
};

async fn one(
    ctx: &AppContext,
    me: &Identity,
    post: scooter_core::post::Post,
) -> ApiResult<Json<PostView>> {
    let mut views = view::render(ctx.store.as_ref(), &me.user_id, vec![post]).await?;
    views
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("post"))
}

/// Create a post. Send `Idempotency-Key` to make a retry create nothing new.
#[utoipa::path(post, path = "/posts", tag = "posts", security(("bearer" = [])), request_body = CreatePostRequest,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]{1,255}$", description = "Retries of the same request with the same key return the first post; the key with a different request answers 422")),
    responses(
        (status = 201, body = PostView),
        (status = 400, description = "Blank or too long text, or more than 10 media (`validation_failed`); a media key that is not a ready upload of mine for posts (`invalid_media`)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 422, description = "The Idempotency-Key was used before for a different request (`idempotency_key_reused`)", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn create_post(
    State(ctx): State<AppContext>,
    Publisher(me): Publisher,
    IdempotencyKey(key): IdempotencyKey,
    Json(req): Json<CreatePostRequest>,
) -> ApiResult<(StatusCode, Json<PostView>)> {
    ctx.limiters
        .post_per_account
        .check(me.user_id.as_str())
        .await?;
    let post = posts::create(
        ctx.store.as_ref(),
        &me.user,
        &req.text,
        &req.media,
        key.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, one(&ctx, &me, post).await?))
}

/// One post.
#[utoipa::path(get, path = "/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    responses(
        (status = 200, body = PostView),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "Missing, or hidden by a block or suspension", body = ErrorEnvelope),
    ))]
pub async fn get_post(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(id): Path<String>,
) -> ApiResult<Json<PostView>> {
    let post = posts::get(ctx.store.as_ref(), &me.user, &id).await?;
    one(&ctx, &me, post).await
}

/// Delete a post (its author or an administrator), with its comments and reactions.
#[utoipa::path(delete, path = "/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorEnvelope),
        (status = 403, description = "Not yours", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn delete_post(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    posts::delete(ctx.store.as_ref(), &me.user, me.is_admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
