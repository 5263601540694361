//! What can go wrong in the social service, and the API error each becomes.

use axum::http::StatusCode;
use scooter_core::ValidationError;
use scooter_http::ApiError;
use scooter_store::StoreError;

/// Errors of the social service's domain functions.
#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such user, or one the caller may not see (never says which).
    #[error("user not found")]
    UserNotFound,
    /// No such report.
    #[error("report not found")]
    ReportNotFound,
    /// The reported thing does not exist (or is hidden).
    #[error("report target not found")]
    TargetNotFound,
    /// Following, blocking or reporting yourself.
    #[error("cannot target self")]
    SelfTarget,
    /// Neither or both of `userId` and `handle`.
    #[error("name exactly one user")]
    AmbiguousTarget,
    /// The report was already decided.
    #[error("already resolved")]
    AlreadyResolved,
    /// The action does not fit the report's target.
    #[error("action not applicable")]
    ActionNotApplicable(&'static str),
    /// The account the action would hit no longer exists.
    #[error("target gone")]
    TargetGone,
}

impl From<SocialError> for ApiError {
    fn from(e: SocialError) -> Self {
        use SocialError as E;
        match e {
            E::Invalid(v) => v.into(),
            E::Store(s) => s.into(),
            E::UserNotFound => ApiError::not_found("user"),
            E::ReportNotFound => ApiError::not_found("report"),
            E::TargetNotFound => ApiError {
                field: Some("targetId".into()),
                ..ApiError::not_found("report target")
            },
            E::SelfTarget => {
                ApiError::bad_request("cannot_target_self", "you cannot do that to yourself")
            }
            E::AmbiguousTarget => {
                ApiError::bad_request("validation_failed", "give exactly one of userId and handle")
            }
            E::AlreadyResolved => {
                ApiError::conflict("already_resolved", "this report was already resolved")
            }
            E::ActionNotApplicable(why) => ApiError {
                field: Some("action".into()),
                ..ApiError::bad_request("action_not_applicable", why)
            },
            E::TargetGone => ApiError::new(
                StatusCode::CONFLICT,
                "target_gone",
                "the reported account no longer exists; dismiss the report",
            ),
        }
    }
}
