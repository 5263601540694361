//! Slow jobs run in a lane of their own: a transcode that takes minutes never holds
//! back a push queued after it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use scooter_core::Timestamp;
use scooter_core::ids::new_id;
use scooter_core::notification::{Job, NewJob};
use scooter_jobs::{JobError, JobHandler, Worker, WorkerSettings};
use scooter_store::Store;
use scooter_store_sqlite::{SqliteSettings, SqliteStore};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Blocks until released.
struct Transcode(Arc<Notify>);

#[async_trait]
impl JobHandler for Transcode {
    fn kind(&self) -> &'static str {
        "transcode"
    }
    async fn run(&self, _: &Job) -> Result<(), JobError> {
        self.0.notified().await;
        Ok(())
    }
    fn slow(&self) -> bool {
        true
    }
}

/// Says when it ran.
struct Push(watch::Sender<bool>);

#[async_trait]
impl JobHandler for Push {
    fn kind(&self) -> &'static str {
        "push"
    }
    async fn run(&self, _: &Job) -> Result<(), JobError> {
        let _ = self.0.send(true);
        Ok(())
    }
}

fn job(kind: &str) -> NewJob {
    NewJob {
        id: new_id(),
        kind: kind.into(),
        payload: String::new(),
        dedupe: None,
        run_at: Timestamp::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_never_waits_behind_a_transcode() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("db.sqlite"), &SqliteSettings::default())
            .await
            .unwrap(),
    );
    let release = Arc::new(Notify::new());
    let (pushed_tx, mut pushed) = watch::channel(false);
    let settings = WorkerSettings {
        concurrency: 1,
        slow_concurrency: 1,
        poll_interval: Duration::from_millis(20),
        ..WorkerSettings::default()
    };
    let worker = Worker::new(
        store.clone(),
        vec![
            Arc::new(Transcode(release.clone())),
            Arc::new(Push(pushed_tx)),
        ],
        settings,
    );
    // The transcode is queued first and claimed first; with one lane and concurrency
    // 1 the push would wait for it.
    store.enqueue_job(job("transcode")).await.unwrap();
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let running = tokio::spawn(worker.run(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    store.enqueue_job(job("push")).await.unwrap();
    let delivered = tokio::time::timeout(Duration::from_secs(5), pushed.wait_for(|p| *p)).await;
    assert!(delivered.is_ok(), "the push waited behind the transcode");
    release.notify_one();
    let _ = stop_tx.send(true);
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the worker stops")
        .unwrap();
}
