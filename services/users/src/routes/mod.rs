//! Handlers, one module per URL area: `/auth/*` and JWKS, `/me*` and `/username`,
//! `/me/invite*`, `/me/sessions*`, `/search`.

pub mod auth;
pub mod invites;
pub mod me;
pub mod search;
pub mod sessions;
