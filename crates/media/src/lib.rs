//! Media plumbing, independent of HTTP:
//!
//! - [`blobs`]: where uploaded files live (a local folder now; S3 behind the same trait).
//! - [`signing`]: HMAC-signed upload URLs binding key, content type, size and expiry.
//! - [`images`]: images checked by their bytes, decoded within limits, re-encoded
//!   without metadata (no EXIF/GPS), thumbnailed.
//! - [`video`]: FFmpeg probing and transcoding under strict limits.
//! - [`heic`]: iPhone HEIC photos converted through libheif, then cleaned like any image.
//! - [`tools`]: finding those external tools quickly at start.

pub mod blobs;
pub mod heic;
pub mod images;
pub mod signing;
pub mod tools;
pub mod video;

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file is not what it claims, is malformed, or breaks a limit (a user error).
    #[error("{0}")]
    Rejected(String),
    /// Storage or a tool failed (our problem; may be retried).
    #[error("media processing failed: {0}")]
    Internal(String),
}
