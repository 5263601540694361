//! What setting up a provider shares: the HTTP client, and why setting up failed.

use std::path::PathBuf;
use std::time::Duration;

/// Why a provider could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A key or credentials file could not be read.
    #[error("cannot read {}", .0.display())]
    Read(PathBuf, #[source] std::io::Error),
    /// A setting or a file's content cannot be used.
    #[error("invalid {0}: {1}")]
    Invalid(&'static str, String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// A client whose requests time out after 10 s and follow no redirects; `http2_only`
/// speaks HTTP/2 alone (APNs): negotiated over TLS, or with prior knowledge over plain
/// HTTP (the stand-ins of the tests).
pub(crate) fn client(http2_only: bool) -> Result<reqwest::Client, SetupError> {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    if http2_only {
        b = b.http2_prior_knowledge();
    }
    b.build().map_err(SetupError::Client)
}
