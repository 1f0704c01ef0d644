//! The image and metadata types shared by every reader and writer.

use serde::{Deserialize, Serialize};

/// Limits applied before any pixel buffer is allocated, and before a DICOM
/// file reaches the DICOM parser (see [`crate::decode_cost`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted image, in pixels: `width × height × frames` declared
    /// by the header must not exceed it, and neither may the decoded samples
    /// (`× samples per pixel × bytes per sample`, e.g. 8 bytes per RGBA16
    /// pixel) exceed as many bytes as that many 16-bit gray pixels
    /// (`2 × max_pixels`).
    pub max_pixels: u64,
    /// Deepest nesting of DICOM sequences (a sequence inside an item of a
    /// sequence is depth 2).
    pub max_depth: u32,
    /// Largest inflated data set of a deflated DICOM transfer syntax, in bytes.
    pub max_inflated_bytes: u64,
}

/// Defaults of [`Limits`].
impl Limits {
    pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
    pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;
    pub const DEFAULT_MAX_DEPTH: u32 = 16;
    pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 1024 * 1024 * 1024;
}

impl Default for Limits {
    /// 512 MiB files; 50 million pixels, which fits any chest radiograph
    /// (a 4300×4300 detector is 18.5 M pixels) and not a billboard; sequences
    /// 16 deep; deflated data sets up to 1 GiB inflated.
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_inflated_bytes: Self::DEFAULT_MAX_INFLATED_BYTES,
        }
    }
}

impl Limits {
    pub(crate) fn check_bytes(&self, len: usize) -> Result<(), crate::ImagingError> {
        let bytes = len as u64;
        if bytes > self.max_bytes {
            return Err(crate::ImagingError::FileTooLarge {
                bytes,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }

    pub(crate) fn check_pixels(
        &self,
        width: u64,
        height: u64,
        frames: u64,
    ) -> Result<(), crate::ImagingError> {
        let pixels = width.saturating_mul(height).saturating_mul(frames.max(1));
        if pixels > self.max_pixels {
            return Err(crate::ImagingError::TooManyPixels {
                width,
                height,
                pixels,
                limit: self.max_pixels,
            });
        }
        if width == 0 || height == 0 {
            return Err(crate::ImagingError::Unsupported(format!(
                "the image declares {width}×{height} pixels"
            )));
        }
        Ok(())
    }

    /// [`Limits::check_pixels`], then the decoded samples against
    /// `2 × max_pixels` bytes. Returns the bytes of the decoded samples.
    pub(crate) fn check_samples(&self, shape: SampleShape) -> Result<u64, crate::ImagingError> {
        let SampleShape {
            width,
            height,
            frames,
            samples,
            bytes_per_sample,
        } = shape;
        self.check_pixels(width, height, frames)?;
        let bytes = width
            .saturating_mul(height)
            .saturating_mul(frames.max(1))
            .saturating_mul(samples.max(1))
            .saturating_mul(bytes_per_sample.max(1));
        let limit = self.max_pixels.saturating_mul(2);
        if bytes > limit {
            return Err(crate::ImagingError::TooManySampleBytes {
                width,
                height,
                frames: frames.max(1),
                samples: samples.max(1),
                bytes_per_sample: bytes_per_sample.max(1),
                bytes,
                limit,
            });
        }
        Ok(bytes)
    }
}

/// What a header says the decoder will produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SampleShape {
    pub width: u64,
    pub height: u64,
    pub frames: u64,
    /// Channels per pixel (gray 1, gray + alpha 2, RGB 3, RGBA 4).
    pub samples: u64,
    pub bytes_per_sample: u64,
}

/// A single-channel image, 1 to 16 significant bits per pixel, row-major.
///
/// Convention for every source: **higher value = brighter on screen** and the
/// values are non-negative. A MONOCHROME1 DICOM file is inverted on decoding
/// (`v' = 2^bits - 1 - v`), signed or rescaled DICOM values are shifted into
/// `0..2^bits` (see [`ImageMeta::rescale_slope`]), and colour PNG/JPEG files
/// are converted to luma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    pub width: u32,
    pub height: u32,
    /// Significant bits (8 for 8-bit sources, 15 for a 15-bit CR, 16 for 16-bit PNG):
    /// every value is `< 2^bits`.
    pub bits: u8,
    pub data: Vec<u16>,
}

impl GrayImage {
    /// A checked constructor: `data.len() == width * height`, `1 <= bits <= 16`,
    /// and every value fits in `bits`.
    pub fn new(
        width: u32,
        height: u32,
        bits: u8,
        data: Vec<u16>,
    ) -> Result<Self, crate::ImagingError> {
        if !(1..=16).contains(&bits) {
            return Err(crate::ImagingError::InvalidArgument(format!(
                "bits must be 1..=16, got {bits}"
            )));
        }
        if data.len() as u64 != u64::from(width) * u64::from(height) {
            return Err(crate::ImagingError::InvalidArgument(format!(
                "{} values for a {width}×{height} image",
                data.len()
            )));
        }
        let max = Self::max_for_bits(bits);
        if data.iter().any(|&v| v > max) {
            return Err(crate::ImagingError::InvalidArgument(format!(
                "a value exceeds {bits} bits"
            )));
        }
        Ok(Self {
            width,
            height,
            bits,
            data,
        })
    }

    /// An 8-bit image from 8-bit samples.
    pub fn from_u8(width: u32, height: u32, data: &[u8]) -> Result<Self, crate::ImagingError> {
        Self::new(
            width,
            height,
            8,
            data.iter().map(|&v| u16::from(v)).collect(),
        )
    }

    /// Whether the public fields are consistent (they can be set directly):
    /// `data.len() == width * height`, both sides > 0, `1 <= bits <= 16`.
    /// Values above `2^bits - 1` are tolerated everywhere (clamped).
    pub fn validate(&self) -> Result<(), crate::ImagingError> {
        if self.width == 0
            || self.height == 0
            || self.data.len() as u64 != u64::from(self.width) * u64::from(self.height)
            || !(1..=16).contains(&self.bits)
        {
            return Err(crate::ImagingError::InvalidArgument(format!(
                "inconsistent image: {}×{} with {} values and {} bits",
                self.width,
                self.height,
                self.data.len(),
                self.bits
            )));
        }
        Ok(())
    }

    /// The largest value the image's bit depth allows (`2^bits - 1`).
    pub fn max_value(&self) -> u16 {
        Self::max_for_bits(self.bits)
    }

    pub(crate) fn max_for_bits(bits: u8) -> u16 {
        ((1u32 << bits.clamp(1, 16)) - 1) as u16
    }

    pub fn get(&self, x: u32, y: u32) -> u16 {
        self.data[y as usize * self.width as usize + x as usize]
    }
}

/// A display window (DICOM VOI linear function), in the value space of
/// [`GrayImage::data`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

impl Window {
    /// The window that maps `0..=max` linearly onto black..white.
    pub fn full_range(bits: u8) -> Self {
        let max = f64::from(GrayImage::max_for_bits(bits));
        Self {
            center: (max + 1.0) / 2.0,
            width: max + 1.0,
        }
    }
}

/// The container the bytes were in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Dicom,
    Png,
    Jpeg,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Dicom => "dicom",
            Format::Png => "png",
            Format::Jpeg => "jpeg",
        }
    }
}

/// What the product may know and show about an image. Holds no patient data:
/// the pseudonyms are only filled from files that say they were de-identified
/// (`PatientIdentityRemoved = YES`, as [`crate::deidentify_dicom`] writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// DICOM Modality (`CR`, `DX`, `OT`, …); `None` for PNG/JPEG.
    pub modality: Option<String>,
    /// Photometric interpretation as stored in the file (`MONOCHROME1`,
    /// `MONOCHROME2`, `RGB`, …). PNG/JPEG gray files say `MONOCHROME2`, colour ones `RGB`.
    /// The pixel data in [`GrayImage`] is always "higher = brighter" regardless.
    pub photometric: String,
    /// Bits stored in the source (DICOM BitsStored; 8 or 16 for PNG/JPEG).
    pub bits_stored: u8,
    /// Default display window, in the value space of [`GrayImage::data`]: the
    /// file's first Window Center/Width translated through rescale and
    /// MONOCHROME1 inversion, otherwise the 0.5–99.5 percentile range of the
    /// pixels (the full range for 8-bit PNG/JPEG, which are already windowed).
    pub window: Window,
    /// Whether [`ImageMeta::window`] came from the file (true) or the pixels.
    pub window_from_file: bool,
    /// Pixel spacing in mm, `[row, column]`, from PixelSpacing or
    /// ImagerPixelSpacing, when the file says.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Map from [`GrayImage::data`] back to the modality values of the file:
    /// `modality = data * rescale_slope + rescale_intercept` (before the
    /// MONOCHROME1 inversion is undone). 1 and 0 for PNG/JPEG.
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    /// DICOM transfer syntax name (e.g. "JPEG 2000 Image Compression (Lossless Only)").
    pub transfer_syntax: Option<String>,
    pub transfer_syntax_uid: Option<String>,
    /// Number of frames in the file; only the first is decoded.
    pub frames: u32,
    /// True when the DICOM file says `PatientIdentityRemoved = YES`.
    pub deidentified: bool,
    /// The de-identified file's PatientID (our pseudonym), StudyInstanceUID
    /// and SeriesInstanceUID; `None` unless `deidentified`.
    pub patient_pseudonym: Option<String>,
    pub study_pseudonym: Option<String>,
    pub series_pseudonym: Option<String>,
    /// What a DICOM file says about text burned into its pixels (Burned In
    /// Annotation, judged by modality and SOP class when absent: see
    /// [`crate::BurnedIn`]); `None` for PNG/JPEG, which carry no such attribute.
    pub burned_in_annotation: Option<crate::BurnedIn>,
    /// DICOM View Position (0018,5101), e.g. `PA`, `AP`, `LL`, when the file
    /// says and the value is a plain code string (upper-case letters, digits,
    /// space or underscore, at most 16 characters); `None` for PNG/JPEG.
    pub view_position: Option<String>,
}

impl ImageMeta {
    /// Metadata for a plain raster image (PNG/JPEG or generated pixels).
    pub fn for_raster(img: &GrayImage, photometric: &str, window: Window) -> Self {
        Self {
            modality: None,
            photometric: photometric.to_string(),
            bits_stored: img.bits,
            window,
            window_from_file: false,
            pixel_spacing: None,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            transfer_syntax: None,
            transfer_syntax_uid: None,
            frames: 1,
            deidentified: false,
            patient_pseudonym: None,
            study_pseudonym: None,
            series_pseudonym: None,
            burned_in_annotation: None,
            view_position: None,
        }
    }
}

/// The result of [`crate::decode`].
#[derive(Debug, Clone)]
pub struct Decoded {
    pub image: GrayImage,
    pub meta: ImageMeta,
    pub format: Format,
}
