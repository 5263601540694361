//! Domain types shared by every service: ids, time, validated input, cursors and the
//! user model. Nothing here performs I/O, so every rule in it is unit-testable.
//!
//! Module map:
//! - [`ids`]: opaque, time-sortable identifiers.
//! - [`time`]: the one timestamp type (UTC milliseconds, RFC 3339 on the wire).
//! - [`validation`]: the error every parser returns.
//! - [`handle`], [`email`], [`text`], [`secret`], [`invite`]: input parsed at the edge.
//! - [`page`]: keyset paging (limits, opaque cursors).
//! - [`user`]: the user record, notification preferences and onboarding state.
//! - [`policy`]: account rules set by configuration (terms, invites, admins).
//! - [`search`]: the terms users are found by.
//! - [`social`]: relationships between users and the one visibility rule.
//! - [`report`]: reports and moderation decisions.
//! - [`post`]: posts, comments, reactions and mentions.
//! - [`notification`]: notifications, push devices and background jobs.
//! - [`media`]: upload types, keys and the media record.
//! - [`scoop`]: scoops and their captions.

pub mod email;
pub mod handle;
pub mod ids;
pub mod invite;
pub mod media;
pub mod notification;
pub mod page;
pub mod policy;
pub mod post;
pub mod report;
pub mod scoop;
pub mod search;
pub mod secret;
pub mod social;
pub mod text;
pub mod time;
pub mod user;
pub mod validation;

pub use email::Email;
pub use handle::Handle;
pub use ids::UserId;
pub use time::Timestamp;
pub use validation::ValidationError;
