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

/// A server that refuses a connection says why, and opening the store passes that on
/// instead of a pool's "timed out".
#[tokio::test]
async fn a_refused_connection_reports_the_servers_own_reason() {
    use sqlx::{Connection, PgConnection};
    let schema = TestSchema::create().await;
    let role = format!("limited_{}", scooter_core::ids::new_id().replace('-', ""));
    let admin_url = scooter_store_postgres::testing::test_url();
    let mut admin = PgConnection::connect(&admin_url).await.expect("admin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {role} LOGIN CONNECTION LIMIT 1"
    )))
    .execute(&mut admin)
    .await
    .expect("role");
    let as_role = admin_url.replacen("://postgres@", &format!("://{role}@"), 1);
    assert_ne!(as_role, admin_url, "the test URL names the postgres user");
    // The role's one connection is taken.
    let held = PgConnection::connect(&as_role)
        .await
        .expect("first connection");
    let mut settings = schema.settings.clone();
    settings.url = as_role;
    let refused = PgStore::connect(&settings)
        .await
        .map(|_| ())
        .expect_err("the role has no connection left");
    let mut chain = refused.to_string();
    let mut source = std::error::Error::source(&refused);
    while let Some(e) = source {
        chain.push_str(&format!(": {e}"));
        source = e.source();
    }
    drop(held);
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP ROLE {role}")))
        .execute(&mut admin)
        .await
        .expect("drop role");
    assert!(
        chain.contains("too many connections for role"),
        "the server's reason is reported: {chain}"
    );
}
