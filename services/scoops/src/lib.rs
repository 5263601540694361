//! The scoops service: stories that vanish after `SCOOP_TTL` (24 hours by default),
//! the scoops feed, views and the owner's viewer list.
//!
//! - [`domain`]: the rules (visibility, expiry, owner-only viewers) and the purge job.
//! - [`routes`]: the handlers.
//! - [`dto`]: request and response bodies.
//! - [`error`]: the service's errors and their API mapping.

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
        .routes(routes!(routes::scoops::create))
        .routes(routes!(routes::scoops::feed))
        .routes(routes!(routes::scoops::mine))
        .routes(routes!(routes::scoops::of_user))
        .routes(routes!(routes::scoops::get, routes::scoops::delete))
        .routes(routes!(routes::scoops::view))
        .routes(routes!(routes::scoops::viewers))
        .split_for_parts();
    (router.with_state(ctx), api)
}
