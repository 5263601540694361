//! Routes that belong to no service: liveness, readiness, the OpenAPI document and its
//! rendering at `/docs`, and the fallback for unknown paths.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scooter_http::shared_counts::SharedState;
use scooter_http::{ApiError, AppContext, ErrorEnvelope};
use serde::Serialize;
use std::sync::Arc;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{OpenApi as _, ToSchema};

/// The document's fixed parts: title, version, the bearer scheme, the error envelope.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "ScooterBooter API",
        description = "The backend of ScooterBooter, the social app for scooter riders. \
            Every non-2xx response is an ErrorEnvelope.",
    ),
    paths(healthz, readyz, openapi_json, crate::docs::page, crate::docs::script),
    components(schemas(ErrorEnvelope, Health))
)]
struct BaseDoc;

/// The base document, with the bearer security scheme added.
pub fn base_document() -> OpenApi {
    let mut doc = BaseDoc::openapi();
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    doc
}

/// The system routes.
pub fn router<S: Clone + Send + Sync + 'static>(
    ctx: AppContext,
    openapi: Arc<OpenApi>,
) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ctx)
        .merge(
            Router::new()
                .route("/openapi.json", get(openapi_json))
                .with_state(openapi),
        )
        .route("/docs", get(crate::docs::page))
        .route("/docs/redoc.standalone.js", get(crate::docs::script))
}

/// Health status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `degraded` while writes are refused for lack of space (reads still
    /// work, so the instance stays in rotation).
    pub status: &'static str,
    /// `on` when FFmpeg was found, `off` otherwise (readiness only; everything else
    /// works without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_processing: Option<&'static str>,
    /// `ok`, or `full` when the last write was refused for lack of space and none
    /// succeeded since (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<&'static str>,
    /// Writes refused with 507 since the process started (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_refusals: Option<u64>,
    /// With `REDIS_URL` (readiness only): `ok` while request limits are shared through
    /// Redis, `degraded` while Redis fails and each process counts for itself. The
    /// instance stays ready: Redis is never needed to answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<&'static str>,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        video_processing: None,
        storage: None,
        storage_refusals: None,
        redis: None,
    })
}

/// Readiness: the store answers. A full disk reports `degraded` with 200, not 503:
/// reads still work, and every instance on the same store would be equally full. A
/// failing Redis is `degraded` too: limits are then counted per process.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = ErrorEnvelope)))]
pub async fn readyz(State(ctx): State<AppContext>) -> Result<axum::Json<Health>, ApiError> {
    ctx.store.ping().await?;
    let video = if ctx.media.video.is_some() {
        "on"
    } else {
        "off"
    };
    let space = ctx.space.status();
    let redis = ctx.request_limiter.probe().await.map(|s| match s {
        SharedState::Shared => "ok",
        SharedState::Degraded => "degraded",
    });
    let degraded = space.full || redis == Some("degraded");
    Ok(axum::Json(Health {
        status: if degraded { "degraded" } else { "ok" },
        video_processing: Some(video),
        storage: Some(if space.full { "full" } else { "ok" }),
        storage_refusals: Some(space.refused),
        redis,
    }))
}

/// The OpenAPI 3.1 document of every mounted route.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, body = Object)))]
pub async fn openapi_json(State(doc): State<Arc<OpenApi>>) -> Response {
    axum::Json(doc.as_ref()).into_response()
}

/// 404 in the envelope for unknown paths.
pub async fn no_such_route() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND)
}
