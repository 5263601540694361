//! The conformance suite against DynamoDB (moto's server locally and in CI:
//! `scripts/aws-emulator.sh`). Each test gets its own table prefix, so tests run in
//! parallel on one emulator without seeing each other's items.
#![allow(clippy::expect_used)]

use scooter_store::Store;
use scooter_store_dynamodb::testing;
use std::sync::Arc;

async fn fresh() -> ((), Arc<dyn Store>) {
    let store = testing::fresh_store(true).await;
    ((), Arc::new(store))
}

scooter_store_conformance::conformance_tests!(fresh().await);
