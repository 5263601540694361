//! The posts service's rules, as plain async functions over the store traits.

pub mod comments;
pub mod feed;
pub mod idempotency;
pub mod posts;
pub mod reactions;
pub mod timeline;
pub mod view;
