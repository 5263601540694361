//! The embedded SQLite backend: the default store, a single file in the data folder.
//!
//! Writes go through a pool of exactly one connection, so SQLite's single-writer rule
//! is met by queueing in-process instead of by `SQLITE_BUSY` retries, and each
//! transaction is serialised with every other write. Reads use a separate pool of
//! read-only connections, which WAL lets run beside the writer. Both pools open all
//! their connections at start and keep them (no idle or lifetime limit): a connection
//! closed in quiet times had to be reopened under load, when descriptors may have run
//! out, and the store answered "unable to open database file" (issue 25).
//!
//! - [`open`](SqliteStore::open): connection settings, pools, migrations.
//! - `writer`: write transactions, and the check that a failed one never leaves the
//!   writer connection inside a transaction.
//! - `users`, `accounts`, `invites`, `social`, `moderation`, `posts`, `notifications`, `media`,
//!   `scoops`, `timelines`, `bulk`:
//!   the trait implementations, one module per trait.

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
mod timelines;
mod users;
mod writer;

use async_trait::async_trait;
use scooter_core::UserId;
use scooter_core::post::Post;
use scooter_store::{PostContext, Store, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

pub use error::OpenError;

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a 2xx survives power loss too (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a process crash; the last commits may roll back on
    /// power loss. Faster writes.
    Normal,
}

/// Settings of the SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    /// Commit durability.
    pub durability: Durability,
    /// Read-only connections.
    pub read_connections: u32,
    /// How long a statement waits for a lock another process holds (another `serve`,
    /// `worker` or `sqlite3` on the same file) before failing as unavailable
    /// (`SQLITE_BUSY_TIMEOUT_MS`, 5 s).
    pub busy_timeout: Duration,
    /// A cap on the database's size in bytes (`PRAGMA max_page_count`): writes beyond it
    /// fail as if the disk were full, leaving room on the disk for the WAL and media.
    /// `None`: no cap but the disk's.
    pub max_size: Option<u64>,
    /// Whether new posts are copied into home timelines (`FEED=timeline`); off, the
    /// feed is pulled and posts cost no timeline writes.
    pub timelines: bool,
    /// Bytes of the database file each reader maps into memory (`PRAGMA mmap_size`):
    /// reads of mapped pages copy nothing and make no system call, where a page beyond
    /// SQLite's small per-connection cache otherwise costs a `pread`. Off (0) by default:
    /// every mapped page a reader touches counts in the server's RSS (docs/decisions.md).
    pub mmap_size: u64,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            max_size: None,
            timelines: false,
            mmap_size: 0,
        }
    }
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction.
    writer: SqlitePool,
    /// Read-only connections.
    reader: SqlitePool,
    /// Copy new posts into home timelines.
    timelines: bool,
}

/// Migrations embedded at compile time, so the binary carries its own schema.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub async fn open(path: &Path, settings: &SqliteSettings) -> Result<Self, OpenError> {
        let store = Self::connect(path, settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without migrating (for `migrate` itself and for tests).
    pub async fn connect(path: &Path, settings: &SqliteSettings) -> Result<Self, OpenError> {
        let synchronous = match settings.durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        };
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(settings.busy_timeout);
        let mut writer_options = base.clone().create_if_missing(true);
        if let Some(bytes) = settings.max_size {
            // SQLite's default page size; the cap is per connection, so every writer
            // connection (a replacement too) gets it from the options.
            let pages = (bytes / 4096).max(1);
            writer_options = writer_options.pragma("max_page_count", pages.to_string());
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_release(|conn, _| Box::pin(writer::fit_for_reuse(conn)))
            .connect_with(writer_options)
            .await
            .map_err(OpenError::Connect)?;
        let readers = settings.read_connections.max(1);
        let reader = SqlitePoolOptions::new()
            .max_connections(readers)
            .min_connections(readers)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(
                base.read_only(true)
                    .pragma("mmap_size", settings.mmap_size.to_string()),
            )
            .await
            .map_err(OpenError::Connect)?;
        Ok(Self {
            writer,
            reader,
            timelines: settings.timelines,
        })
    }

    /// Applies pending migrations; safe to run on every start.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        MIGRATOR.run(&self.writer).await.map_err(OpenError::Migrate)
    }

    /// Closes both pools, waiting for in-flight statements. The readers go first: the
    /// last connection to close checkpoints the WAL into the database and removes it,
    /// which a read-only connection cannot do, and a WAL left behind must be read whole
    /// at the next start (4 MB after the benchmark's writes: +4 ms of cold start).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(error::from_sqlx)?;
        Ok(())
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }

    async fn post_context(&self, viewer: &UserId, posts: &[Post]) -> StoreResult<PostContext> {
        self.post_context_of(viewer, posts).await
    }
}
