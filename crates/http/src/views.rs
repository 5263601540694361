//! Response shapes shared by every service.

use scooter_core::Timestamp;
use scooter_core::media::{Media, MediaKind, MediaStatus, variant_key, variant_sizes};
use scooter_core::user::{Suspension, User};
use serde::{Deserialize, Deserializer, Serialize};

/// A user as embedded in posts, comments, notifications and lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// Opaque user id.
    pub id: String,
    /// Public handle; `null` until chosen.
    pub handle: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar thumbnail URL (320 px on the long side).
    pub avatar_url: Option<String>,
    /// The avatar at the size it was uploaded (cleaned, upright), for a profile screen.
    pub avatar_full_url: Option<String>,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            handle: u.handle.as_ref().map(ToString::to_string),
            display_name: u.display_name.clone(),
            avatar_url: u.avatar_key.as_deref().map(file_url),
            avatar_full_url: u
                .avatar_key
                .as_deref()
                .and_then(scooter_media::blobs::original_of_thumb)
                .map(file_url),
        }
    }
}

/// The URL a stored file is served at. Relative to the API's origin, so the same data
/// serves whatever host or proxy is in front.
pub fn file_url(key: &str) -> String {
    format!("/files/{key}")
}

/// An uploaded image or video as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaView {
    /// Upload key.
    pub key: String,
    /// image or video.
    pub kind: MediaKind,
    /// Where to fetch it (`null` unless ready).
    pub url: Option<String>,
    /// A small still (`null` unless ready).
    pub thumbnail_url: Option<String>,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// Videos only.
    pub duration_ms: Option<u64>,
    /// Ready images only: copies 320, 640 and 1080 pixels wide (those narrower than the
    /// image), then the image itself or, when wider than 2048, a copy 2048 wide;
    /// narrowest first. Pick the first at least as wide as the view in device pixels.
    pub variants: Vec<ImageVariant>,
    /// A [BlurHash](https://blurha.sh) of the image or the video's poster frame: a
    /// placeholder to draw, blurred, while the file loads (`null` until processed).
    pub blurhash: Option<String>,
    /// pending, uploading, processing, ready, failed or removed.
    pub status: MediaStatus,
    /// Why it failed, in plain words.
    pub error: Option<String>,
    /// `unusable_media` when `status` is `failed` (the file is not a usable image or
    /// video; upload another); the app switches on this, not on `error`.
    pub error_code: Option<&'static str>,
}

/// One size of an image.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageVariant {
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Where to fetch it.
    pub url: String,
}

/// The variant list of a ready image (see [`MediaView::variants`]).
fn variants(m: &Media) -> Vec<ImageVariant> {
    let (Some(width), Some(height)) = (m.width, m.height) else {
        return Vec::new();
    };
    if m.kind != MediaKind::Image || m.status != MediaStatus::Ready {
        return Vec::new();
    }
    // Copies are made with the placeholder: an image processed before they existed
    // (no placeholder) lists only itself.
    let sizes = match m.blurhash {
        Some(_) => variant_sizes(width, height),
        None => vec![(width, height)],
    };
    sizes
        .into_iter()
        .map(|(w, h)| ImageVariant {
            width: w,
            height: h,
            url: if w == width {
                file_url(&m.key)
            } else {
                file_url(&variant_key(&m.key, w))
            },
        })
        .collect()
}

impl From<&Media> for MediaView {
    fn from(m: &Media) -> Self {
        let ready = m.status == MediaStatus::Ready;
        Self {
            key: m.key.clone(),
            kind: m.kind,
            url: ready.then(|| file_url(&m.key)),
            thumbnail_url: m.thumb_key.as_deref().filter(|_| ready).map(file_url),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            variants: variants(m),
            blurhash: m.blurhash.clone().filter(|_| ready),
            status: m.status,
            error: m.error.clone(),
            error_code: (m.status == MediaStatus::Failed).then_some("unusable_media"),
        }
    }
}

/// An upload as a post or a scoop shows it: the media, and the alt text its author gave
/// it there (a property of the attachment, so not part of `MediaView` itself).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    /// The upload.
    #[serde(flatten)]
    pub media: MediaView,
    /// What it shows, in words, for screen readers; `null` when none was given.
    pub alt: Option<String>,
}

impl AttachmentView {
    /// `m` with the alt text `alt`.
    pub fn new(m: &Media, alt: Option<String>) -> Self {
        Self {
            media: MediaView::from(m),
            alt,
        }
    }
}

/// Why and since when an account is suspended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspensionView {
    /// The moderator's reason.
    pub reason: String,
    /// Since when.
    pub since: Timestamp,
}

impl From<&Suspension> for SuspensionView {
    fn from(s: &Suspension) -> Self {
        Self {
            reason: s.reason.clone(),
            since: s.at,
        }
    }
}

/// Deserialises a field that may be absent (outer `None`), `null` (`Some(None)`) or a
/// value (`Some(Some(v))`), for PATCH bodies. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
