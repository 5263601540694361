//! The notifications service: my in-app notifications, my push devices, and (in
//! [`domain::compose`]) the rules every other service follows to notify someone.
//!
//! - [`domain`]: composing notifications, the inbox, devices.
//! - [`routes`]: `/notifications*` and `/push/*`.
//! - [`dto`]: request and response bodies.
//! - [`error`]: mapping to API errors.

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
        .routes(routes!(routes::inbox::list))
        .routes(routes!(routes::inbox::unread_count))
        .routes(routes!(routes::inbox::read))
        .routes(routes!(routes::inbox::read_all))
        .routes(routes!(routes::push::register))
        .routes(routes!(routes::push::unregister))
        .routes(routes!(routes::push::devices))
        .split_for_parts();
    (router.with_state(ctx), api)
}
