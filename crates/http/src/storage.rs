//! Whether the server can store what it is sent. A write refused for lack of space
//! answers 507 `insufficient_storage` (mapped in [`crate::error`]); this module notices
//! those answers: the first after writes worked is logged once, naming the watched
//! folders and their free space, the next acknowledged write logs that space is back,
//! and `/readyz` shows the state and how many writes were refused since start.
//!
//! It watches responses rather than the store, so a refusal from any layer (the
//! database, the media folder) counts the same way.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The storage state shared by every request of a process.
#[derive(Debug, Default)]
pub struct SpaceWatch {
    full: AtomicBool,
    refused: AtomicU64,
    /// Folders whose free space the log line reports (the data folder, the media folder).
    paths: Vec<PathBuf>,
}

/// What `/readyz` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceStatus {
    /// The last write was refused for lack of space, and none succeeded since.
    pub full: bool,
    /// Writes refused for lack of space since the process started.
    pub refused: u64,
}

impl SpaceWatch {
    /// A watch whose log line reports the free space of `paths`.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        Self {
            paths,
            ..Self::default()
        }
    }

    /// Records a write refused for lack of space; logs only the first of a run.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if !self.full.swap(true, Ordering::Relaxed) {
            let free: Vec<String> = self
                .paths
                .iter()
                .map(|p| match free_bytes(p) {
                    Some(b) => format!("{}: {} KiB free", p.display(), b / 1024),
                    None => format!("{}: free space unknown", p.display()),
                })
                .collect();
            tracing::error!(
                free = %free.join("; "),
                "out of storage space: writes are refused with 507 until space is freed"
            );
        }
    }

    /// Records an acknowledged write; logs when it ends a run of refusals.
    pub fn stored(&self) {
        // A load first: the common case (never full) stays a read of a shared line.
        if self.full.load(Ordering::Relaxed) && self.full.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                refused = self.refused.load(Ordering::Relaxed),
                "storage space is back: writes are stored again"
            );
        }
    }

    /// The state now.
    pub fn status(&self) -> SpaceStatus {
        SpaceStatus {
            full: self.full.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// Bytes an unprivileged writer may still use on the filesystem of `path`.
pub fn free_bytes(path: &std::path::Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Middleware: a 507 marks the storage full, a write answered 2xx marks it fine.
pub async fn track(State(watch): State<Arc<SpaceWatch>>, req: Request, next: Next) -> Response {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let res = next.run(req).await;
    if res.status() == StatusCode::INSUFFICIENT_STORAGE {
        watch.refused();
    } else if !reads && res.status().is_success() {
        watch.stored();
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_marks_full_until_a_write_is_stored() {
        let w = SpaceWatch::new(vec![std::env::temp_dir()]);
        assert_eq!(
            w.status(),
            SpaceStatus {
                full: false,
                refused: 0
            }
        );
        w.refused();
        w.refused();
        assert_eq!(
            w.status(),
            SpaceStatus {
                full: true,
                refused: 2
            }
        );
        w.stored();
        assert_eq!(
            w.status(),
            SpaceStatus {
                full: false,
                refused: 2
            }
        );
        assert!(free_bytes(&std::env::temp_dir()).is_some_and(|b| b > 0));
    }
}
