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
    /// Media in a post before the media service exists.
    #[error("media not supported")]
    MediaNotSupported,
}

impl From<PostsError> for ApiError {
    fn from(e: PostsError) -> Self {
        match e {
            PostsError::Invalid(v) => v.into(),
            PostsError::Store(s) => s.into(),
            PostsError::NotFound(what) => ApiError::not_found(what),
            PostsError::NotAllowed(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", why),
            PostsError::MediaNotSupported => ApiError {
                field: Some("media".into()),
                ..ApiError::bad_request(
                    "media_not_supported",
                    "posts cannot carry media yet on this server; send text only",
                )
            },
        }
    }
}
