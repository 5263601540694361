//! The one error type of every store method. Expected outcomes (absent rows, a refused
//! redemption) are values, not errors; this is only for what the caller cannot fix.

/// A boxed error from a backend's driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; names what was taken (`"handle"`, `"email"`).
    #[error("{0} is already taken")]
    Conflict(&'static str),
    /// The write refers to a row that vanished meanwhile (a user deleted during the
    /// request); the caller treats it as "not found".
    #[error("a referenced row no longer exists")]
    MissingReference,
    /// The backend could not be reached or timed out; the caller may retry later.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// The backend refused a write for lack of space (a full disk, a size cap). Nothing
    /// was written; the same write may succeed once space is freed.
    #[error("storage full")]
    StorageFull(#[source] BoxError),
    /// Anything else the backend reported.
    #[error("store failure")]
    Backend(#[source] BoxError),
}
