//! Bounded HTTP for the identity provider: one client with short timeouts that never
//! follows redirects, bodies read up to a cap, and the rule for which URLs may carry
//! keys (HTTPS, or plain HTTP to this machine for tests and emulators). A provider
//! that hangs or answers megabytes must not hang or swell the API (SECURITY.md).

use reqwest::Url;
use std::time::Duration;

/// Why a fetch from the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connecting, sending or reading failed (including timeouts).
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer was not a success.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// The body was larger than allowed.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// The body was not the JSON expected.
    #[error("unexpected body: {0}")]
    Body(String),
}

/// An HTTP client for provider calls: `timeout` for the whole exchange, no redirects
/// (a redirect could lead a key fetch anywhere), rustls.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("scooterbooter/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Reads a response's body, refusing it once it passes `max` bytes (before reading
/// any of it when `Content-Length` already says so).
pub async fn read_limited(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, FetchError> {
    if res
        .content_length()
        .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether the URL's host is this machine (where plain HTTP is allowed).
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses a URL that keys, discovery documents or user details are fetched from:
/// HTTPS, or HTTP to 127.0.0.1/localhost only (tests, emulators). Keys fetched in clear
/// over a network could be swapped by anyone on the path.
pub fn secure_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(format!(
            "{s:?} must be an https:// URL (http:// only for 127.0.0.1 or localhost)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_urls_may_carry_keys() {
        for ok in [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            "http://127.0.0.1:4566/x",
            "http://localhost:8080",
            "http://[::1]:9/",
        ] {
            assert!(secure_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example.com",
            "ftp://127.0.0.1/",
            "not a url",
            "http://127.0.0.1.nip.io/",
        ] {
            assert!(secure_url(bad).is_err(), "{bad}");
        }
    }
}
