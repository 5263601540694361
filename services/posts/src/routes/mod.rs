//! Handlers, one module per URL area: `/feed` and `/u/{handle}/posts`, `/posts`,
//! `/comments`, `/reactions`.

pub mod comments;
pub mod feed;
pub mod posts;
pub mod reactions;
