//! Translation of driver errors into store errors; nothing above this crate sees sqlx.

use scooter_store::StoreError;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened or created.
    #[error("cannot open the SQLite database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the SQLite database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Maps a driver error: pool exhaustion and I/O are "unavailable", a foreign key that
/// no longer resolves is a missing reference, the rest a failure.
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(Box::new(e))
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

/// Maps a driver error where a unique violation means `what` is taken.
pub(crate) fn conflict_as(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => from_sqlx(e),
    }
}
