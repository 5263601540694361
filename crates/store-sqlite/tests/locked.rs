//! Another process holding the database's write lock (a second `serve` on the same
//! file, an operator's `sqlite3`): writes wait for it up to the busy timeout
//! (`SQLITE_BUSY_TIMEOUT_MS`), then fail as "unavailable" (a 503 with `Retry-After`),
//! never as a store failure (a 500). Reads go on meanwhile (WAL).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use scooter_core::Timestamp;
use scooter_core::ids::new_id;
use scooter_core::notification::NewJob;
use scooter_store::{JobStore, Store, StoreError};
use scooter_store_sqlite::{SqliteSettings, SqliteStore};
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::time::Duration;

async fn open(path: &Path, busy: Duration) -> SqliteStore {
    let settings = SqliteSettings {
        busy_timeout: busy,
        ..SqliteSettings::default()
    };
    SqliteStore::open(path, &settings).await.expect("open")
}

/// A connection of "another process" holding the write lock until dropped or
/// committed.
async fn hold_write_lock(path: &Path) -> SqliteConnection {
    let url = format!("sqlite://{}", path.display());
    let mut other = SqliteConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("lock");
    other
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

#[tokio::test]
async fn a_write_that_outwaits_the_busy_timeout_is_unavailable_and_reads_go_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("locked.db");
    let db = open(&path, Duration::from_millis(50)).await;
    let other = hold_write_lock(&path).await;

    let err = db.enqueue_job(job()).await.expect_err("the lock is held");
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "a held lock is unavailable, not a failure: {err:?}"
    );
    db.ping().await.expect("reads go on under the lock");

    drop(other);
    db.enqueue_job(job())
        .await
        .expect("writes work once the lock is gone");
    db.close().await;
}

#[tokio::test]
async fn a_write_waits_for_the_lock_within_the_busy_timeout() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("locked.db");
    // Far longer than the lock is held: the write must wait, not fail.
    let db = open(&path, Duration::from_secs(30)).await;
    let mut other = hold_write_lock(&path).await;
    let write = tokio::spawn({
        let db = db.clone();
        async move { db.enqueue_job(job()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqlx::raw_sql("COMMIT")
        .execute(&mut other)
        .await
        .expect("release");
    write
        .await
        .expect("no panic")
        .expect("the write waited for the lock");
    db.close().await;
}
