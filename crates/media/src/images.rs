//! Images: the type is read from the bytes, decoding is bounded (against decompression
//! bombs), and the stored file is re-encoded from pixels, which drops every metadata
//! block (EXIF with GPS included: riders' home locations must not leak). Since the EXIF
//! orientation goes with it, it is applied to the pixels first: phones store portraits
//! as landscape sensor pixels plus a "rotate 90°" tag.

use crate::MediaError;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use scooter_core::media::variant_sizes;
use std::io::Cursor;

/// Largest width or height accepted.
pub const MAX_SIDE: u32 = 8192;
/// Largest decoded image in memory.
pub const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;
/// Longest side of a thumbnail.
pub const THUMB_SIDE: u32 = 320;
/// JPEG quality of the smaller copies (the original keeps the encoder's default).
const VARIANT_QUALITY: u8 = 82;
/// BlurHash components across and down: 4×3 is the reference implementation's
/// suggestion for photos (a 28-character string).
const BLURHASH_COMPONENTS: (u32, u32) = (4, 3);

/// Bytes of memory decoding and re-encoding an image takes per pixel, at most: the
/// decoded RGBA pixels, the converted copy the encoder reads, and the encoder's and
/// thumbnailer's buffers (measured: an 8192×8192 PNG peaked at ~240 MB per decode).
pub const BYTES_PER_PIXEL: u64 = 12;

/// Memory for decoding images, shared by every upload in the process: each decode
/// reserves `width × height ×` [`BYTES_PER_PIXEL`] before it starts and waits while
/// others hold the budget, so peak memory stays under the budget whatever the number of
/// uploads at once (without it, 8 parallel uploads of a 255 KB PNG declaring
/// 8192×8192 took the server to 1.9 GB).
#[derive(Debug)]
pub struct DecodeBudget {
    permits: tokio::sync::Semaphore,
    total_mib: u32,
}

/// Part of the [`DecodeBudget`], held while an image is decoded.
#[derive(Debug)]
pub struct Reserved<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl DecodeBudget {
    /// A budget of `mib` MiB (at least one image of the largest size must fit:
    /// smaller budgets are raised to that).
    pub fn new(mib: u32) -> Self {
        let largest = mib_for(MAX_SIDE, MAX_SIDE);
        let total_mib = mib.max(largest);
        Self {
            permits: tokio::sync::Semaphore::new(total_mib as usize),
            total_mib,
        }
    }

    /// The budget, MiB.
    pub fn total_mib(&self) -> u32 {
        self.total_mib
    }

    /// Waits for the memory an image of `width × height` needs.
    pub async fn reserve(&self, width: u32, height: u32) -> Result<Reserved<'_>, MediaError> {
        let need = mib_for(width, height).min(self.total_mib);
        self.permits
            .acquire_many(need)
            .await
            .map(|p| Reserved { _permit: p })
            .map_err(|_| MediaError::Internal("the decode budget is closed".into()))
    }
}

fn mib_for(width: u32, height: u32) -> u32 {
    let bytes = u64::from(width) * u64::from(height) * BYTES_PER_PIXEL;
    u32::try_from(bytes.div_ceil(1024 * 1024))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// The size an image declares in its header, read without decoding it; refused
/// beyond [`MAX_SIDE`].
pub fn declared_size(bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    let (w, h) = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(rejected)?
        .into_dimensions()
        .map_err(rejected)?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(rejected(format!(
            "larger than {MAX_SIDE}×{MAX_SIDE} pixels"
        )));
    }
    Ok((w, h))
}

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
    /// Smaller copies, `(width, file)`, for the sizes in `variant_sizes` other than the
    /// original itself (PNG for a PNG, JPEG otherwise; stored under `variant_key`).
    pub variants: Vec<(u32, Vec<u8>)>,
    /// The BlurHash of the picture, for a placeholder while it loads.
    pub blurhash: String,
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
    let mut decoder = reader.into_decoder().map_err(rejected)?;
    // A malformed EXIF block is no reason to refuse a photo: it is shown as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(rejected)?;
    img.apply_orientation(orientation);
    // The size as shown, after the rotation.
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
    // Widest first, each made from the one before: resampling 12 MP once instead of
    // four times.
    let mut variants = Vec::new();
    let mut previous: Option<DynamicImage> = None;
    for (w, h) in variant_sizes(width, height).into_iter().rev() {
        if w == width {
            continue;
        }
        let small = previous
            .as_ref()
            .unwrap_or(&img)
            .resize_exact(w, h, FilterType::CatmullRom);
        variants.push((w, encode_variant(&small, format)?));
        previous = Some(small);
    }
    variants.reverse();
    Ok(ProcessedImage {
        bytes: out.into_inner(),
        content_type,
        width,
        height,
        thumbnail: thumbnail.into_inner(),
        variants,
        blurhash: blurhash(&img)?,
    })
}

/// A smaller copy's file: PNG for a PNG original, JPEG otherwise.
fn encode_variant(small: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, MediaError> {
    let mut out = Cursor::new(Vec::new());
    let encoded = match format {
        ImageFormat::Png => small.write_to(&mut out, ImageFormat::Png),
        _ => small
            .to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, VARIANT_QUALITY)),
    };
    encoded.map_err(|e| MediaError::Internal(e.to_string()))?;
    Ok(out.into_inner())
}

/// The BlurHash of a picture, computed on a copy at most 64 pixels across (the hash
/// keeps only a few low frequencies, so more pixels change nothing but the time).
fn blurhash(img: &DynamicImage) -> Result<String, MediaError> {
    let small = img.thumbnail(64, 64).to_rgba8();
    let (x, y) = BLURHASH_COMPONENTS;
    blurhash::encode(x, y, small.width(), small.height(), small.as_raw())
        .map_err(|e| MediaError::Internal(format!("blurhash: {e}")))
}

/// A JPEG thumbnail of an image file (a video's poster frame).
pub fn thumbnail_of(bytes: &[u8]) -> Result<Vec<u8>, MediaError> {
    process(bytes).map(|p| p.thumbnail)
}

/// The BlurHash of an image file (a video's poster frame).
pub fn blurhash_of(bytes: &[u8]) -> Result<String, MediaError> {
    let img = image::load_from_memory(bytes).map_err(rejected)?;
    blurhash(&img)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::png::PngEncoder;
    use image::{ExtendedColorType, ImageEncoder, RgbImage};

    /// A little-endian EXIF block holding only an orientation tag.
    fn exif(orientation: u8) -> Vec<u8> {
        let mut exif = b"II\x2a\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
        exif.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0, 0]);
        exif
    }

    /// A 3×2 image whose six pixels all differ.
    fn stored() -> RgbImage {
        RgbImage::from_fn(3, 2, |x, y| {
            let v = u8::try_from(40 * (x + 3 * y)).unwrap_or(0);
            image::Rgb([v, 255 - v, v / 2])
        })
    }

    fn png_with(orientation: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = PngEncoder::new(&mut out);
        enc.set_exif_metadata(exif(orientation)).expect("png exif");
        let img = stored();
        enc.write_image(img.as_raw(), 3, 2, ExtendedColorType::Rgb8)
            .expect("png");
        out
    }

    #[test]
    fn every_exif_orientation_is_applied_to_the_pixels() {
        for tag in 1..=8u8 {
            let got = process(&png_with(tag)).expect("processes");
            let expected = {
                let mut img = DynamicImage::ImageRgb8(stored());
                img.apply_orientation(Orientation::from_exif(tag).expect("valid tag"));
                img.to_rgb8()
            };
            let (w, h) = if tag >= 5 { (2, 3) } else { (3, 2) };
            assert_eq!((got.width, got.height), (w, h), "orientation {tag}");
            let shown = image::load_from_memory(&got.bytes)
                .expect("decodes")
                .to_rgb8();
            assert_eq!(shown, expected, "orientation {tag}");
            let mut again = ImageReader::new(Cursor::new(&got.bytes))
                .with_guessed_format()
                .expect("reads")
                .into_decoder()
                .expect("decoder");
            assert_eq!(
                again.orientation().expect("orientation"),
                Orientation::NoTransforms,
                "no tag is left to rotate it twice"
            );
        }
    }

    #[test]
    fn a_portrait_jpeg_from_a_phone_comes_out_upright() {
        let mut jpeg = Vec::new();
        let mut enc = JpegEncoder::new(&mut jpeg);
        enc.set_exif_metadata(exif(6)).expect("jpeg exif");
        let img = RgbImage::from_pixel(1200, 900, image::Rgb([200, 30, 30]));
        enc.write_image(img.as_raw(), 1200, 900, ExtendedColorType::Rgb8)
            .expect("jpeg");
        let got = process(&jpeg).expect("processes");
        assert_eq!((got.width, got.height), (900, 1200));
        let thumb = image::load_from_memory(&got.thumbnail).expect("thumb");
        assert!(
            thumb.height() > thumb.width(),
            "the thumbnail is upright too"
        );
    }

    #[tokio::test]
    async fn decodes_wait_for_memory_and_never_exceed_the_budget() {
        let budget = DecodeBudget::new(0);
        let total = budget.total_mib();
        assert_eq!(
            total,
            mib_for(MAX_SIDE, MAX_SIDE),
            "raised to one largest image"
        );
        let big = budget
            .reserve(MAX_SIDE, MAX_SIDE)
            .await
            .expect("fits alone");
        let waiting = budget.reserve(MAX_SIDE, MAX_SIDE);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), waiting)
                .await
                .is_err(),
            "a second one waits while the first holds the budget"
        );
        drop(big);
        let again = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            budget.reserve(MAX_SIDE, MAX_SIDE),
        )
        .await;
        assert!(again.is_ok(), "and goes once it is freed");
        // Phone photos share it: a 12 MP photo takes ~140 MiB.
        assert_eq!(mib_for(4000, 3000), 138);
    }

    #[test]
    fn the_declared_size_is_read_without_decoding() {
        assert_eq!(declared_size(&png_with(1)).expect("size"), (3, 2));
        assert!(declared_size(b"not an image").is_err());
    }

    #[test]
    fn a_malformed_exif_block_leaves_the_image_as_stored() {
        let mut out = Vec::new();
        let mut enc = PngEncoder::new(&mut out);
        enc.set_exif_metadata(b"II\x2a\0garbage".to_vec())
            .expect("exif");
        let img = stored();
        enc.write_image(img.as_raw(), 3, 2, ExtendedColorType::Rgb8)
            .expect("png");
        let got = process(&out).expect("processes");
        assert_eq!((got.width, got.height), (3, 2));
    }
}
