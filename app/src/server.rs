//! Serving: takes a bound listener and a shutdown future (so tests and the binary use
//! the same loop), and drains in-flight requests before returning.

use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for in-flight
/// requests to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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
