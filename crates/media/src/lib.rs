//! Media plumbing, independent of HTTP:
//!
//! - [`blobs`]: where uploaded files live, and the local folder.
//! - `s3` (feature `s3`): files in an S3 bucket, uploaded straight to it by presigned URLs.
//! - [`signing`]: HMAC-signed upload URLs binding key, content type, size and expiry.
//! - [`images`]: images checked by their bytes, decoded within limits, re-encoded
//!   without metadata (no EXIF/GPS), thumbnailed.
//! - [`video`]: FFmpeg probing and transcoding under strict limits.
//! - [`heic`]: iPhone HEIC photos converted through libheif, then cleaned like any image.
//! - [`tools`]: finding those external tools quickly at start.

pub mod blobs;
pub mod heic;
pub mod images;
#[cfg(feature = "s3")]
pub mod s3;
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
    /// The disk is full: nothing was kept, and the same work may succeed once space is
    /// freed.
    #[error("out of storage space: {0}")]
    StorageFull(String),
}

impl MediaError {
    /// An I/O failure: a full disk (or quota) is [`MediaError::StorageFull`], the rest
    /// [`MediaError::Internal`].
    pub fn io(e: &std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(ENOSPC) {
            Self::StorageFull(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }

    /// The failure of an external tool (FFmpeg, libheif) that exited unsuccessfully:
    /// a full disk is [`MediaError::StorageFull`], anything else a bad file.
    pub fn from_tool(stderr: &str, rejected: impl FnOnce() -> String) -> Self {
        // The tools print strerror(ENOSPC) / strerror(EDQUOT).
        if stderr.contains("No space left on device") || stderr.contains("Disk quota exceeded") {
            Self::StorageFull(stderr.lines().next().unwrap_or_default().to_owned())
        } else {
            Self::Rejected(rejected())
        }
    }
}

/// Linux's "no space left on device", for errors built without an `ErrorKind`.
const ENOSPC: i32 = 28;
