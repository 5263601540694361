//! Row readers come from `scooter-store-sql`, shared with the other SQL backend.

pub(crate) use scooter_store_sql::rows::{USER_COLUMNS, USER_RETURNING, user as user_from_row};
