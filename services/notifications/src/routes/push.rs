//! `/push/register`, `/push/unregister` and `/push/devices`.

use crate::domain::devices;
use crate::dto::{DeviceList, DeviceView, RegisterRequest, UnregisterRequest};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Identity, Json};

/// Register this device for push (idempotent; a token moves to the newest account).
#[utoipa::path(post, path = "/push/register", tag = "notifications", security(("bearer" = [])),
    request_body = RegisterRequest,
    responses(
        (status = 200, body = DeviceView),
        (status = 400, description = "A token not of its provider's shape, an unknown platform or provider, or a provider this server does not deliver through (`provider_not_configured`)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn register(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<Json<DeviceView>> {
    let device = devices::NewDevice {
        token: &req.token,
        platform: req.platform,
        service: req.provider,
    };
    devices::register(ctx.store.as_ref(), &ctx.push_services, &me.user_id, device).await?;
    Ok(Json(DeviceView {
        token: req.token,
        platform: req.platform,
        provider: req.provider,
    }))
}

/// Stop push to this device. Someone else's token is left alone.
#[utoipa::path(delete, path = "/push/unregister", tag = "notifications", security(("bearer" = [])),
    request_body = UnregisterRequest,
    responses(
        (status = 204, description = "Not registered to me (any more)"),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn unregister(
    State(ctx): State<AppContext>,
    me: Identity,
    Json(req): Json<UnregisterRequest>,
) -> ApiResult<StatusCode> {
    devices::unregister(ctx.store.as_ref(), &me.user_id, &req.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The devices push goes to for me, so an app's settings screen can show them and a
/// rider can see where their notifications land.
#[utoipa::path(get, path = "/push/devices", tag = "notifications", security(("bearer" = [])),
    responses(
        (status = 200, body = DeviceList),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn devices(State(ctx): State<AppContext>, me: Identity) -> ApiResult<Json<DeviceList>> {
    let items = ctx
        .store
        .devices_of(&me.user_id)
        .await?
        .into_iter()
        .map(|d| DeviceView {
            token: d.token,
            platform: d.platform,
            provider: d.service,
        })
        .collect();
    Ok(Json(DeviceList { items }))
}
