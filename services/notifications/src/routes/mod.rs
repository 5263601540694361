//! Handlers: `/notifications*` and `/push/*`.

pub mod inbox;
pub mod push;
