//! DICOM Part 10 through dicom-rs: attributes, codecs, and the mapping of
//! stored values into [`GrayImage`]'s "unsigned, higher = brighter" space.

use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{
    DefaultDicomObject, FileMetaTable, InMemDicomObject, OpenFileOptions, file::ReadPreamble,
};
use dicom_pixeldata::{DecodedPixelData, PixelDecoder, PixelRepresentation};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::window::percentile_window;
use crate::{Decoded, Format, GrayImage, ImageMeta, ImagingError, Limits, Window};

use super::prescan;
use crate::types::SampleShape;

/// Parse a Part 10 file (with or without preamble) into an object: the one
/// way into dicom-rs. The structural pre-scan runs first with the default
/// [`Limits`] (nesting depth, every declared length against the bytes
/// present, the inflated size of a deflated data set), so dicom-rs never
/// allocates for a length the file cannot back and never recurses deeper
/// than the limit.
pub(crate) fn read_object(bytes: &[u8]) -> Result<DefaultDicomObject, ImagingError> {
    read_object_with(bytes, &Limits::default())
}

/// [`read_object`] under the caller's limits (nesting depth, inflated size).
pub(crate) fn read_object_with(
    bytes: &[u8],
    limits: &Limits,
) -> Result<DefaultDicomObject, ImagingError> {
    let scan = prescan::scan(bytes, limits)?;
    read_scanned(bytes, &scan)
}

/// Parse a file that [`prescan::scan`] has passed. A deflated data set is
/// inflated here, to the size the scan measured (within the cap), and read
/// as the explicit VR little endian data set it is, so dicom-rs never
/// inflates anything itself; the file meta group (and so the transfer
/// syntax written back by de-identification) is kept as it was.
pub(super) fn read_scanned(
    bytes: &[u8],
    scan: &prescan::DicomScan,
) -> Result<DefaultDicomObject, ImagingError> {
    let malformed = |e: dicom_object::ReadError| ImagingError::MalformedDicom(e.to_string());
    if !scan.deflated {
        return OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .from_reader(&bytes[scan.magic_offset..])
            .map_err(malformed);
    }
    let mut meta = FileMetaTable::from_reader(&bytes[scan.magic_offset..scan.dataset_offset])
        .map_err(|e| ImagingError::MalformedDicom(e.to_string()))?;
    let inflated = super::source::inflate_dataset(&bytes[scan.dataset_offset..], scan.dataset_len)?;
    let explicit_le = TransferSyntaxRegistry
        .get("1.2.840.10008.1.2.1")
        .expect("explicit VR little endian is always registered");
    let obj =
        InMemDicomObject::read_dataset_with_ts(&inflated[..], explicit_le).map_err(malformed)?;
    drop(inflated);
    // As dicom-rs does when it reads a whole file.
    if meta.media_storage_sop_class_uid().is_empty()
        && let Some(uid) = string_of(&obj, tags::SOP_CLASS_UID)
    {
        meta.media_storage_sop_class_uid = uid;
    }
    if meta.media_storage_sop_instance_uid().is_empty()
        && let Some(uid) = string_of(&obj, tags::SOP_INSTANCE_UID)
    {
        meta.media_storage_sop_instance_uid = uid;
    }
    Ok(obj.with_exact_meta(meta))
}

fn string_of(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    Some(obj.get(tag)?.to_str().ok()?.to_string())
}

/// Columns, rows, frames and the sample layout the root data set declares.
pub(super) fn shape(scan: &prescan::DicomScan) -> Result<SampleShape, ImagingError> {
    let a = &scan.image;
    if !a.pixel_data {
        return Err(ImagingError::NoPixelData);
    }
    let rows = a.rows.ok_or_else(|| missing("Rows"))?;
    let cols = a.columns.ok_or_else(|| missing("Columns"))?;
    if rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535 {
        return Err(ImagingError::Unsupported(format!(
            "the image declares {cols}×{rows} pixels"
        )));
    }
    let frames = a.frames.unwrap_or(1).clamp(1, i64::from(u32::MAX));
    let samples = a.samples_per_pixel.unwrap_or(1).clamp(1, 4);
    let bits = a.bits_allocated.unwrap_or(16).clamp(1, 64);
    Ok(SampleShape {
        width: cols as u64,
        height: rows as u64,
        frames: frames as u64,
        samples: samples as u64,
        bytes_per_sample: (bits as u64).div_ceil(8),
    })
}

pub(crate) fn string(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

fn int(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

fn floats(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<Vec<f64>> {
    obj.get(tag)?.to_multi_float64().ok()
}

pub(crate) fn ts_name(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid)
        .map(|ts| ts.name().to_string())
        .unwrap_or_else(|| "unknown transfer syntax".to_string())
}

pub(super) fn decode_dicom(
    bytes: &[u8],
    scan: &prescan::DicomScan,
    limits: &Limits,
) -> Result<Decoded, ImagingError> {
    let obj = read_scanned(bytes, scan)?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(ImagingError::NoPixelData);
    }
    let rows = int(&obj, tags::ROWS).ok_or_else(|| missing("Rows"))?;
    let cols = int(&obj, tags::COLUMNS).ok_or_else(|| missing("Columns"))?;
    let frames = int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let spp = int(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if rows <= 0 || cols <= 0 {
        return Err(ImagingError::Unsupported(format!(
            "the image declares {cols}×{rows} pixels"
        )));
    }
    limits.check_pixels(cols as u64, rows as u64, frames as u64)?;
    if spp != 1 && spp != 3 {
        return Err(ImagingError::Unsupported(format!(
            "{spp} samples per pixel"
        )));
    }

    let ts_uid = obj.meta().transfer_syntax().to_string();
    let ts_supported = TransferSyntaxRegistry
        .get(&ts_uid)
        .is_some_and(|ts| ts.can_decode_all());
    if !ts_supported {
        return Err(ImagingError::UnsupportedTransferSyntax {
            name: ts_name(&ts_uid),
            uid: ts_uid,
        });
    }

    check_codestream_dimensions(&obj, cols as u32, rows as u32)?;
    if ts_uid.trim_end_matches('\0') == super::rle::RLE_LOSSLESS {
        let first = obj
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.fragments())
            .and_then(|f| f.first())
            .ok_or_else(|| ImagingError::CorruptPixelData("RLE frame: no fragment".into()))?;
        let bits = int(&obj, tags::BITS_ALLOCATED).unwrap_or(0).max(0) as u64;
        super::rle::check_frame(first, rows as u64, cols as u64, spp as u64, bits)?;
    }

    // Codecs (some ported from C) must not take the server down on hostile
    // input: a panic inside them becomes a corrupt-pixel-data error.
    let px = catch_unwind(AssertUnwindSafe(|| obj.decode_pixel_data_frame(0)))
        .map_err(|_| ImagingError::CorruptPixelData("the decoder failed".into()))?
        .map_err(|e| ImagingError::CorruptPixelData(e.to_string()))?;

    let photometric =
        string(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".to_string());
    let (image, slope, intercept) = to_gray(&px, &photometric)?;

    let file_window = px
        .window()
        .ok()
        .flatten()
        .and_then(|w| w.first().copied())
        .filter(|w| w.width > 0.0 && w.width.is_finite() && w.center.is_finite())
        .map(|w| window_to_data_space(w.center, w.width, slope, intercept));
    let window_from_file = file_window.is_some();
    let window = file_window.unwrap_or_else(|| percentile_window(&image));

    let pixel_spacing = floats(&obj, tags::PIXEL_SPACING)
        .or_else(|| floats(&obj, tags::IMAGER_PIXEL_SPACING))
        .filter(|v| v.len() >= 2 && v[0] > 0.0 && v[1] > 0.0)
        .map(|v| [v[0], v[1]]);
    let deidentified =
        string(&obj, tags::PATIENT_IDENTITY_REMOVED).is_some_and(|s| s.eq_ignore_ascii_case("YES"));
    let pseudo = |tag| deidentified.then(|| string(&obj, tag)).flatten();

    let meta = ImageMeta {
        modality: string(&obj, tags::MODALITY),
        photometric,
        bits_stored: px.bits_stored().min(16) as u8,
        window,
        window_from_file,
        pixel_spacing,
        rescale_slope: slope,
        rescale_intercept: intercept,
        transfer_syntax: Some(ts_name(&ts_uid)),
        transfer_syntax_uid: Some(ts_uid),
        frames: frames as u32,
        deidentified,
        patient_pseudonym: pseudo(tags::PATIENT_ID),
        study_pseudonym: pseudo(tags::STUDY_INSTANCE_UID),
        series_pseudonym: pseudo(tags::SERIES_INSTANCE_UID),
        burned_in_annotation: Some(crate::burned_in_annotation(&obj)),
        view_position: string(&obj, tags::VIEW_POSITION).filter(|v| is_code_string(v)),
    };
    Ok(Decoded {
        image,
        meta,
        format: Format::Dicom,
    })
}

/// A short code string as View Position holds: 1–16 of `A–Z 0–9 _ space`.
fn is_code_string(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 16
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'_')
}

/// A compressed frame carries its own dimensions, and the codec allocates
/// for those, not for Rows × Columns: a hostile file could declare a small
/// image and embed a huge JPEG or JPEG 2000 frame. Refuse any mismatch
/// before decoding.
fn check_codestream_dimensions(
    obj: &DefaultDicomObject,
    cols: u32,
    rows: u32,
) -> Result<(), ImagingError> {
    let Some(elem) = obj.get(tags::PIXEL_DATA) else {
        return Ok(());
    };
    let Some(first) = elem.fragments().and_then(|f| f.first()) else {
        return Ok(()); // native pixel data: its size is checked after decoding
    };
    let embedded = if first.starts_with(&[0xFF, 0xD8]) {
        super::raster::jpeg_dimensions(first)
    } else {
        j2k_dimensions(first)
    };
    match embedded {
        Some((w, h)) if (w, h) != (cols, rows) => Err(ImagingError::CorruptPixelData(format!(
            "the compressed frame is {w}×{h} pixels but the file declares {cols}×{rows}"
        ))),
        _ => Ok(()),
    }
}

/// Width and height from a JPEG 2000 codestream's SIZ segment (also inside
/// a JP2 container): `Xsiz - XOsiz` × `Ysiz - YOsiz`.
fn j2k_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    let head = &data[..data.len().min(4096)];
    let pos = head
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    let siz = data.get(pos + 2..pos + 2 + 24)?;
    let u = |i: usize| u32::from_be_bytes([siz[i], siz[i + 1], siz[i + 2], siz[i + 3]]);
    // marker(2) length(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz
    let (x, y, xo, yo) = (u(6), u(10), u(14), u(18));
    Some((x.checked_sub(xo)?, y.checked_sub(yo)?))
}

fn missing(name: &str) -> ImagingError {
    ImagingError::MalformedDicom(format!("the {name} attribute is missing or invalid"))
}

/// Turn decoded samples into a [`GrayImage`] and the affine map
/// `modality = data * slope + intercept`.
///
/// Monochrome: stored values are shifted so that the smallest representable
/// one is 0 (only signed data moves), the modality rescale is folded into the
/// returned map (a negative slope is folded by flipping the values), and
/// MONOCHROME1 is inverted. All of these are exact: no value is rounded.
/// Colour: luma, 8 or 16 bits, identity map.
fn to_gray(
    px: &DecodedPixelData<'_>,
    photometric: &str,
) -> Result<(GrayImage, f64, f64), ImagingError> {
    let (w, h) = (px.columns(), px.rows());
    let n = w as usize * h as usize;
    let spp = usize::from(px.samples_per_pixel());
    let ba = px.bits_allocated();
    let bytes_per_sample = match ba {
        1 | 8 => 1,
        16 => 2,
        32 => 4,
        _ => {
            return Err(ImagingError::Unsupported(format!("{ba} bits allocated")));
        }
    };
    let data = px.data();
    // 1-bit data was already expanded to one byte per sample by dicom-pixeldata.
    let need = n * spp * bytes_per_sample;
    if data.len() < need {
        return Err(ImagingError::CorruptPixelData(format!(
            "{} bytes of pixel data for a {w}×{h} frame that needs {need}",
            data.len()
        )));
    }
    let sample = |i: usize| -> u32 {
        match bytes_per_sample {
            1 => u32::from(data[i]),
            2 => u32::from(u16::from_le_bytes([data[2 * i], data[2 * i + 1]])),
            _ => u32::from_le_bytes([
                data[4 * i],
                data[4 * i + 1],
                data[4 * i + 2],
                data[4 * i + 3],
            ]),
        }
    };

    if spp == 3 {
        return Ok((colour_to_gray(px, photometric, n, &sample, ba)?, 1.0, 0.0));
    }

    let bits = StoredBits::of(px, ba)?;
    let (slope, intercept, flip) = modality_mapping(px, photometric, &bits);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let v = bits.value(sample(i));
        out.push(if flip { bits.max - v } else { v });
    }
    let image = GrayImage {
        width: w,
        height: h,
        bits: bits.stored as u8,
        data: out,
    };
    Ok((image, slope, intercept))
}

/// Where the stored bits of a grey sample are and what they mean.
struct StoredBits {
    /// Bits Stored (at most 16).
    stored: u16,
    /// Bits below the stored ones (High Bit + 1 − Bits Stored).
    shift: u32,
    mask: u32,
    /// Two's complement values (Pixel Representation 1).
    signed: bool,
    /// The largest value in `stored` bits.
    max: u16,
    /// Half the range: the offset of signed values.
    half: i64,
}

impl StoredBits {
    fn of(px: &DecodedPixelData<'_>, ba: u16) -> Result<Self, ImagingError> {
        let bits_stored = if ba == 1 {
            8
        } else {
            px.bits_stored().clamp(1, ba)
        };
        if bits_stored > 16 {
            return Err(ImagingError::Unsupported(format!(
                "{bits_stored} bits stored (at most 16 are supported)"
            )));
        }
        let high_bit = if ba == 1 { 7 } else { px.high_bit() };
        // PS3.3 C.7.6.3.1.3: the stored bits end at High Bit, inside the sample.
        if high_bit >= ba.max(8) || u32::from(high_bit) + 1 < u32::from(bits_stored) {
            return Err(ImagingError::CorruptPixelData(format!(
                "High Bit {high_bit} does not fit {bits_stored} bits stored in {ba} bits allocated"
            )));
        }
        Ok(StoredBits {
            stored: bits_stored,
            shift: (u32::from(high_bit) + 1).saturating_sub(u32::from(bits_stored)),
            mask: (1u32 << bits_stored) - 1,
            signed: px.pixel_representation() == PixelRepresentation::Signed && ba != 1,
            max: GrayImage::max_for_bits(bits_stored as u8),
            half: 1i64 << (bits_stored - 1),
        })
    }

    /// The stored value of a sample, unsigned (signed values offset by `half`).
    fn value(&self, sample: u32) -> u16 {
        let raw = (sample >> self.shift) & self.mask;
        (if self.signed {
            // two's complement in `bits_stored` bits → offset binary
            (i64::from(raw) ^ self.half) as u32
        } else {
            raw
        }) as u16
    }
}

/// Rescale slope and intercept from the data space to modality values, and
/// whether the data is flipped so that higher stays brighter (a negative
/// slope, MONOCHROME1).
fn modality_mapping(
    px: &DecodedPixelData<'_>,
    photometric: &str,
    bits: &StoredBits,
) -> (f64, f64, bool) {
    let rescale = px.rescale().ok().and_then(|r| r.first().copied());
    let (mut slope, mut intercept) = rescale
        .map(|r| (r.slope, r.intercept))
        .filter(|(s, i)| s.is_finite() && i.is_finite() && *s != 0.0)
        .unwrap_or((1.0, 0.0));
    // Signed values v in [-half, half) are stored as v + half.
    if bits.signed {
        intercept -= bits.half as f64 * slope;
    }
    let mut flip = false;
    if slope < 0.0 {
        // Higher modality value must stay brighter for MONOCHROME2.
        flip = true;
        intercept += f64::from(bits.max) * slope;
        slope = -slope;
    }
    if photometric.eq_ignore_ascii_case("MONOCHROME1") {
        flip = !flip;
        intercept += f64::from(bits.max) * slope;
        slope = -slope;
    }
    (slope, intercept, flip)
}

fn colour_to_gray(
    px: &DecodedPixelData<'_>,
    photometric: &str,
    n: usize,
    sample: &dyn Fn(usize) -> u32,
    ba: u16,
) -> Result<GrayImage, ImagingError> {
    if ba != 8 && ba != 16 {
        return Err(ImagingError::Unsupported(format!(
            "colour with {ba} bits allocated"
        )));
    }
    let planar = px.planar_configuration() == dicom_pixeldata::PlanarConfiguration::PixelFirst;
    let at = |i: usize, c: usize| {
        if planar {
            sample(c * n + i)
        } else {
            sample(3 * i + c)
        }
    };
    // Decoded encapsulated data is RGB; native YBR keeps Y as its first sample.
    let ybr = px.photometric_interpretation().as_str().starts_with("YBR")
        || (photometric.starts_with("YBR") && px.photometric_interpretation().as_str() != "RGB");
    let data = (0..n)
        .map(|i| {
            if ybr {
                at(i, 0) as u16
            } else {
                let (r, g, b) = (at(i, 0) as f64, at(i, 1) as f64, at(i, 2) as f64);
                (0.299 * r + 0.587 * g + 0.114 * b).round() as u16
            }
        })
        .collect();
    Ok(GrayImage {
        width: px.columns(),
        height: px.rows(),
        bits: ba as u8,
        data,
    })
}

/// Translate a window given in modality values into the data space, where
/// `modality = data * slope + intercept` (slope may be negative after
/// MONOCHROME1 inversion). The window's end points are mapped exactly.
fn window_to_data_space(center: f64, width: f64, slope: f64, intercept: f64) -> Window {
    let half = (width - 1.0).max(0.0) / 2.0;
    let lo = (center - 0.5 - half - intercept) / slope;
    let hi = (center - 0.5 + half - intercept) / slope;
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    Window {
        center: (lo + hi) / 2.0 + 0.5,
        width: hi - lo + 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_window_is_unchanged() {
        let w = window_to_data_space(2048.0, 4096.0, 1.0, 0.0);
        assert!((w.center - 2048.0).abs() < 1e-9 && (w.width - 4096.0).abs() < 1e-9);
    }

    #[test]
    fn inverted_window_mirrors() {
        // MONOCHROME1, 8 bits: modality = data * -1 + 255.
        let w = window_to_data_space(100.0, 51.0, -1.0, 255.0);
        // modality window covers (74.5, 124.5] → data [130.5, 180.5)
        assert!((w.center - 156.0).abs() < 1e-9, "{w:?}");
        assert!((w.width - 51.0).abs() < 1e-9, "{w:?}");
    }
}
