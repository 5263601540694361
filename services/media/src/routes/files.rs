//! `GET /files/{key}`: stored files, with single byte ranges (mobile video players
//! seek), a strong ETag, and long-lived caching (a key's content never changes).
//! Only what the server made is served: cleaned images, transcoded videos and their
//! thumbnails, once their upload is `ready`; a video's raw upload (whatever its bytes,
//! whatever metadata it carries) never is. Files are marked `nosniff` and sandboxed by
//! their Content-Security-Policy, so nothing served can run as a page. Files in a
//! bucket are not streamed through the server: the answer redirects to the bucket.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scooter_core::media::MediaStatus;
use scooter_http::{ApiError, ApiResult, AppContext, ErrorEnvelope, Path};
use scooter_media::MediaError;
use scooter_media::blobs::Located;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range against `len`.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (s, "") => (s.parse().ok()?, len - 1),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

/// A file stored in a bucket: a temporary redirect to a short-lived presigned URL (or
/// the CDN's), which clients follow by themselves; ranges go there.
fn redirect(url: &str) -> ApiResult<Response> {
    let location = HeaderValue::from_str(url).map_err(|e| ApiError::internal(&e))?;
    let mut res = StatusCode::TEMPORARY_REDIRECT.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, location);
    // The presigned URL expires: a cache may keep the redirect only briefly.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(res)
}

/// A stored file.
#[utoipa::path(get, path = "/files/{key}", tag = "media",
    params(("key" = String, Path, description = "The file's key (from a media `url` or `thumbnailUrl`)")),
    responses(
        (status = 200, description = "The file, typed by its extension (`.jpg`, `.png`, `.webp`, `.mp4`)", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
            (Vec<u8> = "video/mp4"), (Vec<u8> = "application/octet-stream"),
        )),
        (status = 206, description = "The requested byte range", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
            (Vec<u8> = "video/mp4"), (Vec<u8> = "application/octet-stream"),
        )),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 307, description = "Stored in a bucket: fetch it from `Location` (a short-lived presigned URL, or the CDN's)"),
        (status = 404, body = ErrorEnvelope),
        (status = 416, description = "Unsatisfiable range", body = ErrorEnvelope),
    ))]
pub async fn serve(
    State(ctx): State<AppContext>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let original = scooter_media::blobs::upload_of(&key);
    let servable = ctx
        .store
        .get_media(original)
        .await?
        .is_some_and(|m| m.status == MediaStatus::Ready);
    if !servable {
        return Err(ApiError::not_found("file"));
    }
    let path = match ctx.media.blobs.locate(&key).await {
        Ok(Located::File(path)) => path,
        Ok(Located::Redirect(url)) => return redirect(&url),
        Err(MediaError::Rejected(_)) => return Err(ApiError::not_found("file")),
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiError::not_found("file"))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| ApiError::internal(&e))?
        .len();
    let etag = format!(
        "\"{}\"",
        &format!("{:x}", Sha256::digest(format!("{key}:{len}")))[..32]
    );
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| ApiError::internal(&e))?;
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        res.headers_mut().insert(header::ETAG, etag_value);
        return Ok(res);
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
        Some(r) => match parse_range(r, len) {
            Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e),
            None => {
                let mut err = ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
                    "bad Range",
                );
                err.field = Some("Range".into());
                let mut res = err.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    res.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(res);
            }
        },
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let body = Body::from_stream(ReaderStream::new(file.take(count)));
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(scooter_media::blobs::stored_type(&key)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, etag_value);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_parsed_and_bounded() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
