//! Translation of driver errors into store errors; nothing above this crate sees sqlx.

use scooter_store::StoreError;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is not a PostgreSQL URL sqlx understands.
    #[error("DATABASE_URL is not a valid PostgreSQL URL")]
    Url(#[source] sqlx::Error),
    /// The server could not be reached or refused the login.
    #[error("cannot connect to PostgreSQL")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the PostgreSQL database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A transaction lost a race (deadlock or serialization failure) and may simply be run
/// again; the retry loop looks for it inside `StoreError::Backend`.
#[derive(Debug, thiserror::Error)]
#[error("transaction conflict; retry")]
pub(crate) struct Retryable(#[source] pub sqlx::Error);

/// What a database error's SQLSTATE says
/// (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
enum Class {
    /// A dangling foreign key.
    MissingReference,
    /// Serialization failure or deadlock: run the transaction again.
    LostRace,
    /// `disk_full`: the server could not write; nothing was committed.
    StorageFull,
    /// Out of memory or connections, a connection exception, a server shutting down or
    /// starting, a statement timeout: worth retrying later.
    ServerTrouble,
    /// About the query itself.
    Other,
}

fn classify(db: &dyn sqlx::error::DatabaseError) -> Class {
    if db.is_foreign_key_violation() {
        return Class::MissingReference;
    }
    match db.code().as_deref() {
        Some("40001" | "40P01") => Class::LostRace,
        Some("53100") => Class::StorageFull,
        Some("53200" | "53300" | "57014" | "57P01" | "57P02" | "57P03") => Class::ServerTrouble,
        Some(c) if c.starts_with("08") => Class::ServerTrouble,
        _ => Class::Other,
    }
}

/// Maps a driver error: a full disk is "storage full"; pool exhaustion, I/O and a
/// server in trouble are "unavailable"; a dangling foreign key is a missing reference;
/// lost races are retryable; the rest a failure.
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(ref db) => match classify(db.as_ref()) {
            Class::MissingReference => StoreError::MissingReference,
            Class::LostRace => StoreError::Backend(Box::new(Retryable(e))),
            Class::StorageFull => StoreError::StorageFull(Box::new(e)),
            Class::ServerTrouble => StoreError::Unavailable(Box::new(e)),
            Class::Other => StoreError::Backend(Box::new(e)),
        },
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(Box::new(e)),
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

/// Whether a store error is a lost race worth running again.
pub(crate) fn is_retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Backend(b) if b.is::<Retryable>())
}
