//! The single writer connection's transactions, and the check that keeps a connection
//! in an unknown state out of the pool.
//!
//! Why: sqlx counts transaction depth itself and trusts the count. When SQLite rolls a
//! transaction back on its own (a COMMIT that fails with a full disk does), the count
//! stays at 1, the rollback sqlx queues fails ("no transaction is active"), and its next
//! `begin()` issues `SAVEPOINT` instead of `BEGIN`. A failed `RELEASE` of that savepoint
//! leaves SQLite inside a transaction, and every later "transaction" became a savepoint
//! nested in it: released without error, so answered 2xx, visible to the writer alone,
//! and never committed (issue 28). Two rules close that:
//!
//! - every write transaction starts with `BEGIN IMMEDIATE` as a custom statement, which
//!   sqlx refuses to nest and checks SQLite really entered ([`SqliteStore::begin_write`]);
//! - a connection handed back with sqlx's count above zero, once any queued rollback has
//!   run, is closed instead of reused, and the pool opens a fresh one
//!   ([`fit_for_reuse`]).
//!
//! `IMMEDIATE` also takes the write lock at once, so a transaction never fails half-way
//! with `SQLITE_BUSY` when several processes share the file.

use crate::SqliteStore;
use crate::error::from_sqlx;
use scooter_store::StoreResult;
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};

impl SqliteStore {
    /// Begins a write transaction on the writer connection.
    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(from_sqlx)
    }
}

/// Whether a connection coming back to the writer pool may be reused: outside any
/// transaction by sqlx's count, after the rollback a dropped transaction queued has run.
pub(crate) async fn fit_for_reuse(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // Commands run in order on the connection's thread: a ping waits for the queued
    // rollback, after which the count is settled.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "the SQLite writer connection was left in a failed transaction; replacing it"
        );
        return Ok(false);
    }
    Ok(true)
}
