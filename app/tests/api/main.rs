//! HTTP-level tests: the real router, driven with `oneshot`, on a fresh SQLite store in
//! a temp dir per test. One test binary (one link step) with a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod capacity;
mod cognito;
mod cors;
mod errors;
mod helpers;
mod invites;
#[cfg(feature = "aws")]
mod lambda_worker;
mod limits;
mod me;
mod media;
#[cfg(feature = "aws")]
mod media_s3;
mod moderation;
mod notifications;
mod oidc;
mod openapi;
mod overload;
mod posts;
mod push;
mod push_native;
mod scoops;
mod search;
mod seed;
mod services;
mod serving;
mod social;
mod tokens;
mod username;
mod workers;
