//! The pool's share of the server's connection budget: a burst's connections are
//! closed again once idle, down to the minimum, so several processes sharing one
//! PostgreSQL do not keep its connections after their bursts.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use scooter_store_postgres::PgStore;
use scooter_store_postgres::testing::TestSchema;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_bursts_connections_are_returned_to_the_server_once_idle() {
    let schema = TestSchema::create().await;
    let mut settings = schema.settings.clone();
    settings.idle_timeout = Duration::from_secs(1);
    settings.max_connections = 8;
    let store = PgStore::open(&settings).await.expect("open");
    let pool = store.pool();
    // A burst: six connections held at once.
    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(pool.acquire().await.expect("acquire"));
    }
    assert!(pool.size() >= 6, "{}", pool.size());
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(15);
    while pool.size() > settings.min_connections {
        assert!(
            Instant::now() < deadline,
            "idle connections were kept: {} open",
            pool.size()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
