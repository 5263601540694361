//! The one error type of every handler and its envelope:
//! `{"error": {"code", "message", "field", "requestId"}}`.
//!
//! Which constructor to use: input that breaks a rule → [`ApiError::validation`];
//! an object the caller may not see or that does not exist → [`ApiError::not_found`]
//! (never reveal which); authenticated but not allowed → [`ApiError::forbidden`];
//! a uniqueness clash → [`ApiError::conflict`]; anything unexpected → `From<StoreError>`
//! or [`ApiError::internal`], which log the cause and tell the client nothing of it.
//! The machine running out of something (descriptors, memory, pool slots: a store's
//! `Unavailable`, or an I/O error [`is_resource_exhaustion`] recognises anywhere in the
//! cause's chain) is never a 500: it answers 503 `unavailable` with `Retry-After`, and
//! is logged.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scooter_core::ValidationError;
use scooter_store::StoreError;
use serde::Serialize;
use std::borrow::Cow;

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error response before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code the app can switch on.
    pub code: &'static str,
    /// Message for people.
    pub message: Cow<'static, str>,
    /// The offending input field, for input errors.
    pub field: Option<String>,
    /// Seconds to wait, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 400 `validation_failed` naming a field.
    pub fn validation(field: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "validation_failed", message)
        }
    }

    /// 400 with a specific code.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no token, or a token we do not accept.
    pub fn unauthorized(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404 for what does not exist or must not be revealed.
    pub fn not_found(what: &'static str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409.
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; try again later",
            )
        }
    }

    /// 503: a dependency is down.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is temporarily unavailable",
            )
        }
    }

    /// 507: the server has no space to store this write; nothing was stored, and the
    /// same request may succeed later.
    pub fn insufficient_storage() -> Self {
        Self {
            retry_after: Some(60),
            ..Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                "the server is out of storage space; nothing was saved, try again later",
            )
        }
    }

    /// 500: logs `cause` with the request's span and tells the client nothing of it.
    /// A cause that is the machine out of resources ([`is_resource_exhaustion`]) is a
    /// 503 `unavailable` instead: the same request may well succeed in a moment.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        if is_resource_exhaustion(cause) {
            tracing::error!(error = %ErrorChain(cause), "out of resources: answering 503");
            return Self::unavailable();
        }
        tracing::error!(error = %ErrorChain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
        )
    }

    /// The generic error for a status produced outside our handlers (axum, tower layers).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such route"),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "method not allowed on this route")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "expected application/json")
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
                ("timeout", "the request took too long")
            }
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests; try again later"),
            StatusCode::SERVICE_UNAVAILABLE => {
                ("unavailable", "the service is temporarily unavailable")
            }
            StatusCode::UNAUTHORIZED => ("unauthorized", "authentication required"),
            StatusCode::FORBIDDEN => ("forbidden", "not allowed"),
            s if s.is_server_error() => ("internal", "something went wrong on our side"),
            _ => ("bad_request", "the request could not be processed"),
        };
        Self::new(status, code, message)
    }

    /// The envelope for this error, stamped with the request id.
    pub fn envelope(&self, request_id: Option<&str>) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message.to_string(),
                field: self.field.clone(),
                request_id: request_id.map(str::to_owned),
            },
        }
    }

    /// Renders the full response; the envelope middleware calls this with the id.
    pub fn render(&self, request_id: Option<&str>) -> Response {
        let body = serde_json::to_vec(&self.envelope(request_id)).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// Whether `cause`, or an error in its chain of sources, is the process or the machine
/// out of a resource rather than a fault: no file descriptor left (`EMFILE`, `ENFILE`),
/// no memory or buffer space (`ENOMEM`, `ENOBUFS`, out of memory).
pub fn is_resource_exhaustion(cause: &(dyn std::error::Error + 'static)) -> bool {
    use rustix::io::Errno;
    let mut next = Some(cause);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::OutOfMemory {
                return true;
            }
            if let Some(errno) = Errno::from_io_error(io)
                && [Errno::MFILE, Errno::NFILE, Errno::NOMEM, Errno::NOBUFS].contains(&errno)
            {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Formats an error with its sources, for logs.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Rendered here without a request id; the envelope middleware, which knows the
        // id, renders it again from the copy kept in the extensions.
        let mut res = self.render(None);
        res.extensions_mut().insert(self);
        res
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::validation(e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                Self::conflict("conflict", format!("{what} is already taken"))
            }
            StoreError::MissingReference => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "something this request refers to no longer exists",
            ),
            StoreError::Unavailable(ref cause) => {
                tracing::error!(error = %cause, "store unavailable");
                Self::unavailable()
            }
            StoreError::StorageFull(_) => Self::insufficient_storage(),
            StoreError::Backend(_) => Self::internal(&e),
        }
    }
}

/// The JSON body of every non-2xx response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The inside of the envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `validation_failed`, `not_found`, `handle_taken`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, for input errors.
    pub field: Option<String>,
    /// The request's `x-request-id`, for support.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error wrapping another, as drivers and the store do.
    #[derive(Debug, thiserror::Error)]
    #[error("wrapped")]
    struct Wrapped(#[source] std::io::Error);

    #[test]
    fn running_out_of_descriptors_anywhere_in_the_chain_is_a_503_not_a_500() {
        let emfile = Wrapped(std::io::Error::from_raw_os_error(24));
        let e = ApiError::internal(&emfile);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code, "unavailable");
        let res = e.render(Some("r1"));
        assert!(res.headers().contains_key(header::RETRY_AFTER));

        let store = StoreError::Backend(Box::new(Wrapped(std::io::Error::from(
            std::io::ErrorKind::OutOfMemory,
        ))));
        assert_eq!(
            ApiError::from(store).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn other_failures_stay_500() {
        let denied = Wrapped(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(
            ApiError::internal(&denied).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
