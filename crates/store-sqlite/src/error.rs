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

/// SQLite's primary result codes that say something about the machine, not the query
/// (<https://sqlite.org/rescode.html>).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;

/// The primary result code of a database error (sqlx reports the extended one).
fn primary_code(db: &dyn sqlx::error::DatabaseError) -> Option<i64> {
    db.code()?.parse::<i64>().ok().map(|c| c & 0xff)
}

/// Maps a driver error: a full disk (or the size cap) is "storage full"; a lock held
/// too long, I/O errors and pool exhaustion are "unavailable"; a foreign key that no
/// longer resolves is a missing reference; the rest a failure.
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference
        }
        sqlx::Error::Database(ref db) => match primary_code(db.as_ref()) {
            Some(SQLITE_FULL) => StoreError::StorageFull(Box::new(e)),
            Some(
                SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_CANTOPEN | SQLITE_PROTOCOL,
            ) => StoreError::Unavailable(Box::new(e)),
            _ => StoreError::Backend(Box::new(e)),
        },
        sqlx::Error::Io(ref io) if io.kind() == std::io::ErrorKind::StorageFull => {
            StoreError::StorageFull(Box::new(e))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Running out of descriptors or pool slots is the machine's state, not the
    /// request's fault: "unavailable" (a 503 with `Retry-After`), never a failure (500).
    #[test]
    fn resource_exhaustion_is_unavailable() {
        let emfile = sqlx::Error::Io(std::io::Error::from_raw_os_error(24));
        assert!(matches!(from_sqlx(emfile), StoreError::Unavailable(_)));
        assert!(matches!(
            from_sqlx(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
    }
}
