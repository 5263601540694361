//! What can go wrong in the media service, and the API error each becomes.

use axum::http::StatusCode;
use scooter_core::ValidationError;
use scooter_http::ApiError;
use scooter_media::MediaError;
use scooter_store::StoreError;

/// Errors of the media service's domain functions.
#[derive(Debug, thiserror::Error)]
pub enum MediaServiceError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such upload, or not the caller's.
    #[error("media not found")]
    NotFound,
    /// The signature does not match the upload.
    #[error("bad signature")]
    BadSignature,
    /// The upload URL expired.
    #[error("expired")]
    Expired,
    /// Bytes already arrived for this key.
    #[error("already uploaded")]
    AlreadyUploaded,
    /// The upload is not in a state that allows this.
    #[error("wrong state: {0}")]
    WrongState(&'static str),
    /// The file was refused (type, size, content).
    #[error("{0}")]
    Rejected(String),
    /// FFmpeg is not installed.
    #[error("video processing is off")]
    VideoOff,
    /// The upload's owner was suspended after the URL was issued.
    #[error("owner suspended")]
    OwnerSuspended,
    /// Storage or processing failed.
    #[error("{0}")]
    Internal(String),
    /// The disk is full; nothing was kept and the upload may be retried.
    #[error("out of storage space: {0}")]
    StorageFull(String),
}

impl From<MediaError> for MediaServiceError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Rejected(why) => Self::Rejected(why),
            MediaError::Internal(why) => Self::Internal(why),
            MediaError::StorageFull(why) => Self::StorageFull(why),
        }
    }
}

impl From<MediaServiceError> for ApiError {
    fn from(e: MediaServiceError) -> Self {
        use MediaServiceError as E;
        match e {
            E::Invalid(v) => v.into(),
            E::Store(s) => s.into(),
            E::NotFound => ApiError::not_found("media"),
            E::BadSignature => ApiError::forbidden(
                "invalid_signature",
                "the upload URL's signature does not match",
            ),
            E::Expired => ApiError::forbidden(
                "upload_url_expired",
                "the upload URL has expired; ask for a new one",
            ),
            E::OwnerSuspended => ApiError::forbidden(
                "account_suspended",
                "this account is suspended; its upload URLs no longer work",
            ),
            E::AlreadyUploaded => {
                ApiError::conflict("already_uploaded", "this key was already uploaded")
            }
            E::WrongState(why) => ApiError::conflict("media_not_ready", why),
            E::Rejected(why) => ApiError::bad_request("invalid_media", why),
            E::VideoOff => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "video_processing_off",
                "video processing is off on this server (FFmpeg is not installed)",
            ),
            E::StorageFull(why) => {
                tracing::error!(error = %why, "media storage full");
                ApiError::insufficient_storage()
            }
            E::Internal(why) => {
                tracing::error!(error = %why, "media failure");
                ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
