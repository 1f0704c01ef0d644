//! The values the store hands out and takes in. They serialise in the HTTP
//! API's shape, which is also the shape kept in the annotation history.

use carina_core::{BBox, BoxStatus, Provenance};
use serde::{Deserialize, Serialize, Serializer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, kept as Unix milliseconds in both databases and shown
/// as RFC 3339 (`2026-01-02T03:04:05.678Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(from = "i64")]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0 + d.as_millis() as i64)
    }
    pub fn to_rfc3339(self) -> String {
        let t = UNIX_EPOCH + Duration::from_millis(self.0.max(0) as u64);
        humantime::format_rfc3339_millis(t).to_string()
    }
}

impl From<i64> for Timestamp {
    fn from(ms: i64) -> Self {
        Timestamp(ms)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// What a user may do; each role includes the ones below it
/// (`Admin > Radiologist > Viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Radiologist,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Radiologist => "radiologist",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "radiologist" => Some(Role::Radiologist),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A user with the stored password hash (for logging in only).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A live session found by its token hash.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// A personal API token's public part; the token itself is shown once.
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: crate::accounts::TokenScope,
    pub created_at: Timestamp,
    /// None: never expires.
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

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

/// A box proposed by a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBox {
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
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
