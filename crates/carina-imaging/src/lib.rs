//! Carina's radiograph I/O: every part of Carina reads and writes images
//! through this crate (no HTTP, SQL or tensors here).
//!
//! - [`decode`]: DICOM (uncompressed explicit/implicit VR little endian,
//!   deflated explicit VR, JPEG
//!   baseline and lossless, JPEG 2000 via the pure-Rust `openjp2`, RLE; JPEG-LS
//!   with the optional `jpegls` feature, which builds CharLS and needs cmake
//!   and g++), PNG (8/16-bit, gray or colour) and JPEG, recognised from their
//!   content (never the file name), into one [`GrayImage`] plus [`ImageMeta`].
//!   [`Limits`] on file size and declared pixels (and decoded sample bytes:
//!   channels × bytes per sample) are checked before any pixel buffer is
//!   allocated; a DICOM file first passes a structural pre-scan of our own
//!   (sequence nesting depth, every declared length against the bytes
//!   present, the inflated size of a deflated data set) before dicom-rs
//!   parses it, and a deflated data set is inflated here under a cap, never
//!   by dicom-rs. Codec panics are caught and reported as
//!   [`ImagingError::CorruptPixelData`]. [`probe`] reads only the header;
//!   [`decode_cost`] estimates from the headers the memory a decode will
//!   allocate (for a server's decode budget).
//! - Value convention of [`GrayImage`]: unsigned, `bits` significant bits,
//!   **higher = brighter** for every source. MONOCHROME1 files are inverted
//!   on decoding (`meta.photometric` still says MONOCHROME1); signed data is
//!   shifted to offset binary; the modality rescale is not applied to the
//!   values but folded into `meta.rescale_slope/intercept`
//!   (`modality value = data * slope + intercept`), so decoding is exact.
//!   The file's first Window Center/Width, translated into this space, is
//!   `meta.window`; without one, the 0.5–99.5 percentile range (8-bit PNG/JPEG:
//!   the full range). Only the first frame of a multi-frame file is decoded.
//! - [`deidentify_dicom`]: a new DICOM file with the PS3.15 basic profile
//!   applied, keyed-hash pseudonym and UIDs, pixel data untouched.
//! - Display: [`render_window`] / [`render_png`] (DICOM linear VOI function),
//!   [`thumbnail`], [`percentile_window`]. A [`Window`] is `{center, width}`
//!   in [`GrayImage`] values (what the HTTP API calls `level` and `window`).
//! - Model input and training images: [`letterbox`] (top-left, zero padding,
//!   Pillow-style bilinear; returns [`carina_core::Letterbox`]), [`resize()`],
//!   [`to_u8_windowed`], [`to_unit_f32`], [`encode_png8`], [`encode_png16`],
//!   [`encode_jpeg8`].
//! - Viewer: [`to_secondary_capture`] writes any image as an uncompressed
//!   DICOM Secondary Capture so the browser loads everything as DICOM.
//!
//! `examples/` has small tools: `render` (decode + PNG + timings), `deid`,
//! `to_dicom`.
//!
//! ```
//! use carina_imaging::{decode, thumbnail, to_secondary_capture, GrayImage, ImageMeta, Limits, Window};
//!
//! // A 16-bit gradient, written as DICOM and read back.
//! let data: Vec<u16> = (0..64 * 32).map(|i| (i * 16) as u16).collect();
//! let img = GrayImage::new(64, 32, 16, data).unwrap();
//! let meta = ImageMeta::for_raster(&img, "MONOCHROME2", Window { center: 16384.0, width: 32768.0 });
//! let dcm = to_secondary_capture(&img, &meta).unwrap();
//!
//! let decoded = decode(&dcm, &Limits::default()).unwrap();
//! assert_eq!(decoded.image, img);
//! assert_eq!(decoded.meta.window.center, 16384.0);
//! let png = thumbnail(&decoded.image, decoded.meta.window, 16).unwrap();
//! assert!(png.starts_with(b"\x89PNG"));
//!
//! // Garbage is an error, never a panic.
//! assert!(decode(b"hello", &Limits::default()).is_err());
//!
//! // De-identify: a new file that carries a stable pseudonym instead of the patient.
//! use carina_imaging::{deidentify_dicom, DeidConfig};
//! let deid = deidentify_dicom(&dcm, &DeidConfig::new(b"server secret".to_vec())).unwrap();
//! let again = decode(&deid.bytes, &Limits::default()).unwrap();
//! assert_eq!(again.image, img);
//! assert_eq!(again.meta.patient_pseudonym.as_deref(), Some(deid.patient_pseudonym.as_str()));
//! ```

mod decode;
mod deid;
mod encode;
mod error;
pub mod resize;
mod sc;
mod types;
mod uid;
pub mod window;

pub use decode::{Probe, decode, decode_cost, probe, read_dicom, sniff};
#[doc(hidden)]
pub use deid::fixture as deid_fixture;
pub use deid::{
    BurnedIn, DEID_METHOD, DeidConfig, DeidResult, allowed_top_level, burned_in_annotation,
    deidentify_dicom,
};
pub use encode::{encode_jpeg8, encode_png8, encode_png16, render_png, thumbnail};
pub use error::ImagingError;
pub use resize::{letterbox, resize};
pub use sc::to_secondary_capture;
pub use types::{Decoded, Format, GrayImage, ImageMeta, Limits, Window};
pub use window::{percentile_window, render_window, to_u8_windowed, to_unit_f32};
