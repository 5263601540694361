//! The conformance suite against SQLite: each test gets its own database file in a
//! temp dir that is removed when the test ends, even when it panics.
#![allow(clippy::expect_used)]

use scooter_store::Store;
use scooter_store_sqlite::{SqliteSettings, SqliteStore};
use std::sync::Arc;

async fn fresh() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = SqliteSettings {
        timelines: true,
        ..SqliteSettings::default()
    };
    let store = SqliteStore::open(&dir.path().join("test.db"), &settings)
        .await
        .expect("open store");
    (dir, Arc::new(store))
}

scooter_store_conformance::conformance_tests!(fresh().await);
