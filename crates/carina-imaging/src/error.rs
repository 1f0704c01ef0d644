//! The one error type of this crate.

/// Everything that can go wrong while reading, converting or writing an image.
///
/// Messages are safe to show to the person who uploaded the file: they never
/// contain patient data (element values of the DICOM file are not quoted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImagingError {
    #[error("the file is empty")]
    Empty,
    #[error("not an image: expected DICOM, PNG or JPEG content")]
    NotAnImage,
    #[error("the file is {bytes} bytes, more than the limit of {limit} bytes")]
    FileTooLarge { bytes: u64, limit: u64 },
    #[error(
        "the image declares {width}×{height} pixels ({pixels} pixels), more than the limit of {limit}"
    )]
    TooManyPixels {
        width: u64,
        height: u64,
        pixels: u64,
        limit: u64,
    },
    #[error(
        "the image declares {width}×{height} pixels × {frames} frame(s) × {samples} sample(s) of {bytes_per_sample} byte(s), {bytes} bytes to decode, more than the limit of {limit} bytes (the pixel limit as 16-bit gray pixels)"
    )]
    TooManySampleBytes {
        width: u64,
        height: u64,
        frames: u64,
        samples: u64,
        bytes_per_sample: u64,
        bytes: u64,
        limit: u64,
    },
    #[error("the DICOM file nests sequences more than {limit} levels deep (the nesting limit)")]
    DicomTooDeep { limit: u32 },
    #[error(
        "the DICOM element {tag} declares {declared} bytes, but only {available} bytes are present {within}"
    )]
    DicomLengthOverrun {
        tag: String,
        declared: u64,
        available: u64,
        within: &'static str,
    },
    #[error("the deflated DICOM data set inflates to more than the limit of {limit} bytes")]
    InflatedTooLarge { limit: u64 },
    #[error("the DICOM file is truncated or malformed: {0}")]
    MalformedDicom(String),
    #[error("the DICOM file has no pixel data")]
    NoPixelData,
    #[error("unsupported DICOM transfer syntax {name} ({uid})")]
    UnsupportedTransferSyntax { uid: String, name: String },
    #[error("unsupported image layout: {0}")]
    Unsupported(String),
    #[error("the pixel data is corrupt or cannot be decoded: {0}")]
    CorruptPixelData(String),
    #[error("the {format} file is corrupt or truncated: {message}")]
    CorruptImage {
        format: &'static str,
        message: String,
    },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("could not encode the output: {0}")]
    Encode(String),
}
