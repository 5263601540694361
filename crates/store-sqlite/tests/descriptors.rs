//! The process out of file descriptors (a burst of client connections at the open-file
//! limit): the store keeps answering, because both pools opened their connections at
//! start and keep them, instead of closing idle ones and failing to reopen them under
//! load with "unable to open database file" (issue 25). Alone in its binary: it lowers
//! the process's descriptor limit.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use scooter_core::Timestamp;
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_store::{JobStore, Store};
use scooter_store_sqlite::{SqliteSettings, SqliteStore};
use std::fs::File;

/// Lowers the soft open-file limit to just above the highest descriptor in use and
/// fills every hole below it, so that no new descriptor can be had; returns the
/// fillers (dropping them frees descriptors again).
fn use_up_descriptors() -> Vec<File> {
    let highest = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .expect("some descriptor");
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(highest + 1),
            maximum: hard,
        },
    )
    .expect("lower the limit");
    let mut fillers = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => fillers.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(24), "EMFILE: {e}");
                return fillers;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_descriptor_left_the_store_keeps_reading_and_writing() {
    let dir = tempfile::tempdir().expect("tmp");
    let settings = SqliteSettings {
        read_connections: 4,
        ..SqliteSettings::default()
    };
    let db = SqliteStore::open(&dir.path().join("fds.db"), &settings)
        .await
        .expect("open");
    // A quiet start: one read, one write.
    db.ping().await.expect("read");
    db.enqueue_job(job()).await.expect("write");

    let fillers = use_up_descriptors();
    assert!(File::open("/dev/null").is_err(), "no descriptor is left");
    // Reads as many at once as there are readers (and more), and writes.
    for _ in 0..5 {
        let reads: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.ping().await })
            })
            .collect();
        for r in reads {
            r.await
                .expect("no panic")
                .expect("a read with no descriptor free");
        }
        db.enqueue_job(job())
            .await
            .expect("a write with no descriptor free");
    }
    drop(fillers);
    db.close().await;
}

fn job() -> NewJob {
    NewJob {
        id: new_id(),
        kind: "test".into(),
        payload: String::new(),
        dedupe: None,
        run_at: Timestamp::now(),
    }
}
