//! The Prometheus endpoint: with `METRICS_LISTEN` set, `GET /metrics` serves the
//! process's metrics in Prometheus' text format on a listener of its own, never on the
//! public one (an operator's network reaches it, the internet does not). Without it no
//! recorder is installed, and the access log builds no metric labels at all.

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// Latency buckets in seconds: from a cached read (1 ms) to the request budget (15 s).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0,
];

/// How often histograms are compacted (the exporter needs it called; without it their
/// memory grows with every sample).
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the process-wide recorder and serves `GET /metrics` on `listen` until the
/// process ends. Returns the address bound (port 0 picks a free one).
pub async fn serve(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    describe();
    scooter_http::middleware::record_metrics();
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (METRICS_LISTEN)"))?;
    let bound = listener.local_addr()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let router = Router::new().route("/metrics", get(move || render(handle.clone())));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    tracing::info!(listen = %bound, "metrics at /metrics");
    Ok(bound)
}

async fn render(handle: PrometheusHandle) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
}

/// Help texts, shown by Prometheus and Grafana beside each metric.
fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "Requests answered, by method, route template and status class"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer, by method, route template and status class"
    );
    metrics::describe_gauge!("http_requests_in_flight", "Requests being answered now");
    metrics::gauge!("scooterbooter_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}
