//! Writing PNG/JPEG: display renderings, thumbnails, training images.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::resize::resample_u8;
use crate::window::render_window;
use crate::{GrayImage, ImagingError, Window};

fn check_len(width: u32, height: u32, len: usize) -> Result<(), ImagingError> {
    if width == 0 || height == 0 || len as u64 != u64::from(width) * u64::from(height) {
        return Err(ImagingError::InvalidArgument(format!(
            "{len} samples for a {width}×{height} image"
        )));
    }
    Ok(())
}

/// An 8-bit grayscale PNG from one byte per pixel (row-major).
pub fn encode_png8(width: u32, height: u32, gray: &[u8]) -> Result<Vec<u8>, ImagingError> {
    check_len(width, height, gray.len())?;
    let mut out = Vec::new();
    PngEncoder::new(Cursor::new(&mut out))
        .write_image(gray, width, height, ExtendedColorType::L8)
        .map_err(|e| ImagingError::Encode(e.to_string()))?;
    Ok(out)
}

/// A 16-bit grayscale PNG holding the image's values unchanged (a 15-bit
/// image keeps values below 32768; it is not stretched).
pub fn encode_png16(img: &GrayImage) -> Result<Vec<u8>, ImagingError> {
    check_len(img.width, img.height, img.data.len())?;
    // The `image` encoder takes 16-bit samples in native byte order.
    let bytes: Vec<u8> = img.data.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let mut out = Vec::new();
    PngEncoder::new(Cursor::new(&mut out))
        .write_image(&bytes, img.width, img.height, ExtendedColorType::L16)
        .map_err(|e| ImagingError::Encode(e.to_string()))?;
    Ok(out)
}

/// An 8-bit grayscale baseline JPEG (`quality` 1..=100).
pub fn encode_jpeg8(
    width: u32,
    height: u32,
    gray: &[u8],
    quality: u8,
) -> Result<Vec<u8>, ImagingError> {
    check_len(width, height, gray.len())?;
    if !(1..=100).contains(&quality) {
        return Err(ImagingError::InvalidArgument(format!(
            "JPEG quality must be 1..=100, got {quality}"
        )));
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut out), quality)
        .write_image(gray, width, height, ExtendedColorType::L8)
        .map_err(|e| ImagingError::Encode(e.to_string()))?;
    Ok(out)
}

/// Window, optionally invert, and encode as an 8-bit PNG: the
/// `GET /images/{id}/render` body.
pub fn render_png(img: &GrayImage, window: Window, invert: bool) -> Result<Vec<u8>, ImagingError> {
    encode_png8(img.width, img.height, &render_window(img, window, invert))
}

/// A PNG no larger than `max_side` on its longer side (aspect kept, never
/// enlarged), rendered with `window` (pass `meta.window` for the default).
pub fn thumbnail(img: &GrayImage, window: Window, max_side: u32) -> Result<Vec<u8>, ImagingError> {
    img.validate()?;
    if max_side == 0 {
        return Err(ImagingError::InvalidArgument("max_side must be > 0".into()));
    }
    let gray = render_window(img, window, false);
    let longer = img.width.max(img.height);
    if longer <= max_side {
        return encode_png8(img.width, img.height, &gray);
    }
    let scale = f64::from(max_side) / f64::from(longer);
    let tw = ((f64::from(img.width) * scale).round() as u32).clamp(1, max_side);
    let th = ((f64::from(img.height) * scale).round() as u32).clamp(1, max_side);
    let small = resample_u8(&gray, img.width, img.height, tw, th);
    encode_png8(tw, th, &small)
}
