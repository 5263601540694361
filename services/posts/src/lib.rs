//! The posts service: the home feed, posts, comments and reactions, and one user's
//! posts (`/u/{handle}/posts`, which the seed lists under social but which reads
//! posts; it lives here so that posts can depend on social's visibility rule without
//! a cycle).
//!
//! - [`domain`]: the rules; [`domain::view`] assembles post views in a constant number
//!   of store calls per page.
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
        .routes(routes!(routes::feed::home_feed))
        .routes(routes!(routes::feed::user_posts))
        .routes(routes!(routes::posts::create_post))
        .routes(routes!(routes::posts::get_post, routes::posts::delete_post))
        .routes(routes!(
            routes::comments::list_comments,
            routes::comments::add_comment
        ))
        .routes(routes!(routes::comments::delete_comment))
        .routes(routes!(
            routes::reactions::list_reactions,
            routes::reactions::toggle_reaction
        ))
        .routes(routes!(
            routes::reactions::add_reaction,
            routes::reactions::remove_reaction
        ))
        .split_for_parts();
    (router.with_state(ctx), api)
}
