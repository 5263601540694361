//! The social service: who follows and blocks whom, public profiles and their lists,
//! reports, and the moderation queue.
//!
//! - [`domain`]: the rules. [`domain::visibility`] is the one place that decides whether
//!   a user may see another; the posts, notifications and scoops services call it.
//! - [`routes`]: thin handlers, one module per URL area.
//! - [`dto`]: request and response bodies.
//! - [`error`]: the service's errors and their mapping to API errors.

pub mod domain;
pub mod dto;
pub mod error;
pub mod routes;

use axum::Router;
use scooter_http::AppContext;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The service's routes with their OpenAPI description.
pub fn router<S: Clone + Send + Sync + 'static>(ctx: AppContext) -> (Router<S>, OpenApi) {
    let (router, api) = OpenApiRouter::new()
        .routes(routes!(routes::graph::follow))
        .routes(routes!(routes::graph::unfollow))
        .routes(routes!(routes::graph::block))
        .routes(routes!(routes::graph::unblock))
        .routes(routes!(routes::graph::blocked))
        .routes(routes!(routes::profiles::profile))
        .routes(routes!(routes::profiles::followers))
        .routes(routes!(routes::profiles::following))
        .routes(routes!(routes::reports::report))
        .routes(routes!(routes::admin::list_reports))
        .routes(routes!(routes::admin::resolve_report))
        .routes(routes!(routes::admin::suspend_user))
        .routes(routes!(routes::admin::unsuspend_user))
        .split_for_parts();
    (router.with_state(ctx), api)
}
