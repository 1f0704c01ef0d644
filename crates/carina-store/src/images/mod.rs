//! Images of the library: their values, the row they are read from, and
//! reading one. Listing is in `list.rs`, writing in `write.rs`; adding,
//! replacing and deleting an image's file go through [`crate::Store`], which
//! writes the objects too.

use crate::db::Database;
use crate::db::sql::On;
use crate::db::sql::sql;
use crate::error::{Result, StoreError};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

mod dicom;
mod list;
mod write;

pub use dicom::{DicomIds, DicomInstance, StudyQuery, StudySummary};

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
    pub prediction_status: Option<crate::jobs::JobStatus>,
    /// The newest send job (C-STORE to a DICOM peer) of this image and its
    /// status; the job holds the outcome or the last error.
    pub send_job_id: Option<i64>,
    pub send_status: Option<crate::jobs::JobStatus>,
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
    /// UIDs and numbers of the served file, for DICOMweb (all `None` for a
    /// file that says none).
    pub dicom: DicomIds,
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

const IMAGE_COLUMNS: &str = "i.id, i.sha256, i.object_key, i.thumbnail_key, i.format, \
    i.width, i.height, i.bits_stored, i.photometric, i.window_center, i.window_width, \
    i.pixel_spacing_row, i.pixel_spacing_col, i.modality, i.study_pseudonym, i.patient_pseudonym, \
    i.original_filename, i.status, i.burned_in_annotation, i.burned_in_confirmed_by, \
    i.burned_in_confirmed_at, a.no_finding, a.version AS annotation_version, \
    (SELECT COUNT(*) FROM boxes b WHERE b.image_id = i.id AND b.status <> 'rejected') AS box_count, \
    (SELECT COUNT(*) FROM boxes b WHERE b.image_id = i.id AND b.status IN ('accepted', 'edited', 'manual')) AS reviewed_box_count, \
    (SELECT COUNT(*) FROM boxes b WHERE b.image_id = i.id AND b.status = 'proposed') AS proposal_count, \
    i.view_position, i.display_label, \
    (SELECT COUNT(DISTINCT s.study_pseudonym) FROM images s WHERE s.patient_pseudonym = i.patient_pseudonym \
       AND (SELECT MIN(f.id) FROM images f WHERE f.study_pseudonym = s.study_pseudonym) \
        <= (SELECT MIN(g.id) FROM images g WHERE g.study_pseudonym = i.study_pseudonym)) AS study_index, \
    (SELECT COUNT(*) FROM images k WHERE k.study_pseudonym = i.study_pseudonym AND k.id <= i.id) AS image_index, \
    (SELECT COUNT(*) FROM images c WHERE c.study_pseudonym = i.study_pseudonym) AS study_image_count, \
    (SELECT MAX(j.id) FROM jobs j WHERE j.image_id = i.id AND j.kind = 'predict') AS prediction_job_id, \
    (SELECT j.status FROM jobs j WHERE j.image_id = i.id AND j.kind = 'predict' ORDER BY j.id DESC LIMIT 1) AS prediction_status, \
    (SELECT MAX(j.id) FROM jobs j WHERE j.image_id = i.id AND j.kind = 'send') AS send_job_id, \
    (SELECT j.status FROM jobs j WHERE j.image_id = i.id AND j.kind = 'send' ORDER BY j.id DESC LIMIT 1) AS send_status, \
    i.created_at, i.created_by, i.updated_at, i.updated_by \
    FROM images i JOIN annotation_states a ON a.image_id = i.id";

#[derive(sqlx::FromRow)]
struct ImageRow {
    pub id: i64,
    pub sha256: String,
    pub object_key: String,
    pub thumbnail_key: String,
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub bits_stored: i64,
    pub photometric: String,
    pub window_center: Option<f64>,
    pub window_width: Option<f64>,
    pub pixel_spacing_row: Option<f64>,
    pub pixel_spacing_col: Option<f64>,
    pub modality: Option<String>,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub original_filename: String,
    pub status: String,
    pub burned_in_annotation: Option<String>,
    pub burned_in_confirmed_by: Option<String>,
    pub burned_in_confirmed_at: Option<i64>,
    pub no_finding: bool,
    pub annotation_version: i64,
    pub box_count: i64,
    pub reviewed_box_count: i64,
    pub proposal_count: i64,
    pub view_position: Option<String>,
    pub display_label: Option<String>,
    pub study_index: i64,
    pub image_index: i64,
    pub study_image_count: i64,
    pub prediction_job_id: Option<i64>,
    pub prediction_status: Option<String>,
    pub send_job_id: Option<i64>,
    pub send_status: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl TryFrom<ImageRow> for Image {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> Result<Self> {
        let pixel_spacing = match (r.pixel_spacing_row, r.pixel_spacing_col) {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        };
        // The indices mean something only with pseudonyms (a DICOM upload
        // that was de-identified); the subqueries count 0 otherwise.
        // A PNG/JPEG upload is served as a Secondary Capture of a patient and
        // study of its own: no numbering for it.
        let has_study = r.format == "dicom" && r.study_pseudonym.is_some();
        let has_patient = has_study && r.patient_pseudonym.is_some();
        let mut image = Image {
            id: r.id,
            meta: ImageMeta {
                format: r.format,
                width: r.width as u32,
                height: r.height as u32,
                bits_stored: r.bits_stored as u32,
                photometric: r.photometric,
                window_center: r.window_center,
                window_width: r.window_width,
                pixel_spacing,
                modality: r.modality,
                study_pseudonym: r.study_pseudonym,
                patient_pseudonym: r.patient_pseudonym,
                burned_in_annotation: r.burned_in_annotation,
                view_position: r.view_position,
            },
            burned_in_confirmed_by: r.burned_in_confirmed_by,
            burned_in_confirmed_at: r.burned_in_confirmed_at.map(Timestamp),
            original_filename: r.original_filename,
            sha256: r.sha256,
            status: ImageStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Invalid(format!("unknown status {:?}", r.status)))?,
            no_finding: r.no_finding,
            box_count: r.box_count,
            reviewed_box_count: r.reviewed_box_count,
            proposal_count: r.proposal_count,
            proposals_above_threshold: None,
            display_label: r.display_label,
            study_index: (has_patient && r.study_index > 0).then_some(r.study_index),
            image_index: (has_study && r.image_index > 0).then_some(r.image_index),
            study_image_count: (has_study && r.study_image_count > 0)
                .then_some(r.study_image_count),
            display_name: String::new(),
            prediction_job_id: r.prediction_job_id,
            prediction_status: r
                .prediction_status
                .as_deref()
                .and_then(crate::jobs::JobStatus::parse),
            send_job_id: r.send_job_id,
            send_status: r
                .send_status
                .as_deref()
                .and_then(crate::jobs::JobStatus::parse),
            annotation_version: r.annotation_version,
            created_at: Timestamp(r.created_at),
            created_by: r.created_by,
            updated_at: Timestamp(r.updated_at),
            updated_by: r.updated_by,
            object_key: r.object_key,
            thumbnail_key: r.thumbnail_key,
        };
        image.display_name = image.compute_display_name();
        Ok(image)
    }
}

impl Database {
    pub async fn image(&self, id: i64) -> Result<Option<Image>> {
        image_in(self, id).await
    }

    pub async fn image_by_sha256(&self, sha256: &str) -> Result<Option<Image>> {
        let row: Option<ImageRow> = sql(&format!("SELECT {IMAGE_COLUMNS} WHERE i.sha256 = $1"))
            .bind(sha256)
            .fetch_optional(self)
            .await?;
        row.map(Image::try_from).transpose()
    }

    pub async fn object_key_in_use(&self, key: &str) -> Result<bool> {
        let n: i64 = sql("SELECT COUNT(*) FROM images WHERE object_key = $1 OR thumbnail_key = $1")
            .bind(key)
            .scalar_one(self)
            .await?;
        Ok(n > 0)
    }
}

/// The image with this id, read on the pool or in a transaction.
async fn image_in(on: impl Into<On<'_>>, id: i64) -> Result<Option<Image>> {
    let row: Option<ImageRow> = sql(&format!("SELECT {IMAGE_COLUMNS} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(on)
        .await?;
    row.map(Image::try_from).transpose()
}
