//! `/me/invite*`: my invite codes.

use crate::domain::invites;
use crate::dto::{InviteList, InviteView, MeResponse, RedeemRequest};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Identity, Json, UngatedIdentity};

/// My invite codes and how many more I may create.
#[utoipa::path(get, path = "/me/invite", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = InviteList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_invites(
    State(ctx): State<AppContext>,
    me: Identity,
) -> ApiResult<Json<InviteList>> {
    let (items, remaining) = invites::list(ctx.store.as_ref(), &ctx.policy, &me.user_id).await?;
    Ok(Json(InviteList {
        items: items.iter().map(InviteView::from).collect(),
        next_cursor: None,
        quota: ctx.policy.invite_quota,
        remaining,
    }))
}

/// Create an invite code (within `INVITE_QUOTA`).
#[utoipa::path(post, path = "/me/invite", tag = "users", security(("bearer" = [])),
    responses(
        (status = 201, body = InviteView),
        (status = 401, body = ErrorEnvelope),
        (status = 403, description = "Quota used up, or invite required", body = ErrorEnvelope),
    ))]
pub async fn create_invite(
    State(ctx): State<AppContext>,
    me: Identity,
) -> ApiResult<(StatusCode, Json<InviteView>)> {
    let invite = invites::create(ctx.store.as_ref(), &ctx.policy, &me.user_id).await?;
    Ok((StatusCode::CREATED, Json(InviteView::from(&invite))))
}

/// Redeem an invite code for my account.
#[utoipa::path(post, path = "/me/invite/redeem", tag = "users", security(("bearer" = [])),
    request_body = RedeemRequest,
    responses(
        (status = 200, body = MeResponse),
        (status = 400, description = "Unknown, used or own code", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "Already redeemed a code", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
    ))]
pub async fn redeem_invite(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
    Json(req): Json<RedeemRequest>,
) -> ApiResult<Json<MeResponse>> {
    ctx.limiters
        .redeem_per_account
        .check(me.user_id.as_str())
        .await?;
    invites::redeem(ctx.store.as_ref(), &me.user_id, &req.code).await?;
    let user = ctx.store.get_user(&me.user_id).await?.unwrap_or(me.user);
    Ok(Json(MeResponse::new(&user, &ctx.policy, me.is_admin)))
}
