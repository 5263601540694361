//! Images: the type is read from the bytes, decoding is bounded (against decompression
//! bombs), and the stored file is re-encoded from pixels, which drops every metadata
//! block (EXIF with GPS included: riders' home locations must not leak).

use crate::MediaError;
use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Largest width or height accepted.
pub const MAX_SIDE: u32 = 8192;
/// Largest decoded image in memory.
pub const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;
/// Longest side of a thumbnail.
pub const THUMB_SIDE: u32 = 320;

/// What became of an image.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    /// The clean file to store.
    pub bytes: Vec<u8>,
    /// Its content type, from its bytes.
    pub content_type: &'static str,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// A JPEG thumbnail.
    pub thumbnail: Vec<u8>,
}

fn content_type(f: ImageFormat) -> Option<&'static str> {
    match f {
        ImageFormat::Jpeg => Some("image/jpeg"),
        ImageFormat::Png => Some("image/png"),
        ImageFormat::WebP => Some("image/webp"),
        _ => None,
    }
}

fn rejected(e: impl std::fmt::Display) -> MediaError {
    MediaError::Rejected(format!("not a usable image: {e}"))
}

/// Checks and cleans an uploaded image (CPU-bound: call from a blocking thread).
pub fn process(bytes: &[u8]) -> Result<ProcessedImage, MediaError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(rejected)?;
    let format = reader.format().ok_or_else(|| rejected("unknown format"))?;
    let content_type =
        content_type(format).ok_or_else(|| rejected("only JPEG, PNG and WebP are accepted"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(rejected)?;
    let (width, height) = (img.width(), img.height());
    // JPEG has no alpha: flatten to RGB for it; keep alpha for PNG and WebP.
    let mut out = Cursor::new(Vec::new());
    let encoded = match format {
        ImageFormat::Jpeg => img.to_rgb8().write_to(&mut out, ImageFormat::Jpeg),
        ImageFormat::WebP => img.to_rgba8().write_to(&mut out, ImageFormat::WebP),
        _ => img.write_to(&mut out, ImageFormat::Png),
    };
    encoded.map_err(|e| MediaError::Internal(e.to_string()))?;
    let thumb = img.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut thumbnail = Cursor::new(Vec::new());
    thumb
        .write_to(&mut thumbnail, ImageFormat::Jpeg)
        .map_err(|e| MediaError::Internal(e.to_string()))?;
    Ok(ProcessedImage {
        bytes: out.into_inner(),
        content_type,
        width,
        height,
        thumbnail: thumbnail.into_inner(),
    })
}

/// A JPEG thumbnail of an image file (a video's poster frame).
pub fn thumbnail_of(bytes: &[u8]) -> Result<Vec<u8>, MediaError> {
    process(bytes).map(|p| p.thumbnail)
}
