//! Who is calling. The `Identity` extractor verifies the bearer token, loads (or, on
//! first sight, creates) the user's profile from its claims (or, when the token carries
//! no address, as Cognito's do, from the identity provider, asked once), and refuses
//! deleted accounts; deletion and suspension are read from the database on every
//! request, so a deleted account's still-unexpired token stops working at once.
//! `Identity` also enforces `INVITE_ONLY` and makes a suspended account read-only (403
//! `account_suspended` on every method but GET and HEAD); `UngatedIdentity` does not,
//! for the few routes every account may use (read `/me`, redeem a code, delete the
//! account). `Publisher` adds onboarding: routes that publish (posts, comments,
//! reactions, scoops, follows) need a handle and the current terms accepted.

use crate::context::AppContext;
use crate::error::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use scooter_auth::{AuthError, ProfileError, VerifiedToken};
use scooter_core::user::{NewUser, User};
use scooter_core::{Email, Timestamp, UserId};
use scooter_store::EnsureOutcome;

/// An authenticated, onboarded-enough caller.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The caller's id (`sub`).
    pub user_id: UserId,
    /// The caller's address.
    pub email: Email,
    /// Whether the caller is an administrator.
    pub is_admin: bool,
    /// The caller's full record, as read for this request.
    pub user: User,
    /// The built-in sign-in's session the access token was issued in (`sid`).
    pub session: Option<String>,
}

/// An authenticated caller who may not have redeemed an invite yet.
#[derive(Debug, Clone)]
pub struct UngatedIdentity(pub Identity);

/// The outcome of checking the request's bearer token, kept in the request's extensions
/// by the first layer that needs it (the rate limit), so the token is verified once per
/// request however many layers look at it. Only the server puts it there.
#[derive(Debug, Clone)]
pub(crate) struct BearerCheck(pub Result<VerifiedToken, AuthError>);

/// Verifies the request's bearer token once: the outcome already in `parts`, if a layer
/// before recorded it, or a fresh verification, recorded for the layers after.
pub(crate) async fn check_bearer(
    parts: &mut Parts,
    ctx: &AppContext,
) -> Result<Result<VerifiedToken, AuthError>, ApiError> {
    if let Some(BearerCheck(done)) = parts.extensions.get::<BearerCheck>() {
        return Ok(done.clone());
    }
    let token = bearer(parts)?;
    let outcome = ctx.verifier.verify(token).await;
    parts.extensions.insert(BearerCheck(outcome.clone()));
    Ok(outcome)
}

pub(crate) fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        )
    };
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Missing => ApiError::unauthorized(
            "missing_token",
            "an Authorization: Bearer token is required",
        ),
        AuthError::Expired => {
            ApiError::unauthorized("token_expired", "the access token has expired; refresh it")
        }
        AuthError::KeysUnavailable => ApiError::unavailable(),
        AuthError::Malformed | AuthError::UnknownKey | AuthError::Invalid(_) => {
            tracing::info!(reason = %e, "token refused");
            ApiError::unauthorized("invalid_token", "the access token is not valid")
        }
    }
}

/// The address a new profile is made with: the token's, else the identity provider's
/// (asked once, on first sight: Cognito's access tokens never carry one).
async fn first_sight_email(
    parts: &Parts,
    ctx: &AppContext,
    verified: &VerifiedToken,
) -> Result<(Email, bool), ApiError> {
    if let Some(email) = &verified.email {
        return Ok((email.clone(), verified.email_verified));
    }
    let Some(profiles) = ctx.profiles.as_ref() else {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "the token carries no email to create a profile from",
        ));
    };
    let profile = profiles
        .profile(bearer(parts)?, &verified.user_id)
        .await
        .map_err(|e| match e {
            ProfileError::Refused(_) => {
                tracing::info!(reason = %e, "token refused by the identity provider");
                ApiError::unauthorized("invalid_token", "the access token is not valid")
            }
            ProfileError::Unavailable(_) => {
                tracing::warn!(error = %e, "cannot ask the identity provider for a new user's address");
                ApiError::unavailable()
            }
        })?;
    // A profile needs an address: admins are named by address, and a suspended
    // account's address is barred from coming back under a new account.
    let email = profile.email.ok_or_else(|| {
        ApiError::forbidden(
            "email_required",
            "your account at the sign-in provider has no email address: add one, then sign in again",
        )
    })?;
    Ok((email, profile.email_verified))
}

async fn resolve(parts: &mut Parts, ctx: &AppContext) -> Result<Identity, ApiError> {
    let verified = check_bearer(parts, ctx).await?.map_err(auth_error)?;
    let outcome = match ctx.store.get_user(&verified.user_id).await? {
        Some(user) => EnsureOutcome::Active(Box::new(user)),
        None => {
            let (email, email_verified) = first_sight_email(parts, ctx, &verified).await?;
            // A new profile (Cognito's first sight) for an address whose suspended
            // account deleted itself is refused, as a sign-up would be.
            if ctx
                .store
                .is_address_barred(&scooter_auth::address_digest(&email))
                .await?
            {
                return Err(ApiError::forbidden(
                    "account_suspended",
                    "this address belongs to a suspended account",
                ));
            }
            let new = NewUser {
                id: verified.user_id.clone(),
                email,
                email_verified,
                created_at: Timestamp::now(),
            };
            ctx.store.ensure_user(new).await?
        }
    };
    let EnsureOutcome::Active(user) = outcome else {
        return Err(ApiError::unauthorized(
            "account_deleted",
            "this account has been deleted",
        ));
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    Ok(Identity {
        user_id: user.id.clone(),
        email: user.email.clone(),
        // A listed, verified address, or (Cognito) the admin group in this token.
        is_admin: user.is_admin(&ctx.policy) || verified.in_admin_group,
        user: *user,
        session: verified.session,
    })
}

impl<S> FromRequestParts<S> for UngatedIdentity
where
    AppContext: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = AppContext::from_ref(state);
        resolve(parts, &ctx).await.map(UngatedIdentity)
    }
}

impl<S> FromRequestParts<S> for Identity
where
    AppContext: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let UngatedIdentity(identity) = UngatedIdentity::from_request_parts(parts, state).await?;
        let ctx = AppContext::from_ref(state);
        let reading = parts.method == Method::GET || parts.method == Method::HEAD;
        if let Some(s) = identity.user.suspension.as_ref().filter(|_| !reading) {
            return Err(ApiError::forbidden(
                "account_suspended",
                format!(
                    "this account is suspended ({}); it can read but not write",
                    s.reason
                ),
            ));
        }
        if identity.user.needs_invite(&ctx.policy) && !identity.is_admin {
            return Err(ApiError::forbidden(
                "invite_required",
                "this server is invite-only: redeem an invite code first (POST /me/invite/redeem)",
            ));
        }
        Ok(identity)
    }
}

/// A caller who finished onboarding: a handle chosen and the current terms accepted.
/// Routes that publish take it, so nothing is shown under `handle: null` or from an
/// account that never saw the terms; anyone else gets 403 `onboarding_required`,
/// naming what is missing.
#[derive(Debug, Clone)]
pub struct Publisher(pub Identity);

impl<S> FromRequestParts<S> for Publisher
where
    AppContext: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let identity = Identity::from_request_parts(parts, state).await?;
        let ctx = AppContext::from_ref(state);
        let todo = identity.user.onboarding(&ctx.policy);
        let missing = match (todo.needs_handle, todo.needs_terms) {
            (false, false) => return Ok(Publisher(identity)),
            (true, false) => "choose a handle first (POST /username)",
            (false, true) => {
                "accept the current terms first (GET /terms, then POST /me/accept-terms)"
            }
            (true, true) => {
                "choose a handle (POST /username) and accept the current terms \
                 (GET /terms, then POST /me/accept-terms) first"
            }
        };
        Err(ApiError::forbidden("onboarding_required", missing))
    }
}

/// An administrator (`ADMIN_EMAILS`, verified address; under Cognito also a member of
/// `ADMIN_GROUP`). Every admin route takes this extractor, so admin routes deny by
/// default: anyone else gets 403 `admin_only`.
#[derive(Debug, Clone)]
pub struct Admin(pub Identity);

impl<S> FromRequestParts<S> for Admin
where
    AppContext: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let identity = Identity::from_request_parts(parts, state).await?;
        if !identity.is_admin {
            return Err(ApiError::forbidden(
                "admin_only",
                "this route is for administrators",
            ));
        }
        Ok(Admin(identity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(auth: Option<&str>) -> Parts {
        let mut b = Request::builder();
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer(&parts(Some("Bearer abc"))).ok(), Some("abc"));
        assert_eq!(bearer(&parts(Some("bearer abc"))).ok(), Some("abc"));
        assert!(bearer(&parts(Some("Basic abc"))).is_err());
        assert!(bearer(&parts(Some("Bearer "))).is_err());
        assert!(bearer(&parts(None)).is_err());
    }
}
