//! A job's outcome is written even when the database is briefly locked by another
//! process at that moment: the worker retries the write instead of leaving the job
//! claimed until its lease runs out (two minutes) and running it a second time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use scooter_core::Timestamp;
use scooter_core::ids::new_id;
use scooter_core::notification::{Job, NewJob};
use scooter_jobs::{JobError, JobHandler, Worker, WorkerSettings};
use scooter_store::Store;
use scooter_store_sqlite::{SqliteSettings, SqliteStore};
use sqlx::{Connection, SqliteConnection};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Succeeds, but leaves the database write-locked by "another process" for a moment
/// as it returns, so the first try at recording the success finds the lock held.
struct LocksOnTheWayOut {
    db: PathBuf,
    runs: Arc<AtomicU32>,
    fail: bool,
    /// Told when the lock is let go.
    released: Arc<Notify>,
}

#[async_trait]
impl JobHandler for LocksOnTheWayOut {
    fn kind(&self) -> &'static str {
        "locks"
    }

    async fn run(&self, _: &Job) -> Result<(), JobError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let url = format!("sqlite://{}", self.db.display());
        let mut other = SqliteConnection::connect(&url).await.expect("connect");
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .expect("lock");
        let released = self.released.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = sqlx::raw_sql("COMMIT").execute(&mut other).await;
            released.notify_one();
        });
        if self.fail {
            Err(JobError::Retry("try later".into()))
        } else {
            Ok(())
        }
    }
}

/// Runs one job whose handler locks the database on its way out; the directory is
/// returned so it outlives the store's use.
async fn run_one(
    fail: bool,
) -> (
    Arc<dyn Store>,
    Arc<AtomicU32>,
    WorkerSettings,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    // A short busy timeout: the lock outlasts it, so the first write fails.
    let settings = SqliteSettings {
        busy_timeout: Duration::from_millis(20),
        ..SqliteSettings::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, &settings).await.unwrap());
    store
        .enqueue_job(NewJob {
            id: new_id(),
            kind: "locks".into(),
            payload: String::new(),
            dedupe: None,
            run_at: Timestamp::now(),
        })
        .await
        .unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let released = Arc::new(Notify::new());
    let worker_settings = WorkerSettings {
        backoff_base: Duration::from_secs(3600),
        backoff_max: Duration::from_secs(3600),
        ..WorkerSettings::default()
    };
    let worker = Worker::new(
        store.clone(),
        vec![Arc::new(LocksOnTheWayOut {
            db,
            runs: runs.clone(),
            fail,
            released: released.clone(),
        })],
        worker_settings,
    );
    assert_eq!(worker.run_once().await, 1, "the job was claimed and run");
    // Whatever the worker did, the lock is gone before the outbox is looked at.
    released.notified().await;
    (store, runs, worker_settings, dir)
}

/// Whether anything could claim the job once its lease (and any retry delay) is over:
/// a job still claimed is taken again then.
async fn claimable_later(store: &Arc<dyn Store>, after: Duration) -> usize {
    let later = Timestamp::now().plus_seconds(i64::try_from(after.as_secs()).unwrap() + 1);
    store
        .claim_jobs(later, Duration::from_secs(60), 10)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_recorded_while_the_database_is_locked_is_retried_until_written() {
    let (store, runs, settings, _dir) = run_one(false).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        claimable_later(&store, settings.lease).await,
        0,
        "the job is done, not left claimed to run again when its lease ends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_recorded_while_the_database_is_locked_is_retried_until_written() {
    let (store, _, settings, _dir) = run_one(true).await;
    // Recorded: the retry is due after the (one hour) backoff, not when the lease ends.
    assert_eq!(claimable_later(&store, settings.lease).await, 0);
    assert_eq!(
        claimable_later(&store, Duration::from_secs(2 * 3600)).await,
        1,
        "the retry is scheduled"
    );
}
