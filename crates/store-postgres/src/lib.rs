//! The PostgreSQL backend, for deployments that outgrow one process: several `serve`
//! processes on several machines share one database.
//!
//! Writes run in READ COMMITTED transactions that lock the rows a rule depends on
//! (`SELECT … FOR UPDATE`, always in id order when two users are involved), so the same
//! use case is as atomic here as on SQLite's single writer. A transaction that still
//! loses a race (deadlock, serialization failure) is retried a few times.
//!
//! - [`PgStore::open`]: pool, session settings, migrations.
//! - `users`, `accounts`, `invites`, `social`, `moderation`, `posts`, `notifications`,
//!   `timelines`: the trait
//!   implementations, one module per trait, mirroring the SQLite backend; `bulk` loads
//!   seed data sets.
//! - [`testing`]: throw-away schemas for test suites.

mod accounts;
mod bulk;
mod error;
mod invites;
mod media;
mod moderation;
mod notifications;
mod posts;
mod rows;
mod scoops;
mod social;
pub mod testing;
mod timelines;
mod users;

use async_trait::async_trait;
use scooter_core::UserId;
use scooter_core::post::Post;
use scooter_store::{PostContext, Store, StoreResult};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

pub use error::OpenError;

/// Settings of the PostgreSQL backend.
#[derive(Clone)]
pub struct PgSettings {
    /// `postgres://user:password@host:port/db?sslmode=…` (TLS through rustls when asked).
    pub url: String,
    /// Schema to use instead of `public` (several deployments or test runs per database).
    pub schema: Option<String>,
    /// Largest pool size.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a connection may sit idle before it is closed (down to
    /// `min_connections`): several processes share one server's connection budget, and
    /// a burst's connections must go back to it.
    pub idle_timeout: Duration,
    /// How long a request waits for a free connection before "unavailable".
    pub acquire_timeout: Duration,
    /// Longest a single statement may run.
    pub statement_timeout: Duration,
    /// Shown in `pg_stat_activity`, so operators can tell our connections apart.
    pub application_name: String,
    /// Whether new posts are copied into home timelines (`FEED=timeline`); off, the
    /// feed is pulled and posts cost no timeline writes.
    pub timelines: bool,
}

impl std::fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: print only where it points.
        let shown = self.url.rsplit_once('@').map_or("<url>", |(_, host)| host);
        f.debug_struct("PgSettings")
            .field("url", &format_args!("postgres://***@{shown}"))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl PgSettings {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            // Six services and two workers at 10 each hold at most 80 of PostgreSQL's
            // default 100 connections, leaving room for operators and migrations.
            max_connections: 10,
            min_connections: 1,
            idle_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            application_name: "scooterbooter".to_owned(),
            timelines: false,
        }
    }
}

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Copy new posts into home timelines.
    timelines: bool,
}

/// Migrations embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Attempts of a transaction that keeps losing races.
const ATTEMPTS: u32 = 8;

impl PgStore {
    /// The connection pool (tests and tools look at its size).
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// Connects and migrates.
    pub async fn open(settings: &PgSettings) -> Result<Self, OpenError> {
        let store = Self::connect(settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(settings: &PgSettings) -> Result<Self, OpenError> {
        let mut options = PgConnectOptions::from_str(&settings.url).map_err(OpenError::Url)?;
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        options = options
            .options([("statement_timeout", timeout_ms.as_str())])
            .application_name(&settings.application_name);
        if let Some(schema) = &settings.schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        // One direct connection first: a pool that cannot connect reports only "pool
        // timed out", while the server says why ("too many clients already", a refused
        // login, no such database), and that is what an operator needs to read.
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(OpenError::Connect)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(settings.idle_timeout))
            .after_release(|conn, _| Box::pin(fit_for_reuse(conn)))
            .connect_with(options)
            .await
            .map_err(OpenError::Connect)?;
        Ok(Self {
            pool,
            timelines: settings.timelines,
        })
    }

    /// Applies pending migrations (sqlx holds an advisory lock, so two processes
    /// starting together do not both migrate).
    pub async fn migrate(&self) -> Result<(), OpenError> {
        MIGRATOR.run(&self.pool).await.map_err(OpenError::Migrate)
    }
}

/// Whether a connection coming back to the pool may be reused: outside any transaction
/// by sqlx's count once a queued rollback has run. A failed COMMIT ends the transaction
/// on the server and sqlx's queued ROLLBACK then succeeds, so this only trips on a
/// state nobody predicted; such a connection is closed, never reused (issue 28).
async fn fit_for_reuse(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("a PostgreSQL connection was left in a failed transaction; replacing it");
        return Ok(false);
    }
    Ok(true)
}

/// Runs one attempt after another while an attempt loses a race (deadlock or
/// serialization failure), up to [`ATTEMPTS`]. Each attempt opens its own transaction;
/// an attempt that returns early without committing rolls back when its transaction
/// drops.
pub(crate) async fn retry<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut tries: u32 = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(e) if tries < ATTEMPTS && error::is_retryable(&e) => {
                // Spread retries out so the racers do not meet again.
                let jitter = u64::from(std::process::id() % 7) + u64::from(tries) * 3;
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            other => return other,
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(error::from_sqlx)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn post_context(&self, viewer: &UserId, posts: &[Post]) -> StoreResult<PostContext> {
        self.post_context_of(viewer, posts).await
    }
}
