//! The conformance suite against PostgreSQL: each test gets its own schema, dropped when
//! the test ends, even when it panics.
#![allow(clippy::expect_used)]

use scooter_store::Store;
use scooter_store_postgres::PgStore;
use scooter_store_postgres::testing::TestSchema;
use std::sync::Arc;

async fn fresh() -> (TestSchema, Arc<dyn Store>) {
    let mut schema = TestSchema::create().await;
    schema.settings.timelines = true;
    let store = PgStore::open(&schema.settings).await.expect("open store");
    (schema, Arc::new(store))
}

scooter_store_conformance::conformance_tests!(fresh().await);
