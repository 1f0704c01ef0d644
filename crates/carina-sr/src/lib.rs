//! Carina's boxes as a DICOM Structured Report, out and in.
//!
//! - [`write_measurement_report`]: a DICOM Part 10 file, Comprehensive 3D SR
//!   storage (`1.2.840.10008.5.1.4.1.1.88.34`, what highdicom writes), whose
//!   content is a TID 1500 Measurement Report with one TID 1410 Planar ROI
//!   group per box: the box as a closed `POLYLINE` of five image-pixel
//!   points on the referenced image, the finding as a coded concept (the
//!   table in [`codes`]), a Tracking Identifier and a Tracking Unique
//!   Identifier derived from (image, box id), and who made the box (person
//!   observer for a radiologist, device observer and algorithm name/version
//!   for a model). Patient and study attributes are the caller's, copied
//!   from the (de-identified) image.
//! - [`read_measurement_report`]: a TID 1500 SR, Carina's or another tool's
//!   (planar ROIs as `POLYLINE`, `MULTIPOINT`, `CIRCLE` or `ELLIPSE`), back
//!   to boxes: the axis-aligned bounding box of the region, the referenced
//!   image, the finding read as a label, the tracking UID and the observer.
//!   Bad input is an [`SrError`], never a panic: the input size is capped
//!   and the file passes carina-imaging's structural pre-scan (nesting depth,
//!   declared lengths) before dicom-rs parses it; the content tree walk has
//!   its own limits ([`ReadLimits`]).
//!
//! docs/dicom-sr.md describes the document, the code table and what import
//! accepts and refuses.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use carina_core::{BBox, BoxStatus, Provenance};
//! use carina_sr::{SrBox, SrDocument, SrImageRef, read_measurement_report, write_measurement_report};
//!
//! let image = SrImageRef {
//!     sop_class_uid: "1.2.840.10008.5.1.4.1.1.7".into(),
//!     sop_instance_uid: "2.25.1".into(),
//!     study_instance_uid: "2.25.2".into(),
//!     series_instance_uid: "2.25.3".into(),
//!     patient_id: "PSEUDO-1".into(),
//!     patient_name: "PSEUDO-1".into(),
//!     ..Default::default()
//! };
//! let boxes = [SrBox {
//!     box_id: "17".into(),
//!     label: "Pneumothorax".into(),
//!     bbox: BBox::new(10.5, 20.0, 110.25, 70.0).unwrap(),
//!     provenance: Provenance::Radiologist { user: "ann".into() },
//!     status: BoxStatus::Manual,
//! }];
//! let doc = SrDocument::new(UNIX_EPOCH + Duration::from_secs(1_795_637_703), "0.1.0");
//! let bytes = write_measurement_report(&image, &boxes, &doc).unwrap();
//!
//! let report = read_measurement_report(&bytes).unwrap();
//! let b = &report.boxes[0];
//! assert_eq!(b.label, "Pneumothorax");
//! assert_eq!(b.finding.value, "36118008");
//! assert_eq!(b.bbox, boxes[0].bbox);
//! assert_eq!(b.referenced_sop_instance_uid, "2.25.1");
//! assert_eq!(b.provenance, Some(Provenance::Radiologist { user: "ann".into() }));
//! assert!(read_measurement_report(b"not dicom").is_err());
//! ```

pub mod codes;
mod image_ref;
mod items;
mod pdf;
mod read;
mod read_group;
mod report;
mod tree;
mod uid;
mod write;

use std::time::SystemTime;

use carina_core::{BBox, BoxStatus, Provenance};

pub use codes::{Code, FINDING_CODES, FindingCode, code_for_label, label_for_code};
pub use image_ref::{SR_STORAGE_CLASSES, image_ref_from_dicom, is_sr, media_storage_sop_class};
pub use pdf::{ENCAPSULATED_PDF, MAX_PDF_BYTES, ReportPdf, report_pdf_uid, write_encapsulated_pdf};
pub use read::{ReadLimits, read_measurement_report, read_measurement_report_with};
pub use report::{COMPREHENSIVE_SR, ReportSr, ReportSrFinding, report_sr_uid, write_report_sr};
pub use uid::{is_valid_uid, tracking_uid};
pub use write::{CARINA_MANUFACTURER, COMPREHENSIVE_3D_SR, MAX_BOXES, write_measurement_report};

/// Why an SR could not be written or read. Messages never quote patient
/// attributes or person names; they name codes, UIDs' roles and limits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SrError {
    #[error("cannot write the SR: {0}")]
    InvalidInput(String),
    #[error("could not encode the SR: {0}")]
    Encode(String),
    #[error("the file is {bytes} bytes, more than the limit of {limit} bytes for an SR")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("not a DICOM file (no DICM magic)")]
    NotDicom,
    #[error("the DICOM file is malformed: {0}")]
    Malformed(String),
    #[error(
        "unsupported transfer syntax {0} for an SR (explicit or implicit VR little endian only)"
    )]
    UnsupportedTransferSyntax(String),
    #[error("not a structured report that can hold image regions: {0}")]
    NotSr(String),
    #[error("not a TID 1500 Measurement Report: {0}")]
    WrongTemplate(String),
    #[error("the SR's content tree has more than {limit} content items")]
    TooManyItems { limit: usize },
    #[error("the SR's content tree is nested more than {limit} levels deep")]
    TooDeep { limit: usize },
    #[error("the SR has more than {limit} measurement groups")]
    TooManyGroups { limit: usize },
    #[error("measurement group {group}: {message}")]
    BadGroup { group: usize, message: String },
    #[error(
        "measurement group {group}: the finding code {code} is not in Carina's finding table (docs/dicom-sr.md)"
    )]
    UnknownFinding { group: usize, code: Code },
    #[error("the SR references no image: {0}")]
    NoImageReference(String),
}

/// The image the boxes are drawn on, with the patient and study attributes
/// the SR copies (those of the served, de-identified file). Optional
/// attributes are written empty when `None` (type 2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SrImageRef {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub patient_id: String,
    pub patient_name: String,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub study_id: Option<String>,
    pub accession_number: Option<String>,
}

/// One box to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SrBox {
    /// Carina's id of the box: with the image's SOP Instance UID it makes
    /// the tracking UID, so it must stay the same for the same box.
    pub box_id: String,
    /// The label name (one of the nine findings, or a custom label).
    pub label: String,
    /// Image pixels, `(0, 0)` the top left corner of the top left pixel.
    pub bbox: BBox,
    /// Who made the box: a radiologist (person observer), a consensus (the
    /// reviewer, then each reader, as person observers), a model (device
    /// observer and algorithm name/version).
    pub provenance: Provenance,
    pub status: BoxStatus,
}

/// Document-level choices of [`write_measurement_report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrDocument {
    /// Content and instance creation date and time (written in UTC).
    pub created: SystemTime,
    /// Carina's version, written as Software Versions.
    pub software_version: String,
    /// The SR's SOP Instance UID; `None` derives one from the image, the
    /// boxes and `created`, so a changed SR never reuses a UID.
    pub sop_instance_uid: Option<String>,
}

impl SrDocument {
    pub fn new(created: SystemTime, software_version: &str) -> Self {
        Self {
            created,
            software_version: software_version.to_string(),
            sop_instance_uid: None,
        }
    }
}

/// An observer as the SR states it (TID 1002 / 1004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observer {
    Person {
        name: String,
    },
    Device {
        uid: String,
        name: Option<String>,
        manufacturer: Option<String>,
        model_name: Option<String>,
    },
}

/// One box read back from a planar ROI group.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBox {
    /// 1-based position of the measurement group in the report.
    pub group: usize,
    pub tracking_id: Option<String>,
    pub tracking_uid: Option<String>,
    pub finding: Code,
    /// The label the finding code reads as ([`label_for_code`]).
    pub label: String,
    pub finding_site: Option<Code>,
    /// Axis-aligned bounding box of the region, rounded to 1/1000 pixel
    /// (coordinates are stored as 32-bit floats).
    pub bbox: BBox,
    /// `POLYLINE`, `MULTIPOINT`, `CIRCLE` or `ELLIPSE`.
    pub graphic_type: String,
    pub referenced_sop_class_uid: String,
    pub referenced_sop_instance_uid: String,
    /// Observers stated in the group itself (Carina writes them there).
    pub observers: Vec<Observer>,
    /// Algorithm Name and Version (TID 4019), if stated.
    pub algorithm: Option<(String, String)>,
    /// Carina's review status, if the group carries one.
    pub status: Option<BoxStatus>,
    /// Who made the box, only for an SR Carina wrote (Manufacturer
    /// `Carina`): radiologist, consensus or model, from the group's observers.
    pub provenance: Option<Provenance>,
}

/// What [`read_measurement_report`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_instance_uid: Option<String>,
    /// Manufacturer of the equipment that wrote the SR.
    pub manufacturer: Option<String>,
    /// Whether Carina wrote it (Manufacturer `Carina`).
    pub made_by_carina: bool,
    /// Observers of the whole document (root observation context).
    pub observers: Vec<Observer>,
    pub boxes: Vec<ParsedBox>,
    /// Measurement groups that hold no planar image region (whole-image
    /// measurements, 3D regions, segmentations), with why they were skipped.
    pub skipped: Vec<String>,
}
