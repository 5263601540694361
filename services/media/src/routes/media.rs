//! `/process-video`, `/media/{key}` and `/media/{key}/complete`.

use crate::domain::{manage, uploads};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Identity, Json, MediaView, Path};
use serde::Deserialize;
use utoipa::ToSchema;

/// `POST /process-video`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProcessVideoRequest {
    /// The uploaded video's key.
    pub key: String,
}

/// Transcode my uploaded video (H.264/AAC MP4, at most 1080p, with a poster frame).
/// Optional: a finished video upload is queued for this by itself; the route (kept from
/// the original API) queues it again, idempotently, and answers 503 when FFmpeg is
/// missing. Poll `GET /media/{key}` until `status` is `ready` or `failed`.
#[utoipa::path(post, path = "/process-video", tag = "media", security(("bearer" = [])),
    request_body = ProcessVideoRequest,
    responses(
        (status = 202, body = MediaView),
        (status = 400, description = "Not a video", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Not uploaded yet", body = ErrorEnvelope),
        (status = 503, description = "FFmpeg is not installed", body = ErrorEnvelope),
    ))]
pub async fn process_video(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<ProcessVideoRequest>,
) -> ApiResult<(StatusCode, Json<MediaView>)> {
    let m = manage::process_video(ctx.store.as_ref(), &ctx.media, &me.user_id, &req.key).await?;
    Ok((StatusCode::ACCEPTED, Json(MediaView::from(&m))))
}

/// Complete my upload, once its bytes are sent to the `uploadUrl` of its ticket. Bytes
/// sent straight to the bucket (S3) are checked here: the size, and the type the bytes
/// show against the declared one; a refused file is deleted and never served. Images
/// are cleaned (EXIF and GPS removed) and thumbnailed before this answers; videos are
/// queued for their transcode (poll `GET /media/{key}`). Bytes sent through this
/// server were checked as they arrived, and this answers their state. A repeat answers
/// the same.
#[utoipa::path(post, path = "/media/{key}/complete", tag = "media", security(("bearer" = [])),
    params(("key" = String, Path, description = "The upload key")),
    responses(
        (status = 200, body = MediaView),
        (status = 400, description = "The file is not what was declared (size or type); the upload failed", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such upload of mine", body = ErrorEnvelope),
        (status = 409, description = "Nothing uploaded yet, or being completed", body = ErrorEnvelope),
    ))]
pub async fn complete(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(path): Path<String>,
) -> ApiResult<Json<MediaView>> {
    // Mounted on `/media/{*key}` (a key has slashes, and a catch-all ends the route):
    // only `…/complete` is a POST route.
    let key = path
        .strip_suffix("/complete")
        .ok_or_else(|| scooter_http::ApiError::not_found("route"))?;
    let m = uploads::complete(ctx.store.as_ref(), &ctx.media, &me.user_id, key).await?;
    Ok(Json(MediaView::from(&m)))
}

/// The state of my upload.
#[utoipa::path(get, path = "/media/{key}", tag = "media", security(("bearer" = [])),
    params(("key" = String, Path, description = "The upload key")),
    responses(
        (status = 200, body = MediaView),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such upload of mine", body = ErrorEnvelope),
    ))]
pub async fn status(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(key): Path<String>,
) -> ApiResult<Json<MediaView>> {
    let m = manage::mine(ctx.store.as_ref(), &me.user_id, &key).await?;
    Ok(Json(MediaView::from(&m)))
}

/// Delete my upload and its files; posts that used it show it as removed.
#[utoipa::path(delete, path = "/media/{key}", tag = "media", operation_id = "delete_media", security(("bearer" = [])),
    params(("key" = String, Path, description = "The upload key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn delete(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    manage::delete(ctx.store.as_ref(), &me.user_id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
