//! What can go wrong in the posts service, and the API error each becomes.

use axum::http::StatusCode;
use scooter_core::ValidationError;
use scooter_http::ApiError;
use scooter_store::StoreError;

/// Errors of the posts service's domain functions.
#[derive(Debug, thiserror::Error)]
pub enum PostsError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing or hidden (never says which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Visible, but not the caller's to change.
    #[error("not allowed")]
    NotAllowed(&'static str),
    /// The `Idempotency-Key` was used before for a different request.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// An attached upload cannot be used.
    #[error(transparent)]
    Media(scooter_media_service::error::MediaServiceError),
}

impl From<PostsError> for ApiError {
    fn from(e: PostsError) -> Self {
        match e {
            PostsError::Invalid(v) => v.into(),
            PostsError::Store(s) => s.into(),
            PostsError::NotFound(what) => ApiError::not_found(what),
            PostsError::NotAllowed(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", why),
            PostsError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key",
            ),
            PostsError::Media(scooter_media_service::error::MediaServiceError::NotFound) => {
                ApiError {
                    field: Some("media".into()),
                    ..ApiError::bad_request(
                        "invalid_media",
                        "a media key is not a ready upload of yours for posts",
                    )
                }
            }
            PostsError::Media(m) => ApiError {
                field: Some("media".into()),
                ..ApiError::from(m)
            },
        }
    }
}
