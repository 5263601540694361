//! `/me/sessions`: where I am signed in with the built-in sign-in, and ending those
//! sessions (a lost phone, a shared tablet). With Cognito the list is empty: its
//! sessions are Cognito's.

use crate::dto::{SessionList, SessionView, SessionsEnded};
use axum::extract::State;
use axum::http::StatusCode;
use scooter_core::Timestamp;
use scooter_http::{ApiError, ApiResult, AppContext, ErrorEnvelope, Json, Path, UngatedIdentity};
use scooter_store::EndSessions;

/// Where I am signed in, newest first; `current` marks the session of this request.
#[utoipa::path(get, path = "/me/sessions", tag = "users", operation_id = "list_sessions", security(("bearer" = [])),
    responses(
        (status = 200, body = SessionList),
        (status = 401, body = ErrorEnvelope),
    ))]
pub async fn list(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
) -> ApiResult<Json<SessionList>> {
    let items = ctx
        .store
        .list_sessions(&me.user_id, Timestamp::now())
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: me.session.as_deref() == Some(s.id.as_str()),
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            client: s.client,
        })
        .collect();
    Ok(Json(SessionList { items }))
}

/// End one of my sessions: its refresh token stops working (an access token it already
/// has lives out its minutes). Open to suspended accounts too: signing a lost phone out
/// is never refused.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "No such session of mine", body = ErrorEnvelope),
    ))]
pub async fn end_one(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let ended = ctx
        .store
        .end_sessions(&me.user_id, EndSessions::One(&id))
        .await?;
    if ended == 0 {
        return Err(ApiError::not_found("session"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of mine but this request's ("sign out everywhere else").
#[utoipa::path(delete, path = "/me/sessions", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = SessionsEnded),
        (status = 401, body = ErrorEnvelope),
    ))]
pub async fn end_others(
    State(ctx): State<AppContext>,
    UngatedIdentity(me): UngatedIdentity,
) -> ApiResult<Json<SessionsEnded>> {
    let ended = ctx
        .store
        .end_sessions(&me.user_id, EndSessions::AllBut(me.session.as_deref()))
        .await?;
    Ok(Json(SessionsEnded { ended }))
}
