//! What the backends share and is not dialect: reading rows into domain records, and the
//! column lists those readers expect. Every SQL backend keeps its own SQL; a row from
//! either reads the same way, and so does a DynamoDB item, whose attributes carry the
//! column names (the `sqlx` feature, on by default, is the part only SQL needs).
//!
//! - [`Get`]: typed column access over any sqlx row, with errors as store errors.
//! - [`rows`]: one reader per record (user, post, comment, report, media, …).
//! - [`json`]: the same readers over rows a statement aggregated into JSON, so a page
//!   and everything shown beside it come back from one statement.

pub mod json;
pub mod rows;

#[cfg(feature = "sqlx")]
use scooter_store::StoreError;
use scooter_store::StoreResult;
#[cfg(feature = "sqlx")]
use sqlx::{ColumnIndex, Decode, Row, Type};

/// Typed column access over a stored record (an sqlx row, a JSON object, a DynamoDB item).
pub trait Get {
    /// A text column.
    fn text(&self, column: &str) -> StoreResult<String>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    /// An integer column.
    fn int(&self, column: &str) -> StoreResult<i64>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    /// A boolean column (0/1 on SQLite).
    fn flag(&self, column: &str) -> StoreResult<bool>;
}

#[cfg(feature = "sqlx")]
fn decode(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

#[cfg(feature = "sqlx")]
impl<R> Get for R
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    fn text(&self, column: &str) -> StoreResult<String> {
        self.try_get(column).map_err(decode)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.try_get(column).map_err(decode)
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        self.try_get(column).map_err(decode)
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.try_get(column).map_err(decode)
    }

    fn flag(&self, column: &str) -> StoreResult<bool> {
        self.try_get(column).map_err(decode)
    }
}
