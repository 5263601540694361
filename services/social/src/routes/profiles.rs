//! `/u/{handle}`, `/u/{handle}/followers`, `/u/{handle}/following`.

use crate::domain::profiles::{self, List};
use crate::dto::ProfileView;
use axum::extract::State;
use scooter_http::{
    ApiResult, AppContext, ErrorEnvelope, Identity, Json, PageQuery, Paged, Path, Query,
    UserSummary,
};

/// A user's public profile.
#[utoipa::path(get, path = "/u/{handle}", tag = "social", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle")),
    responses(
        (status = 200, body = ProfileView),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No such user, suspended, or hidden by a block", body = ErrorEnvelope),
    ))]
pub async fn profile(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(handle): Path<String>,
) -> ApiResult<Json<ProfileView>> {
    let v = profiles::profile(ctx.store.as_ref(), &me.user, &handle).await?;
    Ok(Json(ProfileView::new(&v.user, &v.rel)))
}

async fn list(
    ctx: AppContext,
    me: Identity,
    handle: String,
    which: List,
    q: PageQuery,
) -> ApiResult<Json<Paged<UserSummary>>> {
    let page = profiles::list(
        ctx.store.as_ref(),
        &me.user,
        &handle,
        which,
        q.limit(),
        q.cursor.as_deref(),
    )
    .await?;
    Ok(Json(Paged::from_page(page, |u| UserSummary::from(&u))))
}

/// A user's followers, newest first.
#[utoipa::path(get, path = "/u/{handle}/followers", tag = "social", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle"), PageQuery),
    responses(
        (status = 200, body = Paged<UserSummary>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn followers(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<UserSummary>>> {
    list(ctx, me, handle, List::Followers, q).await
}

/// The users someone follows, newest first.
#[utoipa::path(get, path = "/u/{handle}/following", tag = "social", security(("bearer" = [])),
    params(("handle" = String, Path, description = "The user's handle"), PageQuery),
    responses(
        (status = 200, body = Paged<UserSummary>),
        (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
    ))]
pub async fn following(
    State(ctx): State<AppContext>,
    me: Identity,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<UserSummary>>> {
    list(ctx, me, handle, List::Following, q).await
}
