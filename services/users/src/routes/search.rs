//! `/search`: find users.

use crate::domain::search;
use crate::dto::SearchQuery;
use axum::extract::State;
use scooter_core::page::Limit;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, Paged, Query, UserSummary,
};

/// Users by handle prefix or display-name word, best match first.
#[utoipa::path(get, path = "/search", tag = "users", security(("bearer" = [])), params(SearchQuery),
    responses(
        (status = 200, body = Paged<UserSummary>),
        (status = 400, description = "Missing or invalid q or cursor", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
    ))]
pub async fn search(
    State(ctx): State<AppContext>,
    me: Identity,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Paged<UserSummary>>> {
    let limit = Limit::clamp(q.limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX)));
    let page = search::search(
        ctx.store.as_ref(),
        &me.user_id,
        &q.q,
        limit,
        q.cursor.as_deref(),
    )
    .await?;
    Ok(Json(Paged::from_page(page, |u| UserSummary::from(&u))))
}
