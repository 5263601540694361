//! The AWS Lambda shape (`aws` feature): the same router and the same job handlers,
//! driven by Lambda invocations instead of a listener and a polling loop.
//!
//! The mode comes from `SCOOTER_LAMBDA`:
//! - `http` (default): API Gateway HTTP API events (payload 2.0) in, responses out,
//!   through `lambda_http`, with the services named in `SCOOTER_SERVICES` mounted (all
//!   when unset); other services' routes answer 404 in the envelope, as in `serve users`.
//! - `worker`: DynamoDB stream events of the jobs table, and scheduled events, run the
//!   due jobs of every kind but video transcodes; an hourly schedule whose input is
//!   `{"task": "maintenance"}` also queues the clean-up.
//! - `video`: the same events run only the transcodes (a function with FFmpeg from a
//!   layer, more memory and up to 15 minutes: API Gateway cuts requests at 30 s).
//!
//! A stream record is only a wake-up call: jobs are claimed from the outbox by a
//! conditional update, exactly as the polling worker claims them, so a duplicate
//! delivery, a record for a job already done, or two invocations at once run nothing
//! twice; a failed job is retried by the outbox's own backoff. A stream batch is
//! reported failed (item by item) only when the outbox could not be reached at all, so
//! Lambda redelivers it.
//!
//! Init does nothing it can defer: no table creation (the template owns the tables),
//! no sweep, no tool runs; Cognito's keys are fetched on the first request.

use crate::config::{ConfigError, Env};
use crate::services::Service;
use crate::{Config, wiring};
use axum::extract::ConnectInfo;
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, lambda_runtime};
use scooter_store::JobKinds;
use scooter_store::media::PROCESS_VIDEO_JOB;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

/// What an invocation of this function does (`SCOOTER_LAMBDA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// API Gateway HTTP API requests.
    Http,
    /// Every job kind but video transcodes.
    Worker,
    /// Video transcodes only.
    Video,
}

/// The mode (`SCOOTER_LAMBDA`) and the services to mount (`SCOOTER_SERVICES`, a comma
/// list; all six when unset).
pub fn settings(env: &Env<'_>) -> Result<(Mode, Vec<Service>), ConfigError> {
    let mode = match env
        .raw("SCOOTER_LAMBDA")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("http") => Mode::Http,
        Some("worker") => Mode::Worker,
        Some("video") => Mode::Video,
        Some(v) => {
            return Err(ConfigError {
                var: "SCOOTER_LAMBDA",
                message: format!("{v:?} is not http, worker or video"),
            });
        }
    };
    let Some(list) = env.raw("SCOOTER_SERVICES") else {
        return Ok((mode, Service::ALL.to_vec()));
    };
    let mut services = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let service = Service::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ConfigError {
                var: "SCOOTER_SERVICES",
                message: format!(
                    "{name:?} is not one of users, social, posts, notifications, media, scoops"
                ),
            })?;
        services.push(service);
    }
    if services.is_empty() {
        return Err(ConfigError {
            var: "SCOOTER_SERVICES",
            message: "names no service".into(),
        });
    }
    services.sort();
    services.dedup();
    Ok((mode, services))
}

/// Runs this process as a Lambda function until the runtime stops it.
pub async fn run(mut config: Config, mode: Mode, services: Vec<Service>) -> anyhow::Result<()> {
    config.services = services;
    // A function never runs the polling worker beside its requests, and never creates
    // tables: the template owns them, and a cold start is on a request's path.
    config.run_worker = false;
    if let crate::config::StoreConfig::Dynamo(d) = &mut config.store {
        d.create_tables = false;
    }
    match mode {
        Mode::Http => serve_http(&config).await,
        Mode::Worker | Mode::Video => serve_jobs(&config, mode).await,
    }
}

async fn serve_http(config: &Config) -> anyhow::Result<()> {
    let app = wiring::build(config).await?;
    let router = app.router;
    let handler = tower::service_fn(move |req: lambda_http::Request| {
        let router = router.clone();
        async move {
            let res = router
                .oneshot(to_axum(req))
                .await
                .map_err(|never| match never {})?;
            Ok::<_, lambda_http::Error>(res)
        }
    });
    lambda_http::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// The gateway's request as the router's: the body as bytes, and the caller's address
/// from the request context (the gateway's `sourceIp`), which the per-address limits
/// read where a listener would have given the peer.
fn to_axum(req: lambda_http::Request) -> axum::http::Request<axum::body::Body> {
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    let (mut parts, body) = req.into_parts();
    if let Some(ip) = source_ip.and_then(|ip| ip.parse().ok()) {
        parts.extensions.insert(ConnectInfo(SocketAddr::new(ip, 0)));
    }
    let body = match body {
        lambda_http::Body::Empty => axum::body::Body::empty(),
        lambda_http::Body::Text(text) => axum::body::Body::from(text),
        lambda_http::Body::Binary(bytes) => axum::body::Body::from(bytes),
        _ => axum::body::Body::empty(),
    };
    axum::http::Request::from_parts(parts, body)
}

async fn serve_jobs(config: &Config, mode: Mode) -> anyhow::Result<()> {
    let (ctx, _store) = wiring::context(config).await?;
    let worker = wiring::worker(config, &ctx)?;
    let handler = lambda_runtime::service_fn(|event: lambda_runtime::LambdaEvent<Value>| {
        let worker = &worker;
        async move {
            let deadline = deadline_of(event.context.deadline);
            Ok::<_, lambda_runtime::Error>(
                handle_jobs(worker, config, mode, &event.payload, deadline).await,
            )
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// The input of the hourly schedule that queues the clean-up.
pub const MAINTENANCE_TASK: &str = "maintenance";

/// The invocation's deadline (milliseconds since the epoch) as an instant.
fn deadline_of(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// One invocation of a worker function: runs the due jobs of its kinds until none is
/// due or the deadline nears, and answers what Lambda expects of the event: for a
/// DynamoDB stream batch, `batchItemFailures` (empty, or every record when the outbox
/// could not be reached); for a schedule, how many jobs ran.
pub async fn handle_jobs(
    worker: &scooter_jobs::Worker,
    config: &Config,
    mode: Mode,
    event: &Value,
    deadline: Instant,
) -> Value {
    let video = [PROCESS_VIDEO_JOB];
    // The hourly clean-up is queued by a schedule of its own, which sends
    // `{"task": "maintenance"}`: the minute's sweep and the stream come far more often.
    let maintenance = event.get("task").and_then(Value::as_str) == Some(MAINTENANCE_TASK);
    let (kinds, concurrency, schedules) = match mode {
        Mode::Video => (
            JobKinds::Only(&video),
            config.worker.slow_concurrency,
            false,
        ),
        _ => (
            JobKinds::Except(&video),
            config.worker.concurrency,
            maintenance,
        ),
    };
    let outcome = worker.drain(kinds, concurrency, schedules, deadline).await;
    let records = event.get("Records").and_then(Value::as_array);
    match (outcome, records) {
        (Ok(ran), None) => json!({ "ran": ran }),
        (Ok(ran), Some(_)) => {
            tracing::info!(ran, "jobs run for a stream batch");
            json!({ "batchItemFailures": [] })
        }
        (Err(e), records) => {
            tracing::error!(error = %e, "cannot reach the job outbox: the batch is redelivered");
            let failures: Vec<Value> = records
                .into_iter()
                .flatten()
                .filter_map(|r| r.pointer("/dynamodb/SequenceNumber"))
                .map(|seq| json!({ "itemIdentifier": seq }))
                .collect();
            json!({ "batchItemFailures": failures })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<(Mode, Vec<Service>), ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        settings(&Env(&|k| map.get(k).map(|v| (*v).to_owned())))
    }

    #[test]
    fn the_mode_and_services_come_from_the_environment_and_are_checked() {
        assert_eq!(
            read(&[]).expect("defaults"),
            (Mode::Http, Service::ALL.to_vec())
        );
        assert_eq!(
            read(&[("SCOOTER_SERVICES", "posts, Users,posts")]).expect("list"),
            (Mode::Http, vec![Service::Users, Service::Posts])
        );
        assert_eq!(
            read(&[("SCOOTER_LAMBDA", "video")]).expect("video").0,
            Mode::Video
        );
        for (var, value) in [
            ("SCOOTER_LAMBDA", "cron"),
            ("SCOOTER_SERVICES", "users,billing"),
            ("SCOOTER_SERVICES", ",,"),
        ] {
            assert_eq!(read(&[(var, value)]).expect_err(value).var, var);
        }
    }
}
