//! `/me`, its sub-resources, `/username` and `/terms`.

use crate::domain::profile;
use crate::dto::{
    AcceptTermsRequest, AvailabilityQuery, AvailabilityResponse, AvatarRequest, MeResponse,
    PatchMeRequest, PatchPreferencesRequest, TermsResponse, UsernameRequest,
};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_core::user::NotificationPrefs;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Identity, Json, Query, UngatedIdentity};

/// My profile, counts and onboarding state.
#[utoipa::path(get, path = "/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "No or bad token", body = ErrorEnvelope),
    ))]
pub async fn get_me(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
) -> Json<MeResponse> {
    Json(MeResponse::new(&me.user, &ctx.policy, me.is_admin))
}

/// Update my display name and bio.
#[utoipa::path(patch, path = "/me", tag = "users", security(("bearer" = [])), request_body = PatchMeRequest,
    responses(
        (status = 200, body = MeResponse),
        (status = 400, description = "Invalid or unknown field", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, description = "Invite required", body = ErrorEnvelope),
    ))]
pub async fn patch_me(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<PatchMeRequest>,
) -> ApiResult<Json<MeResponse>> {
    let user = profile::patch(ctx.store.as_ref(), &me.user_id, req).await?;
    Ok(Json(MeResponse::new(&user, &ctx.policy, me.is_admin)))
}

/// Delete my account and everything that is mine. The handle becomes free and my
/// tokens stop working.
#[utoipa::path(delete, path = "/me", tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorEnvelope)))]
pub async fn delete_me(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
) -> ApiResult<StatusCode> {
    profile::delete_account(ctx.store.as_ref(), &me.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My notification settings.
#[utoipa::path(get, path = "/me/notification-preferences", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = NotificationPrefs), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get_preferences(me: Identity) -> Json<NotificationPrefs> {
    Json(me.user.prefs)
}

/// Change some of my notification settings.
#[utoipa::path(patch, path = "/me/notification-preferences", tag = "users", security(("bearer" = [])),
    request_body = PatchPreferencesRequest,
    responses(
        (status = 200, body = NotificationPrefs),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn patch_preferences(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<PatchPreferencesRequest>,
) -> ApiResult<Json<NotificationPrefs>> {
    let user = profile::patch_preferences(ctx.store.as_ref(), &me.user, &req).await?;
    Ok(Json(user.prefs))
}

/// The current terms of service: the version to accept and where to read it. Needs no
/// token, so an app can show the terms before sign-up.
#[utoipa::path(get, path = "/terms", tag = "users",
    responses((status = 200, body = TermsResponse)))]
pub async fn terms(State(ctx): State<AppContext>) -> Json<TermsResponse> {
    Json(TermsResponse {
        version: ctx.policy.terms_version.clone(),
        url: ctx.policy.terms_url.clone(),
    })
}

/// Accept the current terms of service.
#[utoipa::path(post, path = "/me/accept-terms", tag = "users", security(("bearer" = [])),
    request_body = AcceptTermsRequest,
    responses(
        (status = 200, body = MeResponse),
        (status = 400, description = "Not the current version", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn accept_terms(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<AcceptTermsRequest>,
) -> ApiResult<Json<MeResponse>> {
    let user =
        profile::accept_terms(ctx.store.as_ref(), &ctx.policy, &me.user_id, &req.version).await?;
    Ok(Json(MeResponse::new(&user, &ctx.policy, me.is_admin)))
}

/// Set or change my handle.
#[utoipa::path(post, path = "/username", tag = "users", security(("bearer" = [])), request_body = UsernameRequest,
    responses(
        (status = 200, body = MeResponse),
        (status = 400, description = "Invalid or reserved handle", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 409, description = "Handle taken", body = ErrorEnvelope),
    ))]
pub async fn set_username(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<UsernameRequest>,
) -> ApiResult<Json<MeResponse>> {
    let user = profile::set_handle(ctx.store.as_ref(), &me.user_id, &req.handle).await?;
    Ok(Json(MeResponse::new(&user, &ctx.policy, me.is_admin)))
}

/// Whether a handle is free for me, and why not (taken, reserved, invalid), so a
/// sign-up screen can say so while the rider types. Nothing is held: `POST /username`
/// decides.
#[utoipa::path(get, path = "/username/available", tag = "users", security(("bearer" = [])),
    params(AvailabilityQuery),
    responses(
        (status = 200, body = AvailabilityResponse),
        (status = 400, description = "No handle given", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
    ))]
pub async fn username_available(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
    Query(q): Query<AvailabilityQuery>,
) -> ApiResult<Json<AvailabilityResponse>> {
    let (handle, reason) =
        profile::handle_availability(ctx.store.as_ref(), &me.user_id, &q.handle).await?;
    Ok(Json(AvailabilityResponse {
        handle,
        available: reason.is_none(),
        reason,
    }))
}

/// Set my avatar from my finished upload (from `/avatar-url`).
#[utoipa::path(post, path = "/me/avatar", tag = "users", security(("bearer" = [])), request_body = AvatarRequest,
    responses(
        (status = 200, body = MeResponse),
        (status = 400, description = "Not a finished avatar upload of mine", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 409, description = "The upload has not finished", body = ErrorEnvelope),
    ))]
pub async fn set_avatar(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<AvatarRequest>,
) -> ApiResult<Json<MeResponse>> {
    let user = profile::set_avatar(ctx.store.as_ref(), &me.user_id, &req.key).await?;
    Ok(Json(MeResponse::new(&user, &ctx.policy, me.is_admin)))
}
