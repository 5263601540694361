//! The layers around every router, outermost first:
//! request id → load shedding ([`crate::in_flight`]; before the access log, so a
//! refusal costs no log line of its own) → access log → CORS (when origins are listed) → error envelope → panic
//! catcher → body limit → private caching headers ([`apply`]), then each service's own time budget
//! ([`time_limited`], applied to a service's router before the routers are merged, so
//! services keep different budgets in one process). Keeping the envelope outside the
//! panic catcher and the timeouts is what makes *every* non-2xx use the envelope.

use crate::error::ApiError;
use crate::in_flight::InFlight;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

/// Name of the request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Limits applied to every route.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// Largest request body (JSON 64 KiB by default).
    pub body_limit: usize,
    /// Longest a request to a route outside the services (health, document) may take.
    pub request_timeout: Duration,
    /// Longest an upload (`PUT /uploads/…`) may take: 200 MB over a phone link needs
    /// minutes, not seconds.
    pub upload_timeout: Duration,
    /// Web origins allowed to call the API from a browser (`CORS_ORIGINS`, exact
    /// origins as [`parse_cors_origins`] reads them); empty: none, and `OPTIONS` is a
    /// 405 like any unrouted method. `'static` (read once at start) keeps the settings
    /// `Copy`.
    pub cors_origins: &'static [HeaderValue],
    /// Requests in flight at most (`MAX_IN_FLIGHT`); beyond it a new request waits up
    /// to [`HttpSettings::max_queue_wait`] for a place, then gets a 503 (health checks
    /// and uploads excepted). 0: no bound.
    pub max_in_flight: usize,
    /// How long a request beyond the bound waits for a place (`MAX_QUEUE_WAIT_MS`);
    /// zero: refused at once.
    pub max_queue_wait: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            upload_timeout: Duration::from_secs(600),
            cors_origins: &[],
            max_in_flight: 0,
            max_queue_wait: Duration::ZERO,
        }
    }
}

/// Reads a comma-separated list of exact web origins (`https://admin.example.com`,
/// `http://localhost:8081`): scheme `http` or `https`, a host, an optional port, no
/// path, written as a browser sends it in `Origin` (lowercase, no default port), since
/// an origin written otherwise would never match and the mistake would go unnoticed.
/// `*` and `null` are refused: the API takes bearer tokens, and a wildcard would let
/// any page a signed-in rider visits call it with a token it got hold of.
pub fn parse_cors_origins(list: &str) -> Result<Vec<HeaderValue>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            let bad = |why: &str| format!("{origin:?}: {why}");
            let (scheme, rest) = origin
                .split_once("://")
                .ok_or_else(|| bad("an origin is scheme://host[:port]"))?;
            if scheme != "http" && scheme != "https" {
                return Err(bad("the scheme must be http or https"));
            }
            if rest.is_empty() || rest.contains(['/', '?', '#', '@', '*']) {
                return Err(bad(
                    "an origin is scheme://host[:port], with no path, user or wildcard",
                ));
            }
            if rest.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(bad("browsers send origins in lowercase; write it so"));
            }
            let (host, port) = match rest.rsplit_once(':') {
                // An IPv6 literal's colons are inside its brackets.
                Some((h, p)) if !p.contains(']') => (h, Some(p)),
                _ => (rest, None),
            };
            let ipv6 = host.starts_with('[') && host.ends_with(']');
            if host.is_empty()
                || (host.contains([':', '[', ']']) && !ipv6)
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
            {
                return Err(bad("not a host name or address"));
            }
            if let Some(port) = port {
                let default = if scheme == "https" { "443" } else { "80" };
                if port.parse::<u16>().is_err() || port.starts_with('0') {
                    return Err(bad("not a port"));
                }
                if port == default {
                    return Err(bad(
                        "browsers leave the scheme's default port out of the origin; leave it out",
                    ));
                }
            }
            HeaderValue::from_str(origin).map_err(|_| bad("not a header value"))
        })
        .collect()
}

/// The CORS policy for `origins`: preflights answered, bearer tokens rather than
/// cookies (no credentials), and the headers an app reads (request id, rate limits)
/// exposed to scripts.
fn cors_layer(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(REQUEST_ID),
        ])
        .expose_headers([
            HeaderName::from_static(REQUEST_ID),
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        // Browsers cap this themselves (Chrome at 2 hours).
        .max_age(Duration::from_secs(3600))
}

/// How long the requests of one router may take before a 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Every route but uploads.
    pub request: Duration,
    /// `PUT /uploads/…`.
    pub upload: Duration,
}

/// Cuts the requests of `router` off after `budget` with a 503 in the envelope.
pub fn time_limited<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    budget: Budget,
) -> Router<S> {
    router.layer(from_fn_with_state(budget, timeout))
}

pub use crate::request_id::RequestId;

/// Wraps `router` in the shared layers.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    settings: HttpSettings,
) -> Router<S> {
    let router = router
        .layer(from_fn(private_cache_headers))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn(error_envelope));
    let router = router.layer(from_fn(access_log));
    let router = if settings.max_in_flight == 0 {
        router
    } else {
        let in_flight = Arc::new(InFlight::new(
            settings.max_in_flight,
            settings.max_queue_wait,
        ));
        router.layer(from_fn_with_state(in_flight, crate::in_flight::limit))
    };
    // Outside the envelope and the load shedding, so every error (401, 429, a shed
    // request's 503) carries the CORS headers a browser needs to let the app read it
    // and its `Retry-After`, and preflights are answered without counting against the
    // services' rate limits or the in-flight bound; inside the request id, so they carry
    // one (they are not in the access log).
    let router = if settings.cors_origins.is_empty() {
        router
    } else {
        router.layer(cors_layer(settings.cors_origins))
    };
    router.layer(from_fn(request_id))
}

/// Cuts a request off after its time budget with a 503: uploads get
/// [`Budget::upload`], everything else [`Budget::request`].
async fn timeout(
    axum::extract::State(budget): axum::extract::State<Budget>,
    req: Request,
    next: Next,
) -> Response {
    let budget = if req.uri().path().starts_with("/uploads/") {
        budget.upload
    } else {
        budget.request
    };
    match tokio::time::timeout(budget, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::from_status(StatusCode::SERVICE_UNAVAILABLE).into_response(),
    }
}

/// Whether a client's request id may be kept: `[A-Za-z0-9._-]{1,64}`, the rule nginx
/// applies at the edge too (`deploy/nginx`). Ids end up in JSON, headers and log lines;
/// in this shape they need no escaping anywhere.
pub fn is_safe_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Takes the client's `x-request-id` when [`is_safe_request_id`], else makes one; sets
/// it on the request (for handlers and logs) and on the response.
async fn request_id(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_safe_request_id(s))
        .map(str::to_owned);
    let id = incoming.unwrap_or_else(scooter_core::ids::new_id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v.clone());
        req.extensions_mut().insert(RequestId(id));
        let mut res = next.run(req).await;
        res.headers_mut().insert(REQUEST_ID, v);
        return res;
    }
    next.run(req).await
}

/// Whether the access log records request metrics: turned on by the process that
/// installs a metrics recorder ([`record_metrics`]). Off, no label is built per request
/// (labels are cloned into a `Vec` before even a no-op recorder sees them).
static METRICS: AtomicBool = AtomicBool::new(false);

/// Makes the access log record request metrics from now on; call it after installing
/// the process's metrics recorder.
pub fn record_metrics() {
    METRICS.store(true, Ordering::Relaxed);
}

/// One JSON log line per request: method, route, status, latency, request and user id;
/// and, once [`record_metrics`] was called, the request metrics:
/// `http_requests_total` and `http_request_duration_seconds` by method, route template
/// (never a raw path) and status class, and `http_requests_in_flight`.
async fn access_log(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        user_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let in_flight = METRICS
        .load(Ordering::Relaxed)
        .then(|| metrics::gauge!("http_requests_in_flight"));
    if let Some(g) = &in_flight {
        g.increment(1.0);
    }
    let res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let status = res.status().as_u16();
    if let Some(g) = in_flight {
        g.decrement(1.0);
        let labels = [
            ("method", method.as_str().to_owned()),
            ("route", route),
            ("status", format!("{}xx", status / 100)),
        ];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    });
    res
}

/// Gives every error response the envelope with the request id: our own errors are
/// re-rendered from the copy they carry, anything else (axum's 404/405, a timeout, a
/// panic) gets the generic error for its status.
async fn error_envelope(req: Request, next: Next) -> Response {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let error = res
        .extensions()
        .get::<ApiError>()
        .cloned()
        .unwrap_or_else(|| ApiError::from_status(status));
    let mut rendered = error.render(request_id.as_deref());
    // Keep headers such as `Allow` on 405.
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !rendered.headers().contains_key(name)
        {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

/// API responses are per-user: never store them in shared caches. Routes that are
/// public (JWKS) set their own `Cache-Control`, which is kept.
async fn private_cache_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-store"));
    res
}
