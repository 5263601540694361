//! Handlers: upload URLs and uploads, files, and my media.

pub mod files;
pub mod media;
pub mod uploads;
