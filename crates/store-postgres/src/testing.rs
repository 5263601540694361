//! Throw-away schemas for test suites (the conformance suite here, the HTTP suite in
//! the app): each test gets its own schema in the test database, dropped when the
//! guard drops, even when the test panics. Not used by the server itself.

#![allow(clippy::expect_used)]

use crate::PgSettings;
use sqlx::{Connection, PgConnection};

/// The variable naming the test server; `scripts/test.sh` sets it.
pub const URL_VAR: &str = "SCOOTER_TEST_POSTGRES_URL";

/// The test database URL: `SCOOTER_TEST_POSTGRES_URL`, else this machine kind's local
/// server (trust auth).
pub fn test_url() -> String {
    std::env::var(URL_VAR)
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A schema that exists for one test.
#[derive(Debug)]
pub struct TestSchema {
    /// Settings that point a store at the schema.
    pub settings: PgSettings,
    name: String,
}

impl TestSchema {
    /// Creates a fresh, empty schema. Panics with instructions when no server answers,
    /// so that a missing PostgreSQL can never pass for a green run.
    pub async fn create() -> Self {
        let url = test_url();
        let mut conn = PgConnection::connect(&url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at {url} ({e}); set {URL_VAR} or run scripts/test.sh")
        });
        let name = format!("t_{}", scooter_core::ids::new_id().replace('-', ""));
        let sql = format!("CREATE SCHEMA {name}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        let _ = conn.close().await;
        let mut settings = PgSettings::new(url);
        settings.schema = Some(name.clone());
        // Lets the guard find and end this schema's connections when the test is over.
        settings.application_name = name.clone();
        settings.max_connections = 4;
        settings.min_connections = 0;
        Self { settings, name }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.settings.url.clone(), self.name.clone());
        // Drop runs outside any async context we can rely on: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&url).await.ok()?;
                // The test's pool may still hold connections (a transaction whose
                // rollback was queued when the test's runtime stopped); end them so
                // their locks cannot hold up the drop.
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&name)
                    .execute(&mut conn)
                    .await
                    .ok()?;
                let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test schema {}", self.name);
        }
    }
}
