//! Serving: takes a bound listener and a shutdown future (so tests and the binary use
//! the same loop), and drains in-flight requests before returning.
//!
//! The loop is hyper's HTTP/1 server with the limits a public server needs, which
//! `axum::serve` does not set: a header-read timeout (a client trickling header bytes,
//! or holding an idle keep-alive connection, is cut off after it), and a cap on open
//! connections below the file-descriptor limit, so a flood of idle connections can
//! never starve the process of descriptors (it stops accepting until some close, and
//! the timeout closes them). A shutdown drains in-flight requests for at most a grace
//! period, then closes what is left.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeSettings {
    /// Longest a client may take to send a request's headers, and longest a kept-alive
    /// connection may wait for its next request (`HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    /// Open connections at most (`MAX_CONNECTIONS`; 0: the descriptor limit less a
    /// reserve for files and database connections).
    pub max_connections: usize,
    /// How long a shutdown waits for open connections to finish
    /// (`SHUTDOWN_GRACE_SECS`): a stalled client or a slow upload must not keep the
    /// process from stopping.
    pub shutdown_grace: Duration,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            max_connections: 0,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// A connection's read and write buffers at most (hyper's default is ~400 KiB): a
/// request's head must fit in it (nginx's default allows 4 × 8 KiB; a larger one is
/// refused with 431), and bodies stream through it. Each connection's buffers start at
/// 8 KiB and grow only as needed, so this bounds what a few hundred clients sending
/// huge headers could hold (768 × 400 KiB: 300 MB), not the usual cost.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// How often at most a lasting condition (the connection cap reached) is logged again.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Descriptors kept for everything but client connections: the database, media files,
/// FFmpeg's pipes, log files.
const RESERVED_FDS: u64 = 256;

/// Raises the soft open-file limit to the hard one (the default soft limit, often 1,024,
/// is far below what the hard limit allows), and returns the connection cap that fits
/// under it.
pub fn raise_fd_limit() -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let soft = match (now.current, now.maximum) {
        (Some(cur), Some(max)) if cur < max => {
            let raised = Rlimit {
                current: Some(max),
                maximum: Some(max),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => max,
                Err(e) => {
                    tracing::warn!(error = %e, "could not raise the open-file limit");
                    cur
                }
            }
        }
        (Some(cur), _) => cur,
        // Unlimited.
        (None, _) => 1 << 20,
    };
    usize::try_from(soft.saturating_sub(RESERVED_FDS).max(64)).unwrap_or(usize::MAX)
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for in-flight
/// requests to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    settings: ServeSettings,
) -> std::io::Result<()> {
    let cap = match settings.max_connections {
        0 => raise_fd_limit(),
        n => n,
    };
    let slots = Arc::new(Semaphore::new(cap));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(MAX_BUF_SIZE)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    let mut cap_warned: Option<Instant> = None;
    loop {
        // A slot first: at the cap, new connections wait in the kernel's backlog. Said
        // in the log (at most once a minute), since clients only see a slow connect.
        if slots.available_permits() == 0 && cap_warned.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            tracing::warn!(
                max_connections = cap,
                "connection cap reached: new connections wait in the listen backlog"
            );
            cap_warned = Some(Instant::now());
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning. Logged (axum's
                    // own loop only traces them, with its `tracing` feature).
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(remote));
                req
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    // Requests in flight finish; after the grace period whatever is still open (a
    // client that stopped mid-headers, an upload that would take minutes) is closed as
    // the process exits. A request cut off that way was never acknowledged.
    if tokio::time::timeout(settings.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = settings.shutdown_grace.as_secs(),
            "connections still open after the shutdown grace period: closing them"
        );
    }
    Ok(())
}

/// One shutdown signal shared by the server and the worker: it fires once on Ctrl-C or
/// SIGTERM (or when triggered), and every waiter sees it.
#[derive(Clone)]
pub struct Shutdown(
    tokio::sync::watch::Receiver<bool>,
    Arc<tokio::sync::watch::Sender<bool>>,
);

impl Shutdown {
    /// A signal not yet fired.
    pub fn new() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        Self(rx, Arc::new(tx))
    }

    /// A signal fired by Ctrl-C or SIGTERM.
    pub fn on_signal() -> Self {
        let s = Self::new();
        let trigger = s.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            trigger.trigger();
        });
        s
    }

    /// Fires the signal.
    pub fn trigger(&self) {
        let _ = self.1.send(true);
    }

    /// Resolves once the signal has fired.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|fired| *fired).await;
        }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; draining in-flight requests");
}
