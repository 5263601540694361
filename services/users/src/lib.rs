//! The users service: accounts and built-in sign-in, the caller's own profile (`/me`),
//! handles, terms, notification preferences, invites and user search.
//!
//! - [`domain`]: the rules, as plain functions over the store traits.
//! - [`routes`]: thin handlers (extract → one domain call → response), one module per
//!   URL area, each documented for the OpenAPI document.
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

/// The service's routes with their OpenAPI description. The router carries its state,
/// so it merges into any other router. The built-in sign-in (`/auth/*`) and its public
/// key (`/.well-known/jwks.json`) exist only with the built-in issuer: under Cognito or
/// OIDC they answer 404 like any unknown path, and the document leaves them out.
pub fn router<S: Clone + Send + Sync + 'static>(ctx: AppContext) -> (Router<S>, OpenApi) {
    let mut mounted = OpenApiRouter::new();
    if ctx.local_auth.is_some() {
        mounted = mounted
            .routes(routes!(routes::auth::signup))
            .routes(routes!(routes::auth::login))
            .routes(routes!(routes::auth::refresh))
            .routes(routes!(routes::auth::logout))
            .routes(routes!(routes::auth::jwks));
    }
    let (router, api) = mounted
        .routes(routes!(
            routes::me::get_me,
            routes::me::patch_me,
            routes::me::delete_me
        ))
        .routes(routes!(
            routes::me::get_preferences,
            routes::me::patch_preferences
        ))
        .routes(routes!(routes::me::accept_terms))
        .routes(routes!(routes::me::terms))
        .routes(routes!(routes::me::set_username))
        .routes(routes!(routes::me::username_available))
        .routes(routes!(
            routes::sessions::list,
            routes::sessions::end_others
        ))
        .routes(routes!(routes::sessions::end_one))
        .routes(routes!(routes::me::set_avatar))
        .routes(routes!(
            routes::invites::list_invites,
            routes::invites::create_invite
        ))
        .routes(routes!(routes::invites::redeem_invite))
        .routes(routes!(routes::search::search))
        .split_for_parts();
    (router.with_state(ctx), api)
}
