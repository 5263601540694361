//! The users service's rules, as plain async functions over the store traits; the
//! handlers in `routes` only parse input and render results.

pub mod accounts;
pub mod invites;
pub mod profile;
pub mod search;
