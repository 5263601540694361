//! The media service: upload URLs (`/upload-url`, `/avatar-url`), the signed upload
//! itself (`PUT /uploads/{key}`, or a presigned `PUT` to the bucket), completing an
//! upload (`POST /media/{key}/complete`), file serving with ranges or a redirect to the
//! bucket (`GET /files/{key}`), video processing, status and deletion (`/media/{key}`),
//! and the jobs behind them.
//!
//! - [`domain`]: issuing and receiving uploads, processing, the job handlers.
//! - [`routes`]: the handlers.
//! - [`error`]: the service's errors and their API mapping.

pub mod domain;
pub mod error;
pub mod routes;

use axum::Router;
use axum::extract::Request;
use axum::http::header::ALLOW;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use scooter_http::AppContext;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes whose last parameter is a whole key with slashes (`post/{user}/{file}`):
/// axum matches them with a catch-all, which OpenAPI cannot spell, so they are mounted
/// by hand and documented here as `{key}`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    routes::uploads::receive,
    routes::files::serve,
    routes::media::status,
    routes::media::delete,
    routes::media::complete
))]
struct KeyRoutes;

/// The service's routes with their OpenAPI description.
pub fn router<S: Clone + Send + Sync + 'static>(ctx: AppContext) -> (Router<S>, OpenApi) {
    let (router, mut api) = OpenApiRouter::new()
        .routes(routes!(routes::uploads::upload_url))
        .routes(routes!(routes::uploads::avatar_url))
        .routes(routes!(routes::media::process_video))
        .split_for_parts();
    let router = router
        .route("/uploads/{*key}", put(routes::uploads::receive))
        .route("/files/{*key}", get(routes::files::serve))
        .route(
            "/media/{*key}",
            get(routes::media::status)
                .delete(routes::media::delete)
                .post(routes::media::complete)
                .layer(axum::middleware::from_fn(two_media_paths)),
        );
    api.merge(KeyRoutes::openapi());
    (router.with_state(ctx), api)
}

/// `/media/{*key}` holds two documented paths, as a key has slashes and a catch-all ends
/// a route: `/media/{key}` (GET, HEAD, DELETE) and `/media/{key}/complete` (POST). Each
/// answers other methods with 405 and its own `Allow`, as if it were mounted alone.
async fn two_media_paths(req: Request, next: Next) -> Response {
    let complete = req.uri().path().ends_with("/complete");
    let allow = if complete { "POST" } else { "GET,HEAD,DELETE" };
    let allowed = match *req.method() {
        Method::POST => complete,
        Method::GET | Method::HEAD | Method::DELETE => !complete,
        _ => false,
    };
    if !allowed {
        let mut res = StatusCode::METHOD_NOT_ALLOWED.into_response();
        res.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return res;
    }
    next.run(req).await
}
