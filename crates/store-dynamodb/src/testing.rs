//! Stores on an emulator for tests: `DYNAMODB_TEST_ENDPOINT` (default: the one
//! `scripts/aws-emulator.sh` starts), throw-away credentials, and a fresh table prefix
//! per store so tests never see each other's items.

use crate::{DynamoSettings, DynamoStore, Tables};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use scooter_store::timelines::TimelineSettings;

/// The emulator's endpoint.
pub fn endpoint() -> String {
    std::env::var("DYNAMODB_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

/// A client of the emulator.
pub fn client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A table prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}-{:08x}-", std::process::id(), fastrand::u32(..))
}

/// A store with its own fresh tables. Panics with how to start the emulator when it
/// does not answer: a test that cannot reach its database must fail, never pass.
#[allow(clippy::expect_used)]
pub async fn fresh_store(timelines: bool) -> DynamoStore {
    let settings = DynamoSettings {
        tables: Tables::with_prefix(&unique_prefix()),
        create_tables: true,
        timelines: TimelineSettings {
            enabled: timelines,
            ..TimelineSettings::default()
        },
        endpoint: None,
    };
    DynamoStore::with_client(client(), settings)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the DynamoDB emulator at {} ({e:?}); start it with scripts/aws-emulator.sh",
                endpoint()
            )
        })
}
