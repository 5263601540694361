//! The listener under abuse: connections that never send, or trickle their headers,
//! are cut off; a flood of them never stops the server answering new clients.

use crate::helpers::TestApp;
use scooterbooter::server::{ServeSettings, serve};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(app: &TestApp, settings: ServeSettings) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.app.router.clone();
    tokio::spawn(serve(listener, router, std::future::pending(), settings));
    addr
}

/// One `GET /healthz` on a new connection: the status line's code.
async fn health(addr: SocketAddr) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_does_not_stop_the_server() {
    let app = TestApp::new().await;
    let addr = start(
        &app,
        ServeSettings {
            header_read_timeout: Duration::from_millis(500),
            max_connections: 8,
            ..ServeSettings::default()
        },
    )
    .await;
    // Twice the cap, connected and silent.
    let mut idle = Vec::new();
    for _ in 0..16 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), health(addr))
        .await
        .expect("answered while the flood holds on");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The silent ones were closed by the server.
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(5), idle[0].read(&mut buf))
        .await
        .expect("closed, not left open");
    assert!(matches!(n, Ok(0) | Err(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_trickled_byte_by_byte_are_cut_off() {
    let app = TestApp::new().await;
    let addr = start(
        &app,
        ServeSettings {
            header_read_timeout: Duration::from_millis(600),
            max_connections: 64,
            ..ServeSettings::default()
        },
    )
    .await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await {
            // The server's 408, or the close.
            closed = n == 0 || buf.starts_with(b"HTTP/1.1 408");
            if closed {
                break;
            }
        }
    }
    assert!(closed, "the trickling client is still connected");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(health(addr).await, 200, "others are served meanwhile");
}
