//! The notifications service's rules.

pub mod compose;
pub mod devices;
pub mod inbox;
