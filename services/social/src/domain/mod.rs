//! The social service's rules, as plain async functions over the store traits.

pub mod graph;
pub mod moderation;
pub mod profiles;
pub mod reports;
pub mod visibility;
