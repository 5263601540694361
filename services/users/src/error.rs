//! What can go wrong in the users service, and the API error each becomes.

use axum::http::StatusCode;
use scooter_core::ValidationError;
use scooter_http::ApiError;
use scooter_store::StoreError;

/// Errors of the users service's domain functions.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// Another user holds the handle.
    #[error("handle taken")]
    HandleTaken,
    /// The address already has an account.
    #[error("email taken")]
    EmailTaken,
    /// Wrong address or password (never says which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The refresh token is unknown, expired or revoked.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A spent refresh token was presented again; its session is revoked.
    #[error("refresh token reused")]
    RefreshTokenReused,
    /// The invite code does not exist or was used; names the request field.
    #[error("invalid invite")]
    InvalidInvite(&'static str),
    /// The code is the caller's own.
    #[error("own invite")]
    OwnInvite,
    /// The caller already redeemed a code.
    #[error("already invited")]
    AlreadyInvited,
    /// The caller created all the codes the quota allows.
    #[error("invite quota exhausted")]
    InviteQuotaExhausted(u32),
    /// Accepting a terms version that is not the current one.
    #[error("terms version mismatch")]
    TermsVersionMismatch(String),
    /// The avatar key is not a ready avatar upload of mine.
    #[error("invalid avatar")]
    InvalidAvatar,
    /// The avatar upload has not finished.
    #[error("avatar not ready")]
    AvatarNotReady,
    /// Built-in sign-in is off (`AUTH` is not `local`).
    #[error("local sign-in disabled")]
    LocalAuthDisabled,
    /// The caller's account vanished during the request.
    #[error("account gone")]
    AccountGone,
    /// The address belonged to a suspended account that deleted itself.
    #[error("address barred")]
    AddressBarred,
    /// `scooterbooter token` for an address in `ADMIN_EMAILS` whose account was made by
    /// self-service sign-up: its owner is unproven, so the operator must not vouch for it.
    #[error(
        "the account for this address was created by self-service sign-up and its address is not verified; \
         it cannot be made an administrator (use another address, or delete that account)"
    )]
    UnverifiedAdminAddress,
    /// Hashing, signing or the random source failed.
    #[error("crypto failure: {0}")]
    Crypto(String),
}

impl From<StoreError> for UsersError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict("handle") => Self::HandleTaken,
            StoreError::Conflict("email") => Self::EmailTaken,
            other => Self::Store(other),
        }
    }
}

impl From<UsersError> for ApiError {
    fn from(e: UsersError) -> Self {
        use UsersError as E;
        match e {
            E::Invalid(v) => v.into(),
            E::Store(s) => s.into(),
            E::HandleTaken => ApiError {
                field: Some("handle".into()),
                ..ApiError::conflict("handle_taken", "that handle is taken")
            },
            E::EmailTaken => ApiError {
                field: Some("email".into()),
                ..ApiError::conflict(
                    "email_taken",
                    "an account with that email exists; log in instead",
                )
            },
            E::InvalidCredentials => {
                ApiError::unauthorized("invalid_credentials", "wrong email or password")
            }
            E::InvalidRefreshToken => ApiError::unauthorized(
                "invalid_refresh_token",
                "the refresh token is not valid; log in again",
            ),
            E::RefreshTokenReused => ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the session is revoked, log in again",
            ),
            E::InvalidInvite(field) => ApiError {
                field: Some(field.into()),
                ..ApiError::bad_request(
                    "invalid_invite",
                    "that invite code is not valid or was already used",
                )
            },
            E::OwnInvite => ApiError {
                field: Some("code".into()),
                ..ApiError::bad_request("own_invite", "you cannot redeem your own invite code")
            },
            E::AlreadyInvited => {
                ApiError::conflict("already_invited", "this account already redeemed an invite")
            }
            E::InviteQuotaExhausted(q) => ApiError::new(
                StatusCode::FORBIDDEN,
                "invite_quota_exhausted",
                format!("you have created all {q} of your invite codes"),
            ),
            E::TermsVersionMismatch(current) => ApiError {
                field: Some("version".into()),
                ..ApiError::bad_request(
                    "terms_version_mismatch",
                    format!("the current terms version is {current}"),
                )
            },
            E::InvalidAvatar => ApiError {
                field: Some("key".into()),
                ..ApiError::bad_request(
                    "invalid_media",
                    "key is not a finished avatar upload of yours",
                )
            },
            E::AvatarNotReady => {
                ApiError::conflict("media_not_ready", "the avatar upload has not finished")
            }
            E::LocalAuthDisabled => ApiError::new(
                StatusCode::NOT_FOUND,
                "local_auth_disabled",
                "built-in sign-in is turned off on this server",
            ),
            E::UnverifiedAdminAddress => {
                ApiError::forbidden("unverified_admin_address", "the address is not verified")
            }
            E::AccountGone => {
                ApiError::unauthorized("account_deleted", "this account has been deleted")
            }
            E::AddressBarred => ApiError::forbidden(
                "account_suspended",
                "this address belongs to a suspended account and cannot sign up again",
            ),
            E::Crypto(ref cause) => {
                tracing::error!(cause, "crypto failure");
                ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
