//! Uploaded media: what may be uploaded, how keys are made and checked, and the record.

use crate::{Timestamp, UserId, ValidationError};
use serde::{Deserialize, Serialize};

/// Largest image upload, bytes.
pub const IMAGE_MAX_BYTES: u64 = 15 * 1024 * 1024;
/// Largest video upload, bytes.
pub const VIDEO_MAX_BYTES: u64 = 200 * 1024 * 1024;
/// Longest video, milliseconds.
pub const VIDEO_MAX_MS: u64 = 3 * 60 * 1000;
/// Media per post.
pub const MEDIA_PER_POST: usize = 10;

/// What an upload is for; it decides where it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaPurpose {
    /// Attached to a post.
    Post,
    /// A scoop.
    Scoop,
    /// A profile picture.
    Avatar,
}

impl MediaPurpose {
    /// The stored name (and key prefix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Scoop => "scoop",
            Self::Avatar => "avatar",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Post, Self::Scoop, Self::Avatar]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Image or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A still image.
    Image,
    /// A video.
    Video,
}

impl MediaKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Image, Self::Video]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// An upload URL was issued; nothing arrived yet.
    Pending,
    /// Bytes are arriving.
    Uploading,
    /// Uploaded; being checked or transcoded.
    Processing,
    /// Usable.
    Ready,
    /// Refused or broken (see `error`).
    Failed,
    /// Deleted by its owner.
    Removed,
}

impl MediaStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Uploading => "uploading",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Removed => "removed",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Uploading,
            Self::Processing,
            Self::Ready,
            Self::Failed,
            Self::Removed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// An accepted upload type: its kind, file extension and size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadType {
    /// Normalised content type.
    pub content_type: &'static str,
    /// Image or video.
    pub kind: MediaKind,
    /// File extension of stored keys.
    pub ext: &'static str,
}

const TYPES: &[UploadType] = &[
    UploadType {
        content_type: "image/jpeg",
        kind: MediaKind::Image,
        ext: "jpg",
    },
    UploadType {
        content_type: "image/png",
        kind: MediaKind::Image,
        ext: "png",
    },
    UploadType {
        content_type: "image/webp",
        kind: MediaKind::Image,
        ext: "webp",
    },
    UploadType {
        content_type: "image/heic",
        kind: MediaKind::Image,
        ext: "heic",
    },
    UploadType {
        content_type: "video/mp4",
        kind: MediaKind::Video,
        ext: "mp4",
    },
    UploadType {
        content_type: "video/quicktime",
        kind: MediaKind::Video,
        ext: "mov",
    },
];

/// Checks a declared content type and size for an upload.
pub fn upload_type(
    content_type: &str,
    size: u64,
    purpose: MediaPurpose,
) -> Result<UploadType, ValidationError> {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let t = TYPES.iter().find(|t| t.content_type == ct).copied().ok_or_else(|| {
        ValidationError::new(
            "contentType",
            "contentType must be image/jpeg, image/png, image/webp, image/heic, video/mp4 or video/quicktime",
        )
    })?;
    if purpose == MediaPurpose::Avatar && t.kind != MediaKind::Image {
        return Err(ValidationError::new(
            "contentType",
            "an avatar must be an image",
        ));
    }
    let max = match t.kind {
        MediaKind::Image => IMAGE_MAX_BYTES,
        MediaKind::Video => VIDEO_MAX_BYTES,
    };
    if size == 0 || size > max {
        return Err(ValidationError::new(
            "size",
            format!("size must be 1-{max} bytes for this type"),
        ));
    }
    Ok(t)
}

/// Widths of the smaller copies made of every image, narrowest first: a phone picks the
/// one that fills its screen instead of fetching the original.
pub const VARIANT_WIDTHS: [u32; 3] = [320, 640, 1080];
/// The widest entry of an image's variant list: an original up to this wide is listed
/// as itself, a wider one gets a copy this wide (the original stays at `url`).
pub const VARIANT_MAX_WIDTH: u32 = 2048;

/// The sizes in an image's variant list, narrowest first: each of
/// [`VARIANT_WIDTHS`] narrower than the image, then the image itself, or a copy
/// [`VARIANT_MAX_WIDTH`] wide when it is wider. Heights keep the aspect ratio.
pub fn variant_sizes(width: u32, height: u32) -> Vec<(u32, u32)> {
    let scaled = |w: u32| {
        let h = (u64::from(height) * u64::from(w) + u64::from(width) / 2) / u64::from(width.max(1));
        (w, u32::try_from(h).unwrap_or(u32::MAX).max(1))
    };
    let mut sizes: Vec<(u32, u32)> = VARIANT_WIDTHS
        .iter()
        .filter(|&&w| w < width)
        .map(|&w| scaled(w))
        .collect();
    sizes.push(if width > VARIANT_MAX_WIDTH {
        scaled(VARIANT_MAX_WIDTH)
    } else {
        (width, height)
    });
    sizes
}

/// The storage key of an image's copy `width` pixels wide (PNG for a PNG original, to
/// keep its transparency; JPEG otherwise).
pub fn variant_key(key: &str, width: u32) -> String {
    let ext = if key.ends_with(".png") { "png" } else { "jpg" };
    format!("{key}.w{width}.{ext}")
}

/// The original's key of a variant's key.
pub fn original_of_variant(key: &str) -> Option<&str> {
    let (rest, ext) = key.rsplit_once('.')?;
    let (original, width) = rest.rsplit_once(".w")?;
    let width: u32 = width.parse().ok()?;
    (variant_key(original, width) == key && matches!(ext, "png" | "jpg")).then_some(original)
}

/// A new storage key under the owner's prefix: `{purpose}/{owner}/{uuid}.{ext}`.
pub fn new_key(purpose: MediaPurpose, owner: &UserId, t: UploadType) -> String {
    format!(
        "{}/{}/{}.{}",
        purpose.as_str(),
        owner,
        crate::ids::new_id(),
        t.ext
    )
}

/// Whether `key` has the shape of a key we make: three segments of safe characters, no
/// `..`, no absolute path, no NUL. Keys from clients are checked with this before any
/// lookup, so nothing else ever reaches the filesystem.
pub fn is_valid_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let safe = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    parts.len() == 3
        && parts.iter().all(|p| safe(p))
        && MediaPurpose::from_stored(parts[0]).is_some()
        && !key.contains("..")
}

/// An upload and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Storage key.
    pub key: String,
    /// Who uploaded it.
    pub owner: UserId,
    /// What it is for.
    pub purpose: MediaPurpose,
    /// Image or video.
    pub kind: MediaKind,
    /// The declared (and, once checked, actual) content type.
    pub content_type: String,
    /// Declared size in bytes; the upload must match it exactly.
    pub size: u64,
    /// Where it stands.
    pub status: MediaStatus,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// Videos only.
    pub duration_ms: Option<u64>,
    /// Key of the thumbnail or poster frame.
    pub thumb_key: Option<String>,
    /// BlurHash of the image (or of a video's poster frame), once processed.
    pub blurhash: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When the upload URL was issued.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_the_narrower_widths_then_the_original_capped() {
        assert_eq!(
            variant_sizes(4000, 3000),
            [(320, 240), (640, 480), (1080, 810), (2048, 1536)]
        );
        assert_eq!(
            variant_sizes(800, 1200),
            [(320, 480), (640, 960), (800, 1200)]
        );
        assert_eq!(variant_sizes(320, 100), [(320, 100)]);
        assert_eq!(variant_sizes(100, 5000), [(100, 5000)]);
        assert_eq!(variant_key("post/u/a.png", 640), "post/u/a.png.w640.png");
        assert_eq!(variant_key("post/u/a.jpg", 640), "post/u/a.jpg.w640.jpg");
        assert_eq!(variant_key("post/u/a.webp", 640), "post/u/a.webp.w640.jpg");
        for key in ["post/u/a.png", "post/u/a.webp"] {
            assert_eq!(original_of_variant(&variant_key(key, 1080)), Some(key));
        }
        assert_eq!(original_of_variant("post/u/a.png.w640.jpg"), None);
        assert_eq!(original_of_variant("post/u/a.png"), None);
        assert_eq!(original_of_variant("post/u/a.png.wx.png"), None);
    }

    #[test]
    fn only_known_types_within_their_limits_are_accepted() {
        assert!(upload_type("image/jpeg", 10, MediaPurpose::Post).is_ok());
        assert!(upload_type("IMAGE/PNG; charset=x", 10, MediaPurpose::Avatar).is_ok());
        assert!(upload_type("video/mp4", 10, MediaPurpose::Avatar).is_err());
        assert!(upload_type("image/gif", 10, MediaPurpose::Post).is_err());
        assert!(upload_type("image/jpeg", IMAGE_MAX_BYTES + 1, MediaPurpose::Post).is_err());
        assert!(upload_type("video/mp4", 0, MediaPurpose::Post).is_err());
    }

    #[test]
    fn keys_are_checked_before_they_reach_a_filesystem() {
        let owner = UserId::generate();
        let t = upload_type("image/png", 10, MediaPurpose::Post).expect("type");
        assert!(is_valid_key(&new_key(MediaPurpose::Post, &owner, t)));
        for bad in [
            "../etc/passwd",
            "/post/a/b.png",
            "post/a/../b.png",
            "post/a/b\0.png",
            "post/a",
            "other/a/b.png",
            "post/a b/c.png",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }
}
