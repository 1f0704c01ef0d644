//! The values the store hands out and takes in. They serialise in the HTTP
//! API's shape, which is also the shape kept in the annotation history.

use carina_core::{BBox, BoxStatus, Provenance};
use serde::{Deserialize, Serialize};

pub use crate::time::Timestamp;

/// Review state of an image in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    New,
    InReview,
    Done,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::New => "new",
            ImageStatus::InReview => "in_review",
            ImageStatus::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<ImageStatus> {
        match s {
            "new" => Some(ImageStatus::New),
            "in_review" => Some(ImageStatus::InReview),
            "done" => Some(ImageStatus::Done),
            _ => None,
        }
    }
}

/// Pixel and (de-identified) DICOM facts about a stored image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageMeta {
    /// `dicom`, `png` or `jpeg`: what was uploaded.
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bits_stored: u32,
    pub photometric: String,
    pub window_center: Option<f64>,
    pub window_width: Option<f64>,
    /// `[row, column]` spacing in mm.
    pub pixel_spacing: Option<[f64; 2]>,
    pub modality: Option<String>,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    /// Burned In Annotation of a DICOM upload: `yes`, `no` or `unknown`
    /// (absent on a file where burned-in text is common); `None` for
    /// PNG/JPEG. `yes` and `unknown` are flagged: see [`Image::export_blocked`].
    pub burned_in_annotation: Option<String>,
    /// DICOM View Position (`PA`, `AP`, `LL`, …); `None` for PNG/JPEG or when absent.
    pub view_position: Option<String>,
}

/// One image of the library, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image {
    pub id: i64,
    #[serde(flatten)]
    pub meta: ImageMeta,
    pub original_filename: String,
    pub sha256: String,
    pub status: ImageStatus,
    /// The admin who confirmed a flagged image (burned-in text) for export, and when.
    pub burned_in_confirmed_by: Option<String>,
    pub burned_in_confirmed_at: Option<Timestamp>,
    pub no_finding: bool,
    /// Boxes that are not rejected.
    pub box_count: i64,
    /// Boxes a radiologist has looked at: accepted, edited and manual.
    pub reviewed_box_count: i64,
    /// Model proposals not yet reviewed (status `proposed`, any score).
    pub proposal_count: i64,
    /// Proposals scoring at or above the caller's proposal threshold; filled
    /// in by the server for the caller (`None` from the store).
    pub proposals_above_threshold: Option<i64>,
    /// A label an admin gave the image, shown instead of the generated name.
    pub display_label: Option<String>,
    /// 1-based rank of the image's study among its patient's studies (by
    /// first upload), and of the image within its study (by upload), with the
    /// study's image count; `None` without pseudonyms (PNG/JPEG).
    pub study_index: Option<i64>,
    pub image_index: Option<i64>,
    pub study_image_count: Option<i64>,
    /// What the pages call the image: [`Image::display_name`].
    pub display_name: String,
    /// The newest predict job of this image and its status (the editor and
    /// library show it; poll `GET /jobs/{id}` until it is done or failed).
    pub prediction_job_id: Option<i64>,
    pub prediction_status: Option<crate::review::JobStatus>,
    pub annotation_version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    /// Where the served file lives in the object store.
    #[serde(skip)]
    pub object_key: String,
    #[serde(skip)]
    pub thumbnail_key: String,
}

impl Image {
    /// The display label when an admin set one; else "P-3F2A · study 2 · PA"
    /// (the patient pseudonym's first four hex digits, the study's index, the
    /// view, and "#k" when the study has several images) for a DICOM upload;
    /// else (PNG/JPEG, or no pseudonyms) the stored file name.
    pub fn compute_display_name(&self) -> String {
        if let Some(label) = self
            .display_label
            .as_deref()
            .filter(|l| !l.trim().is_empty())
        {
            return label.to_string();
        }
        if self.meta.format != "dicom" {
            return self.original_filename.clone();
        }
        let mut parts = Vec::new();
        if let Some(p) = self.meta.patient_pseudonym.as_deref() {
            let hex = p.strip_prefix("P-").unwrap_or(p);
            let short: String = hex.chars().take(4).collect::<String>().to_uppercase();
            parts.push(format!("P-{short}"));
        }
        if let Some(n) = self.study_index {
            parts.push(format!("study {n}"));
        }
        if let Some(v) = self.meta.view_position.as_deref() {
            parts.push(v.to_string());
        }
        if parts.is_empty() {
            return self.original_filename.clone();
        }
        let mut name = parts.join(" · ");
        if let (Some(k), Some(count)) = (self.image_index, self.study_image_count)
            && count > 1
        {
            name.push_str(&format!(" #{k}"));
        }
        name
    }

    /// Whether the image may show burned-in text (`yes` or `unknown`) and no
    /// admin has confirmed it yet: exports leave it out.
    pub fn export_blocked(&self) -> bool {
        burned_in_flagged(self.meta.burned_in_annotation.as_deref())
            && self.burned_in_confirmed_at.is_none()
    }
}

/// `yes` and `unknown` are flagged; `no` and `None` (PNG/JPEG) are not.
pub fn burned_in_flagged(value: Option<&str>) -> bool {
    matches!(value, Some("yes" | "unknown"))
}

/// An image to add: its metadata and the two objects' contents.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// sha256 (hex) of the bytes the user uploaded; identical uploads are stored once.
    pub sha256: String,
    pub meta: ImageMeta,
    pub original_filename: String,
    pub created_by: String,
}

/// Filters and paging for the image list.
#[derive(Debug, Clone, Default)]
pub struct ImageQuery {
    /// Case-insensitive substring of the original filename or a pseudonym.
    pub q: Option<String>,
    pub status: Option<ImageStatus>,
    /// Exactly this study pseudonym.
    pub study: Option<String>,
    /// Images this user is an assigned blind reader of.
    pub assigned_reader: Option<String>,
    /// The caller: a status filter leaves out, and the counts put under
    /// `blind`, the images they read blind (their status is others' work).
    pub viewer: Option<String>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// A box as stored, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBox {
    pub id: i64,
    pub class_id: u32,
    pub bbox: BBox,
    pub source: Provenance,
    pub score: Option<f64>,
    pub status: BoxStatus,
    /// The model's box before a radiologist edited it.
    pub original_bbox: Option<BBox>,
    pub original_class_id: Option<u32>,
    /// The stored raw model output a model box came from (`GET .../predictions`).
    #[serde(default)]
    pub prediction_id: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// The annotations of one image at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationState {
    pub version: i64,
    pub no_finding: bool,
    pub boxes: Vec<StoredBox>,
}

/// One box of a save: `id` names an existing box, `None` adds a manual box.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxEdit {
    pub id: Option<i64>,
    pub class_id: u32,
    pub bbox: BBox,
    pub status: BoxStatus,
}

/// A whole save: the new list of boxes replaces the old one.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationEdit {
    pub no_finding: bool,
    pub boxes: Vec<BoxEdit>,
}

/// One entry of an image's append-only annotation history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub at: Timestamp,
    pub user: String,
    pub action: String,
    pub version: i64,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}
