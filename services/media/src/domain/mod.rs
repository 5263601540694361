//! The media service's rules.

pub mod jobs;
pub mod manage;
pub mod uploads;
