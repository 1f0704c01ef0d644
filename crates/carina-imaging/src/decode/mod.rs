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
