//! `/auth/*`: built-in sign-in, and the issuer's public keys.

use crate::domain::accounts::{self, Session};
use crate::dto::{LoginRequest, RefreshRequest, SignupRequest, TokenResponse};
use crate::error::UsersError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scooter_http::client_ip::ClientIp;
use scooter_http::{ApiResult, AppContext, ErrorEnvelope, Json, LocalAuth};
use serde_json::json;
use std::sync::Arc;

fn local(ctx: &AppContext) -> Result<&Arc<LocalAuth>, UsersError> {
    ctx.local_auth.as_ref().ok_or(UsersError::LocalAuthDisabled)
}

/// The signing-in app as it names itself (`User-Agent`), kept with the session.
fn client(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

fn tokens(s: Session) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token: s.access_token,
        refresh_token: s.refresh_token,
        expires_in: s.expires_in,
        token_type: "Bearer",
    })
}

/// Create an account with email and password.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created; first session started", body = TokenResponse),
        (status = 400, description = "Invalid input or invite code", body = ErrorEnvelope),
        (status = 409, description = "Email already has an account", body = ErrorEnvelope),
        (status = 429, description = "Too many accounts made (30 an hour) or attempts (60 an hour) from this address", body = ErrorEnvelope),
    ))]
pub async fn signup(
    State(ctx): State<AppContext>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<SignupRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let auth = local(&ctx)?;
    let ip = ip.to_string();
    ctx.limiters.signup_attempts_per_ip.check(&ip).await?;
    ctx.limiters.signup_per_ip.check(&ip).await?;
    let session = accounts::signup(
        ctx.store.as_ref(),
        auth,
        &req.email,
        req.password,
        req.invite_code.as_deref(),
        client(&headers),
    )
    .await?;
    ctx.limiters.signup_per_ip.record(&ip).await;
    Ok((StatusCode::CREATED, tokens(session)))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Session started", body = TokenResponse),
        (status = 401, description = "Wrong email or password", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts", body = ErrorEnvelope),
    ))]
pub async fn login(
    State(ctx): State<AppContext>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let auth = local(&ctx)?;
    ctx.limiters.login_per_ip.check(&ip.to_string()).await?;
    ctx.limiters
        .login_per_account
        .check(&req.email.trim().to_lowercase())
        .await?;
    let session = accounts::login(
        ctx.store.as_ref(),
        auth,
        &req.email,
        req.password,
        client(&headers),
    )
    .await?;
    Ok(tokens(session))
}

/// Exchange a refresh token for new tokens (the old one is spent). The same token sent
/// again within `REFRESH_REUSE_GRACE_SECS` (20 s) of its first use also answers new
/// tokens (a retry or a double refresh signs nobody out); sent later, it revokes the
/// whole session (`refresh_token_reused`).
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired or reused refresh token (`invalid_refresh_token`, `refresh_token_reused`)", body = ErrorEnvelope),
    ))]
pub async fn refresh(
    State(ctx): State<AppContext>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let auth = local(&ctx)?;
    let session = accounts::refresh(ctx.store.as_ref(), auth, &req.refresh_token).await?;
    Ok(tokens(session))
}

/// End the session of a refresh token.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out (also when the token was unknown)")))]
pub async fn logout(
    State(ctx): State<AppContext>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<StatusCode> {
    local(&ctx)?;
    accounts::logout(ctx.store.as_ref(), &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The built-in issuer's public signing keys (RFC 7517).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JSON Web Key Set", body = Object)))]
pub async fn jwks(State(ctx): State<AppContext>) -> Response {
    let keys: Vec<_> = ctx
        .local_auth
        .iter()
        .map(|a| a.issuer.key().public_jwk())
        .collect();
    let mut res = axum::Json(json!({ "keys": keys })).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
