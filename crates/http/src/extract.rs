//! Extractors whose every rejection is an [`ApiError`] in the envelope: JSON bodies
//! (content type checked, size-limited, unknown fields refused by the request types'
//! `deny_unknown_fields`, the offending field named), query strings and path segments.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A JSON request body, or a JSON response body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether a JSON text holds an escaped NUL (`\u0000`), in any letter case.
fn contains_nul_escape(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].iter().all(|b| *b == b'0'))
}

/// Whether a URI part holds a percent-encoded NUL.
fn has_encoded_nul(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Turns a serde error into a 400 naming the field where possible.
fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::bad_request("invalid_json", "request body is not valid JSON");
    }
    let msg = inner.to_string();
    // serde reports unknown fields with the parent's path; name the field itself.
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default().to_owned();
        return ApiError::validation(name.clone(), format!("unknown field `{name}`"));
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default().to_owned();
        return ApiError::validation(name.clone(), format!("{name} is required"));
    }
    let path = e.path().to_string();
    let field = if path == "." { None } else { Some(path) };
    // serde's message ends with " at line L column C"; people do not need that.
    let msg = msg.split(" at line ").next().unwrap_or_default().to_owned();
    ApiError {
        field,
        ..ApiError::bad_request("validation_failed", msg)
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(CONTENT_TYPE)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::bad_request("invalid_body", "request body could not be read")
            }
        })?;
        // NUL is never meaningful in our text, and some databases refuse it outright.
        if contains_nul_escape(&bytes) {
            return Err(ApiError::bad_request(
                "validation_failed",
                "text must not contain NUL characters",
            ));
        }
        // Every request body of the API is an object; serde would also read a struct
        // from an array of its fields in order, which the document does not allow.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request(
                "validation_failed",
                "the request body must be a JSON object",
            ));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(json_error)?;
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if has_encoded_nul(query) {
            return Err(ApiError::bad_request(
                "validation_failed",
                "the query must not contain NUL characters",
            ));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = plain_query_error(&field, &e.inner().to_string());
                ApiError {
                    field: (field != ".").then_some(field),
                    ..ApiError::bad_request("validation_failed", message)
                }
            })
    }
}

/// A query error as an app developer should read it: the number parsers' own texts
/// ("invalid digit found in string") become what the parameter should have been.
fn plain_query_error(field: &str, message: &str) -> String {
    const NUMBER_ERRORS: [&str; 5] = [
        "invalid digit found in string",
        "cannot parse integer from empty string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "invalid float literal",
    ];
    if NUMBER_ERRORS.contains(&message) {
        format!("{field} must be a number")
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        // serde's "unknown field `x`, expected one of `a`, `b`": said as a parameter.
        format!("unknown query parameter {rest}")
    } else {
        message.to_owned()
    }
}

/// Path parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(ApiError::bad_request(
                "invalid_path",
                "the path must not contain NUL characters",
            ));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))
    }
}

/// The optional `Idempotency-Key` header: 1–255 visible ASCII characters.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
        key.map(|k| Self(Some(k.to_owned()))).ok_or_else(|| {
            ApiError::validation(
                "Idempotency-Key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn query_errors_name_the_parameter_not_the_parser() {
        assert_eq!(
            plain_query_error("expires", "invalid digit found in string"),
            "expires must be a number"
        );
        assert_eq!(
            plain_query_error(".", "unknown field `foo`, expected `limit` or `cursor`"),
            "unknown query parameter `foo`, expected `limit` or `cursor`"
        );
        assert_eq!(
            plain_query_error("q", "missing field `q`"),
            "missing field `q`"
        );
    }

    #[test]
    fn encoded_nuls_are_found() {
        assert!(contains_nul_escape(br#"{"a":"x\u0000"}"#));
        assert!(!contains_nul_escape(br#"{"a":"\u0041"}"#));
        assert!(has_encoded_nul("/posts/a%00b"));
        assert!(!has_encoded_nul("/posts/a%20b"));
    }

    #[test]
    fn json_content_types_are_recognised() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(Some(&HeaderValue::from_static(ok))), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            assert!(!is_json(Some(&HeaderValue::from_static(bad))), "{bad}");
        }
        assert!(!is_json(None));
    }
}
