//! The id of the current request: set by the request-id middleware
//! ([`crate::middleware`]), read by every layer that logs or answers (the envelope, the
//! access log, the load shedding). A module of its own so that those layers need not
//! import one another.

/// The id of the current request, as the request-id middleware stored it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
