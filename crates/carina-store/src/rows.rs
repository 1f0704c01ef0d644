//! Database rows and their conversion into the store's values. The same row
//! types decode from SQLite and PostgreSQL because both schemas use BIGINT,
//! DOUBLE PRECISION, BOOLEAN and TEXT only.

use crate::accounts::*;
use crate::error::{Result, StoreError};
use crate::models::*;
use crate::reading::*;
use carina_core::{BBox, BoxStatus, Provenance};

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub created_at: i64,
    pub password_hash: String,
}

impl UserRow {
    pub fn user(&self) -> Result<User> {
        Ok(User {
            id: self.id,
            username: self.username.clone(),
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Invalid(format!("unknown role {:?}", self.role)))?,
            created_at: Timestamp(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self> {
        Ok(ApiToken {
            id: r.id,
            name: r.name,
            scope: crate::accounts::TokenScope::parse(&r.scope)
                .ok_or_else(|| StoreError::Invalid(format!("unknown token scope {:?}", r.scope)))?,
            created_at: Timestamp(r.created_at),
            expires_at: r.expires_at.map(Timestamp),
            last_used_at: r.last_used_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub subject_id: Option<i64>,
    pub subject: Option<String>,
    pub client: Option<String>,
    pub detail: String,
}

impl TryFrom<AuditRow> for crate::accounts::AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self> {
        Ok(crate::accounts::AuditEntry {
            id: r.id,
            at: Timestamp(r.at),
            kind: r.kind,
            actor_id: r.actor_id,
            actor: r.actor,
            subject_id: r.subject_id,
            subject: r.subject,
            client: r.client,
            detail: serde_json::from_str(&r.detail)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LabelRow {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub retired: bool,
}

impl From<LabelRow> for carina_core::findings::Label {
    fn from(r: LabelRow) -> Self {
        carina_core::findings::Label {
            id: r.id as u32,
            name: r.name,
            color: r.color,
            retired: r.retired,
        }
    }
}

pub(crate) const IMAGE_COLUMNS: &str = "i.id, i.sha256, i.object_key, i.thumbnail_key, i.format, \
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
    i.created_at, i.created_by, i.updated_at, i.updated_by \
    FROM images i JOIN annotation_states a ON a.image_id = i.id";

#[derive(sqlx::FromRow)]
pub(crate) struct ImageRow {
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
                .and_then(crate::review::JobStatus::parse),
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

#[derive(sqlx::FromRow)]
pub(crate) struct BoxRow {
    pub id: i64,
    pub class_id: i64,
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
    pub source_kind: String,
    pub source_user: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub score: Option<f64>,
    pub status: String,
    pub original_class_id: Option<i64>,
    pub original_x_min: Option<f64>,
    pub original_y_min: Option<f64>,
    pub original_x_max: Option<f64>,
    pub original_y_max: Option<f64>,
    pub prediction_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    pub consensus_readers: Option<String>,
}

fn bad(what: &str) -> StoreError {
    StoreError::Invalid(format!("stored box has {what}"))
}

impl TryFrom<BoxRow> for StoredBox {
    type Error = StoreError;
    fn try_from(r: BoxRow) -> Result<Self> {
        let source = match (r.source_kind.as_str(), &r.consensus_readers) {
            ("model", _) => Provenance::Model {
                model: r.model_name.unwrap_or_default(),
                version: r.model_version.unwrap_or_default(),
            },
            (_, Some(readers)) => Provenance::Consensus {
                user: r.source_user.unwrap_or_default(),
                readers: serde_json::from_str(readers)
                    .map_err(|_| bad("an unreadable consensus reader list"))?,
            },
            _ => Provenance::Radiologist {
                user: r.source_user.unwrap_or_default(),
            },
        };
        let original_bbox = match (
            r.original_x_min,
            r.original_y_min,
            r.original_x_max,
            r.original_y_max,
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                Some(BBox::new(a, b, c, d).map_err(|_| bad("an invalid original box"))?)
            }
            _ => None,
        };
        Ok(StoredBox {
            id: r.id,
            class_id: r.class_id as u32,
            bbox: BBox::new(r.x_min, r.y_min, r.x_max, r.y_max)
                .map_err(|_| bad("invalid coordinates"))?,
            source,
            score: r.score,
            status: BoxStatus::parse(&r.status).ok_or_else(|| bad("an unknown status"))?,
            original_bbox,
            original_class_id: r.original_class_id.map(|c| c as u32),
            prediction_id: r.prediction_id,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            updated_by: r.updated_by,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    pub id: i64,
    pub at: i64,
    pub username: String,
    pub action: String,
    pub version: i64,
    pub before_json: String,
    pub after_json: String,
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = StoreError;
    fn try_from(r: HistoryRow) -> Result<Self> {
        Ok(HistoryEntry {
            id: r.id,
            at: Timestamp(r.at),
            user: r.username,
            action: r.action,
            version: r.version,
            before: serde_json::from_str(&r.before_json)?,
            after: serde_json::from_str(&r.after_json)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReportRow {
    pub id: i64,
    pub version: i64,
    pub status: String,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub impression: String,
    pub no_finding: bool,
    pub findings_json: String,
    pub author: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<i64>,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    pub taken_over_by: Option<String>,
    pub taken_over_at: Option<i64>,
}

impl ReportRow {
    pub fn into_report(self, image_ids: Vec<i64>) -> Result<StoredReport> {
        Ok(StoredReport {
            id: self.id,
            version: self.version,
            status: ReportStatus::parse(&self.status).ok_or_else(|| {
                StoreError::Invalid(format!("unknown report status {:?}", self.status))
            })?,
            image_ids,
            study_pseudonym: self.study_pseudonym,
            patient_pseudonym: self.patient_pseudonym,
            impression: self.impression,
            no_finding: self.no_finding,
            findings: serde_json::from_str(&self.findings_json)?,
            author: self.author,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            updated_by: self.updated_by,
            signed_by: self.signed_by,
            signed_at: self.signed_at.map(Timestamp),
            supersedes: self.supersedes,
            superseded_by: self.superseded_by,
            taken_over_by: self.taken_over_by,
            taken_over_at: self.taken_over_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReadingRow {
    pub image_id: i64,
    pub reader: String,
    pub status: String,
    pub version: i64,
    pub no_finding: bool,
    pub boxes_json: String,
    pub assigned_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
}

impl TryFrom<ReadingRow> for Reading {
    type Error = StoreError;
    fn try_from(r: ReadingRow) -> Result<Self> {
        Ok(Reading {
            image_id: r.image_id,
            reader: r.reader,
            status: ReadingStatus::parse(&r.status).ok_or_else(|| {
                StoreError::Invalid(format!("unknown reading status {:?}", r.status))
            })?,
            version: r.version,
            no_finding: r.no_finding,
            boxes: serde_json::from_str(&r.boxes_json)?,
            assigned_at: Timestamp(r.assigned_at),
            updated_at: Timestamp(r.updated_at),
            submitted_at: r.submitted_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AssignmentRow {
    pub image_id: i64,
    pub reviewer: String,
    pub assigned_by: String,
    pub created_at: i64,
    pub consensus_json: Option<String>,
    pub consensus_at: Option<i64>,
    pub consensus_by: Option<String>,
}

impl AssignmentRow {
    pub fn into_assignment(self, readings: Vec<Reading>) -> Result<Assignment> {
        Ok(Assignment {
            image_id: self.image_id,
            reviewer: self.reviewer,
            assigned_by: self.assigned_by,
            created_at: Timestamp(self.created_at),
            readings,
            consensus: self
                .consensus_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            consensus_at: self.consensus_at.map(Timestamp),
            consensus_by: self.consensus_by,
        })
    }
}
