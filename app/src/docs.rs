//! `GET /docs`: the OpenAPI document rendered for people by Redoc. The page and the
//! script are compiled into the binary (the script is vendored in `app/assets`, MIT
//! licence), so the docs work on a machine with no network access.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

const PAGE: &str = include_str!("../assets/docs.html");
const REDOC: &str = include_str!("../assets/redoc.standalone.js");

/// The API reference page.
#[utoipa::path(get, path = "/docs", tag = "system",
    responses((status = 200, description = "The API reference (HTML)", content_type = "text/html", body = String)))]
pub async fn page() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

/// The Redoc script the page loads.
#[utoipa::path(get, path = "/docs/redoc.standalone.js", tag = "system",
    responses((status = 200, description = "Redoc 2.5.2", content_type = "text/javascript", body = String)))]
pub async fn script() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        REDOC,
    )
}
