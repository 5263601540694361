//! HTTP plumbing every service shares, so that all six speak the same API habits:
//!
//! - [`error`]: the one error type, [`ApiError`], and its JSON envelope.
//! - [`extract`]: `Json`, `Query` and `Path` extractors whose rejections use the envelope.
//! - [`identity`]: the `Identity` extractor (token → user, suspension and invite gates).
//! - [`in_flight`]: load shedding, a bound on requests in flight beyond which new ones get
//!   a 503 after a short wait.
//! - [`paging`]: `?limit=&cursor=` and the `{items, nextCursor}` body.
//! - [`rate_limit`] and [`client_ip`]: throttling keyed by account or real client address.
//! - [`request_limit`]: the rate limit on all requests, per address and per account,
//!   local or shared through Redis.
//! - [`shared_counts`]: counts in one Redis for every instance, failing open to local.
//! - [`middleware`]: request ids, JSON access logs, envelopes for every error, limits.
//! - [`request_id`]: the request's id, as the middleware stores it for the other layers.
//! - [`context`]: the state handed to every router.
//! - [`storage`]: whether writes are being refused for lack of space (507s, `/readyz`).
//! - [`views`]: response shapes every service embeds (`UserSummary`).

pub mod client_ip;
pub mod context;
pub mod error;
pub mod extract;
pub mod identity;
pub mod in_flight;
pub mod middleware;
pub mod paging;
pub mod rate_limit;
pub mod request_id;
pub mod request_limit;
pub mod shared_counts;
pub mod storage;
pub mod views;

pub use context::{AppContext, LocalAuth, MediaContext};
pub use error::{ApiError, ApiResult, ErrorBody, ErrorEnvelope};
pub use extract::{Json, Path, Query};
pub use identity::{Admin, Identity, Publisher, UngatedIdentity};
pub use paging::{PageQuery, Paged};
pub use views::{AttachmentView, MediaView, SuspensionView, UserSummary};
