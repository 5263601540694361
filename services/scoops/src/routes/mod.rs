//! Handlers: `/scoops…`.

pub mod scoops;
