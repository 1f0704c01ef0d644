//! PNG and JPEG through the `image` crate.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader};

use crate::types::SampleShape;
use crate::window::percentile_window;
use crate::{Decoded, Format, GrayImage, ImageMeta, ImagingError, Limits, Window};

pub(super) fn decode_raster(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Decoded, ImagingError> {
    let name = format_name(format);
    let corrupt = |e: image::ImageError| ImagingError::CorruptImage {
        format: name,
        message: e.to_string(),
    };
    let reader = || {
        let mut r = ImageReader::new(Cursor::new(bytes));
        r.set_format(image_format(format));
        r
    };
    // Header only: refuse huge declared sizes before allocating anything.
    let (w, h) = dimensions(bytes, format)?;
    limits.check_pixels(u64::from(w), u64::from(h), 1)?;

    if format == Format::Jpeg && !jpeg_has_end(bytes) {
        // The decoder would fill a cut-off scan with grey and say nothing.
        return Err(ImagingError::CorruptImage {
            format: name,
            message: "the image data ends early (no end-of-image marker)".into(),
        });
    }

    let mut r = reader();
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(w);
    lim.max_image_height = Some(h);
    // Decoders may hold the image at 8 bytes per pixel (RGBA16) plus working memory.
    lim.max_alloc = Some(u64::from(w) * u64::from(h) * 16 + (64 << 20));
    r.limits(lim);
    let dynimg = r.decode().map_err(corrupt)?;
    let (image, photometric) = to_gray(dynimg);
    // 8-bit PNG/JPEG are already windowed for display: show them as they are.
    let window = if image.bits == 8 {
        Window::full_range(8)
    } else {
        percentile_window(&image)
    };
    let mut meta = ImageMeta::for_raster(&image, photometric, window);
    meta.bits_stored = image.bits;
    Ok(Decoded {
        image,
        meta,
        format,
    })
}

fn image_format(format: Format) -> ImageFormat {
    match format {
        Format::Png => ImageFormat::Png,
        _ => ImageFormat::Jpeg,
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Png => "PNG",
        _ => "JPEG",
    }
}

/// Width and height from the header (PNG: the IHDR chunk; JPEG: the frame header).
pub(super) fn dimensions(bytes: &[u8], format: Format) -> Result<(u32, u32), ImagingError> {
    let s = shape(bytes, format)?;
    Ok((s.width as u32, s.height as u32))
}

/// Dimensions and the samples the decoder will produce, from the header:
/// PNG colour type (a `tRNS` chunk adds alpha) and bit depth (below 8 is
/// expanded to 8); JPEG components and precision.
pub(super) fn shape(bytes: &[u8], format: Format) -> Result<SampleShape, ImagingError> {
    let name = format_name(format);
    match format {
        Format::Png => png_shape(bytes).ok_or_else(|| ImagingError::CorruptImage {
            format: name,
            message: "no valid IHDR chunk at the start".into(),
        }),
        _ => jpeg_shape(bytes).ok_or_else(|| ImagingError::CorruptImage {
            format: name,
            message: "no frame header before the image data".into(),
        }),
    }
}

fn png_shape(bytes: &[u8]) -> Option<SampleShape> {
    let (width, height) = png_dimensions(bytes)?;
    let depth = *bytes.get(24)?;
    let colour = *bytes.get(25)?;
    let alpha = u64::from(png_has_trns(bytes));
    let samples = match colour {
        0 => 1 + alpha,
        2 => 3 + alpha,
        3 => 3 + alpha, // palette, expanded to RGB(A) 8-bit
        4 => 2,
        6 => 4,
        _ => return None,
    };
    Some(SampleShape {
        width: u64::from(width),
        height: u64::from(height),
        frames: 1,
        samples,
        bytes_per_sample: if depth == 16 { 2 } else { 1 },
    })
}

/// Whether a `tRNS` chunk comes before the image data.
fn png_has_trns(bytes: &[u8]) -> bool {
    let mut pos = 8;
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        match &head[4..8] {
            b"tRNS" => return true,
            b"IDAT" | b"IEND" => return false,
            _ => {}
        }
        pos = match pos.checked_add(12).and_then(|p| p.checked_add(len)) {
            Some(p) => p,
            None => return false,
        };
    }
    false
}

fn jpeg_shape(bytes: &[u8]) -> Option<SampleShape> {
    let sof = jpeg_frame_header(bytes)?;
    let precision = *sof.first()?;
    let h = u16::from_be_bytes([*sof.get(1)?, *sof.get(2)?]);
    let w = u16::from_be_bytes([*sof.get(3)?, *sof.get(4)?]);
    let components = *sof.get(5)?;
    Some(SampleShape {
        width: u64::from(w),
        height: u64::from(h),
        frames: 1,
        samples: u64::from(components.max(1)),
        bytes_per_sample: if precision > 8 { 2 } else { 1 },
    })
}

/// Width and height from the first frame header (SOFn), walking the marker
/// segments from the start of the file.
pub(super) fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let sof = jpeg_frame_header(bytes)?;
    let h = u16::from_be_bytes([*sof.get(1)?, *sof.get(2)?]);
    let w = u16::from_be_bytes([*sof.get(3)?, *sof.get(4)?]);
    Some((u32::from(w), u32::from(h)))
}

/// The body of the first frame header (SOFn): precision, height, width,
/// components, ...
fn jpeg_frame_header(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = 2; // after SOI
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while *bytes.get(pos)? == 0xFF && *bytes.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(pos + 2)?,
            *bytes.get(pos + 3)?,
        ]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            return bytes.get(pos + 4..);
        }
        if marker == 0xDA || marker == 0xD9 || len < 2 {
            return None; // image data or end before any frame header
        }
        pos += 2 + len;
    }
}

/// Width and height from the IHDR chunk, which PNG requires to come first.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

/// Whether an end-of-image marker follows the last start-of-scan marker.
/// Entropy-coded data never contains `FF DA` or `FF D9` (a data `FF` is
/// always followed by `00` or a restart marker), so this finds the real markers.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let Some(last_sos) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    bytes[last_sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Gray stays gray; colour is converted to luma (Rec. 601 weights, as the
/// `image` crate does). A colour file whose channels are all equal is reported
/// as MONOCHROME2.
fn to_gray(img: DynamicImage) -> (GrayImage, &'static str) {
    let (w, h) = (img.width(), img.height());
    let gray_rgb = is_gray_rgb(&img);
    let colour_name = if gray_rgb { "MONOCHROME2" } else { "RGB" };
    match img {
        DynamicImage::ImageLuma8(b) => (u8_image(w, h, b.into_raw()), "MONOCHROME2"),
        DynamicImage::ImageLumaA8(_) => (u8_image(w, h, img.to_luma8().into_raw()), "MONOCHROME2"),
        DynamicImage::ImageLuma16(b) => (u16_image(w, h, b.into_raw()), "MONOCHROME2"),
        DynamicImage::ImageLumaA16(_) => {
            (u16_image(w, h, img.to_luma16().into_raw()), "MONOCHROME2")
        }
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => {
            (u8_image(w, h, img.to_luma8().into_raw()), colour_name)
        }
        _ => (u16_image(w, h, img.to_luma16().into_raw()), colour_name),
    }
}

fn is_gray_rgb(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgb8(b) => b.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
        DynamicImage::ImageRgba8(b) => b.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
        DynamicImage::ImageRgb16(b) => b.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
        DynamicImage::ImageRgba16(b) => b.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
        _ => false,
    }
}

fn u8_image(width: u32, height: u32, data: Vec<u8>) -> GrayImage {
    GrayImage {
        width,
        height,
        bits: 8,
        data: data.into_iter().map(u16::from).collect(),
    }
}

fn u16_image(width: u32, height: u32, data: Vec<u16>) -> GrayImage {
    GrayImage {
        width,
        height,
        bits: 16,
        data,
    }
}
