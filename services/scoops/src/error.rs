//! What can go wrong in the scoops service, and the API error each becomes.

use scooter_core::ValidationError;
use scooter_http::ApiError;
use scooter_store::StoreError;

/// Errors of the scoops service's domain functions.
#[derive(Debug, thiserror::Error)]
pub enum ScoopsError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing, expired or hidden (never says which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The media cannot be used for a scoop.
    #[error(transparent)]
    Media(scooter_media_service::error::MediaServiceError),
    /// Visible, but not the caller's to delete.
    #[error("not allowed")]
    NotAllowed,
}

impl From<ScoopsError> for ApiError {
    fn from(e: ScoopsError) -> Self {
        match e {
            ScoopsError::Invalid(v) => v.into(),
            ScoopsError::Store(s) => s.into(),
            ScoopsError::NotFound(what) => ApiError::not_found(what),
            ScoopsError::Media(scooter_media_service::error::MediaServiceError::NotFound) => {
                ApiError {
                    field: Some("mediaKey".into()),
                    ..ApiError::bad_request(
                        "invalid_media",
                        "mediaKey is not a ready scoop upload of yours",
                    )
                }
            }
            ScoopsError::Media(m) => ApiError {
                field: Some("mediaKey".into()),
                ..ApiError::from(m)
            },
            ScoopsError::NotAllowed => ApiError::forbidden(
                "forbidden",
                "only the scoop's author or an administrator can delete it",
            ),
        }
    }
}
