//! Content sniffing and the entry point [`decode`].

mod dicom;
mod raster;

pub(crate) use dicom::read_object;

use crate::{Decoded, Format, ImagingError, Limits};

/// Which container `bytes` holds, judged from the content only (never the
/// file name): DICOM Part 10 with or without the 128-byte preamble, PNG, JPEG.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if dicom_offset(bytes).is_some() {
        Some(Format::Dicom)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else {
        None
    }
}

/// Offset of the `DICM` magic: 128 with the standard preamble, 0 without.
pub(crate) fn dicom_offset(bytes: &[u8]) -> Option<usize> {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(128)
    } else if bytes.starts_with(b"DICM") {
        Some(0)
    } else {
        None
    }
}

/// What a file's header says, without decoding its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// Format and dimensions from the header only (a DICOM file is parsed, its
/// pixel data is not decoded), with the same [`Limits`] checks as [`decode`].
/// Cheap enough for listing a data set; [`decode`] may still fail on a file
/// whose pixel data is corrupt.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    limits.check_bytes(bytes.len())?;
    let format = sniff(bytes).ok_or(ImagingError::NotAnImage)?;
    let (width, height, frames) = match format {
        Format::Dicom => dicom::dimensions(bytes)?,
        _ => {
            let (w, h) = raster::dimensions(bytes, format)?;
            (w, h, 1)
        }
    };
    limits.check_pixels(u64::from(width), u64::from(height), u64::from(frames))?;
    Ok(Probe {
        format,
        width,
        height,
    })
}

/// Decode a DICOM, PNG or JPEG file into a [`GrayImage`](crate::GrayImage)
/// and its [`ImageMeta`](crate::ImageMeta).
///
/// The size limits are checked against the file length and against the
/// dimensions the header declares, before any pixel buffer is allocated.
/// Only the first frame of a multi-frame DICOM is decoded.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    limits.check_bytes(bytes.len())?;
    match sniff(bytes) {
        Some(Format::Dicom) => dicom::decode_dicom(bytes, limits),
        Some(format) => raster::decode_raster(bytes, format, limits),
        None => Err(ImagingError::NotAnImage),
    }
}
