//! The `scooterbooter` binary's library: configuration, wiring of the services into one
//! router, system routes (health, readiness, OpenAPI) and the server loop. The binary
//! (`main.rs`) only parses the command line and calls in here, so tests build exactly
//! the router the binary serves.
//!
//! - [`config`]: the one `Config`, from the environment.
//! - [`wiring`]: store, issuer, verifier → `AppContext` → the merged, layered router.
//! - [`system`]: `/healthz`, `/readyz`, `/openapi.json`, fallbacks.
//! - [`apidoc`]: the document's finishing (guide, tag and error descriptions).
//! - [`docs`]: `/docs`, the document rendered by a vendored Redoc.
//! - `lambda` (`aws` feature): the router and the job handlers as Lambda functions.
//! - [`server`]: serving a listener until a shutdown signal, draining in-flight requests.
//! - [`metrics`]: the Prometheus endpoint on its own listener (`METRICS_LISTEN`).
//! - [`seed`]: synthetic data sets for benchmarks and demos.
//! - [`services`]: the six services by name, and their time budgets.
//! - [`timelines`]: `scooterbooter timelines rebuild`.

pub mod apidoc;
pub mod config;
pub mod docs;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod services;
pub mod system;
pub mod timelines;
pub mod wiring;

pub use config::Config;
pub use wiring::{App, build};
