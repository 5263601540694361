//! `/upload-url`, `/avatar-url` and `PUT /uploads/{key}`.

use crate::domain::uploads::{self, Incoming, Ticket};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures_util::TryStreamExt;
use scooter_core::Timestamp;
use scooter_core::media::MediaPurpose;
use scooter_http::{
    ApiError, ApiResult, AppContext, ErrorEnvelope, Identity, Json, MediaView, Path, Query,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// What may be uploaded for a post or a scoop.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadPurpose {
    /// Attached to a post.
    Post,
    /// A scoop.
    Scoop,
}

/// The types an upload can declare, as the document lists them. The server also takes
/// them in any letter case and with parameters (`image/jpeg; q=1`); a client sends
/// these.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // Only its schema is used: the body field stays a string.
enum UploadContentType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
    /// Stored as JPEG.
    #[serde(rename = "image/heic")]
    Heic,
    #[serde(rename = "video/mp4")]
    Mp4,
    #[serde(rename = "video/quicktime")]
    Quicktime,
}

/// The image types an avatar can declare (see [`UploadContentType`]).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // Only its schema is used.
enum AvatarContentType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
    /// Stored as JPEG.
    #[serde(rename = "image/heic")]
    Heic,
}

/// `POST /upload-url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"contentType": "image/jpeg", "size": 482133, "purpose": "post"}))]
pub struct UploadUrlRequest {
    /// image/jpeg, image/png, image/webp, image/heic (stored as JPEG), video/mp4 or
    /// video/quicktime.
    #[schema(value_type = UploadContentType)]
    pub content_type: String,
    /// Exact size in bytes (images up to 15 MB, videos up to 200 MB).
    #[schema(minimum = 1, maximum = 209_715_200)]
    pub size: u64,
    /// post or scoop.
    pub purpose: UploadPurpose,
}

/// `POST /avatar-url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AvatarUrlRequest {
    /// An image type.
    #[schema(value_type = AvatarContentType)]
    pub content_type: String,
    /// Exact size in bytes (up to 15 MB).
    #[schema(minimum = 1, maximum = 15_728_640)]
    pub size: u64,
}

/// Where and how to upload.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadTicket {
    /// The key the file will have (use it in posts, scoops, avatars).
    pub key: String,
    /// Where to send the bytes: relative to the API origin (`/uploads/...`), or an
    /// absolute presigned URL of the bucket when files are stored in S3.
    pub upload_url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// Headers to send, exactly.
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: Timestamp,
    /// Where to `POST` (with the bearer token) once the bytes are sent: it answers the
    /// checked Media, in every storage shape.
    pub complete_url: String,
}

impl From<Ticket> for UploadTicket {
    fn from(t: Ticket) -> Self {
        Self {
            complete_url: format!("/media/{}/complete", t.key),
            key: t.key,
            upload_url: t.url,
            method: "PUT",
            headers: t.headers.into_iter().collect(),
            expires_at: t.expires_at,
        }
    }
}

/// Get a signed URL to upload a post or scoop image or video.
#[utoipa::path(post, path = "/upload-url", tag = "media", security(("bearer" = [])), request_body = UploadUrlRequest,
    responses(
        (status = 200, body = UploadTicket),
        (status = 400, description = "Type not accepted, or size out of range", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn upload_url(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<UploadUrlRequest>,
) -> ApiResult<Json<UploadTicket>> {
    let purpose = match req.purpose {
        UploadPurpose::Post => MediaPurpose::Post,
        UploadPurpose::Scoop => MediaPurpose::Scoop,
    };
    let t = uploads::issue(
        ctx.store.as_ref(),
        &ctx.media,
        &me.user_id,
        &req.content_type,
        req.size,
        purpose,
    )
    .await?;
    Ok(Json(t.into()))
}

/// Get a signed URL to upload an avatar image.
#[utoipa::path(post, path = "/avatar-url", tag = "media", security(("bearer" = [])), request_body = AvatarUrlRequest,
    responses(
        (status = 200, body = UploadTicket),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn avatar_url(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<AvatarUrlRequest>,
) -> ApiResult<Json<UploadTicket>> {
    let store = ctx.store.as_ref();
    let t = uploads::issue(
        store,
        &ctx.media,
        &me.user_id,
        &req.content_type,
        req.size,
        MediaPurpose::Avatar,
    )
    .await?;
    Ok(Json(t.into()))
}

/// The signature query of an upload URL.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    /// Unix seconds after which the URL fails.
    pub expires: i64,
    /// HMAC of the upload.
    pub signature: String,
}

/// Upload the bytes (the URL from `/upload-url` is the credential; no bearer token).
/// Images are checked, cleaned of metadata and thumbnailed before this answers.
#[utoipa::path(put, path = "/uploads/{key}", tag = "media",
    params(("key" = String, Path, description = "The upload key"), Signed),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, exactly as signed"),
    responses(
        (status = 200, body = MediaView),
        (status = 400, description = "Wrong type or size, or not a usable file", body = ErrorEnvelope),
        (status = 403, description = "Bad or expired signature", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Already uploaded", body = ErrorEnvelope),
    ))]
pub async fn receive(
    State(ctx): State<AppContext>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<MediaView>> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let incoming = Incoming {
        key,
        expires: signed.expires,
        signature: signed.signature,
        content_type: header(CONTENT_TYPE).unwrap_or_default().to_owned(),
        content_length: header(CONTENT_LENGTH).and_then(|v| v.parse().ok()),
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let media = uploads::receive(ctx.store.as_ref(), &ctx.media, incoming, Box::pin(stream))
        .await
        .map_err(ApiError::from)?;
    Ok(Json(MediaView::from(&media)))
}
