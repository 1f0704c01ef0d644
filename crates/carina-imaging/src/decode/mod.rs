//! Content sniffing and the entry point [`decode`].

mod dicom;
mod prescan;
mod raster;
mod rle;
mod source;

pub(crate) use dicom::{read_object, read_object_with};

/// The data set of a DICOM file (file meta and every element, pixel data
/// included) as dicom-rs reads it, after the same structural pre-scan as
/// [`decode`] under `limits` (nesting depth, declared lengths, inflated
/// size): for callers that serve a stored file's attributes (DICOMweb).
pub fn read_dicom(
    bytes: &[u8],
    limits: &Limits,
) -> Result<dicom_object::DefaultDicomObject, ImagingError> {
    read_object_with(bytes, limits)
}

use crate::types::SampleShape;
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

/// Format and dimensions from the header only (a DICOM file is checked by
/// the structural pre-scan, its pixel data is not decoded), with the same
/// [`Limits`] checks as [`decode`]. Cheap enough for listing a data set;
/// [`decode`] may still fail on a file whose pixel data is corrupt.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe, ImagingError> {
    let header = header(bytes, limits)?;
    Ok(Probe {
        format: header.format,
        width: header.shape.width as u32,
        height: header.shape.height as u32,
    })
}

/// What [`header`] found, the limits already checked.
struct Header {
    format: Format,
    shape: SampleShape,
    /// Bytes of the decoded samples (one frame is decoded, but the limit
    /// counts every frame the file declares).
    frame_bytes: u64,
    /// DICOM only: what the parsed object will hold.
    dicom: Option<prescan::DicomScan>,
}

/// Format, sample layout and the structural checks, from the headers alone.
fn header(bytes: &[u8], limits: &Limits) -> Result<Header, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    limits.check_bytes(bytes.len())?;
    let format = sniff(bytes).ok_or(ImagingError::NotAnImage)?;
    let (shape, dicom) = match format {
        Format::Dicom => {
            let scan = prescan::scan(bytes, limits)?;
            (dicom::shape(&scan)?, Some(scan))
        }
        _ => (raster::shape(bytes, format)?, None),
    };
    limits.check_samples(shape)?;
    let frame_bytes = shape
        .width
        .saturating_mul(shape.height)
        .saturating_mul(shape.samples)
        .saturating_mul(shape.bytes_per_sample);
    Ok(Header {
        format,
        shape,
        frame_bytes,
        dicom,
    })
}

/// Per parsed DICOM element and per text value: what dicom-rs keeps beside
/// the value bytes (map entry, header, small-vector, string headers).
const BYTES_PER_ELEMENT: u64 = 96;
const BYTES_PER_TEXT_VALUE: u64 = 32;

/// An estimate, from the headers alone, of the memory [`decode`] will
/// allocate for `bytes`: the parsed DICOM object (and its inflated data set),
/// the decoder's sample buffer, a codec's working copy, and the output image.
/// Refuses what [`decode`] would refuse on the same grounds (size, pixel
/// and sample limits, DICOM structure: nesting depth, declared lengths, the
/// inflated size), without allocating for any of them, so a caller can
/// admit decodes against a memory budget before starting them.
pub fn decode_cost(bytes: &[u8], limits: &Limits) -> Result<u64, ImagingError> {
    let h = header(bytes, limits)?;
    let pixels = h.shape.width.saturating_mul(h.shape.height);
    // The gray output (u16) and one conversion buffer of the same size.
    let output = pixels.saturating_mul(4);
    let cost = match &h.dicom {
        None => h.frame_bytes.saturating_add(output),
        Some(scan) => {
            let object = scan
                .dataset_len
                .saturating_add(scan.elements.saturating_mul(BYTES_PER_ELEMENT))
                .saturating_add(scan.text_values.saturating_mul(BYTES_PER_TEXT_VALUE));
            let inflated = if scan.deflated { scan.dataset_len } else { 0 };
            // Codecs (JPEG 2000 in particular) work on 32-bit samples.
            let codec = if scan.image.encapsulated {
                pixels.saturating_mul(h.shape.samples).saturating_mul(4)
            } else {
                0
            };
            [inflated, h.frame_bytes, codec, output]
                .into_iter()
                .fold(object, u64::saturating_add)
        }
    };
    Ok(cost)
}

/// Decode a DICOM, PNG or JPEG file into a [`GrayImage`](crate::GrayImage)
/// and its [`ImageMeta`](crate::ImageMeta).
///
/// The limits are checked against the file length, the DICOM structure
/// (pre-scan: nesting, declared lengths, inflated size) and the dimensions
/// and sample layout the header declares, before the DICOM parser runs and
/// before any pixel buffer is allocated. Only the first frame of a
/// multi-frame DICOM is decoded.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, ImagingError> {
    let h = header(bytes, limits)?;
    match h.dicom {
        Some(scan) => dicom::decode_dicom(bytes, &scan, limits),
        None => raster::decode_raster(bytes, h.format, limits),
    }
}
