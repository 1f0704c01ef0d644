//! The schemas of the values other crates serialize for the API
//! (`carina-store`'s records, `carina-core`'s boxes and labels): those crates
//! know nothing of HTTP, so their shapes are described here, field for field.
//! `tests/api/openapi.rs` holds live responses against these schemas (every
//! field the server sends must be described, every required one sent), and
//! each `fields_of_*` function below stops compiling when a field is added to
//! or removed from the type it mirrors.
#![allow(dead_code)]

use super::schemas_review::{BBoxSchema, JobStatusSchema};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An account's role: viewer < radiologist < admin.
#[derive(Serialize, ToSchema)]
#[schema(as = Role)]
#[serde(rename_all = "snake_case")]
pub enum RoleSchema {
    Viewer,
    Radiologist,
    Admin,
}

/// read: GET and HEAD only; write: everything the owner's role allows.
#[derive(Serialize, ToSchema)]
#[schema(as = TokenScope)]
#[serde(rename_all = "snake_case")]
pub enum TokenScopeSchema {
    Read,
    Write,
}

/// An account (`carina_store::User`).
#[derive(ToSchema)]
#[schema(as = User)]
pub struct UserSchema {
    id: i64,
    username: String,
    role: RoleSchema,
    #[schema(format = DateTime)]
    created_at: String,
}

fn fields_of_user(u: carina_store::User) {
    let carina_store::User {
        id: _,
        username: _,
        role: _,
        created_at: _,
    } = u;
}

/// An API token without its secret (`carina_store::ApiToken`).
#[derive(ToSchema)]
#[schema(as = ApiToken)]
pub struct ApiTokenSchema {
    id: i64,
    name: String,
    scope: TokenScopeSchema,
    #[schema(format = DateTime)]
    created_at: String,
    /// null: never expires.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
}

fn fields_of_api_token(t: carina_store::ApiToken) {
    let carina_store::ApiToken {
        id: _,
        name: _,
        scope: _,
        created_at: _,
        expires_at: _,
        last_used_at: _,
    } = t;
}

/// An entry of the audit log (`carina_store::AuditEntry`).
#[derive(ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntrySchema {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    /// login, login_failed, login_throttled, user_registered, user_created,
    /// user_deleted, user_renamed, role_changed, password_reset,
    /// token_created, token_revoked, export
    kind: String,
    actor_id: Option<i64>,
    actor: Option<String>,
    subject_id: Option<i64>,
    subject: Option<String>,
    /// Client address
    client: Option<String>,
    detail: Value,
}

fn fields_of_audit_entry(e: carina_store::AuditEntry) {
    let carina_store::AuditEntry {
        id: _,
        at: _,
        kind: _,
        actor_id: _,
        actor: _,
        subject_id: _,
        subject: _,
        client: _,
        detail: _,
    } = e;
}

/// A label of the project's label set (`carina_store::Label`).
#[derive(ToSchema)]
#[schema(as = Label)]
pub struct LabelSchema {
    id: u32,
    name: String,
    color: String,
    retired: bool,
}

fn fields_of_label(l: carina_store::Label) {
    let carina_store::Label {
        id: _,
        name: _,
        color: _,
        retired: _,
    } = l;
}

#[derive(Serialize, ToSchema)]
#[schema(as = ImageStatus)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatusSchema {
    New,
    InReview,
    Done,
}

/// An image of the library (`carina_store::Image` with its metadata
/// flattened). For an image the caller reads blind, the fields that tell of
/// others' work are null and `blind` is true.
#[derive(ToSchema)]
#[schema(as = Image)]
pub struct ImageSchema {
    id: i64,
    /// dicom, png or jpeg
    format: String,
    width: u32,
    height: u32,
    bits_stored: u32,
    photometric: String,
    window_center: Option<f64>,
    window_width: Option<f64>,
    pixel_spacing: Option<[f64; 2]>,
    modality: Option<String>,
    study_pseudonym: Option<String>,
    patient_pseudonym: Option<String>,
    /// Burned In Annotation (0028,0301) of a DICOM upload (yes, no, unknown);
    /// null for PNG/JPEG. `yes` and `unknown` are left out of exports until
    /// an admin confirms.
    burned_in_annotation: Option<String>,
    /// DICOM View Position (PA, AP, LL, ...)
    view_position: Option<String>,
    original_filename: String,
    sha256: String,
    /// null for a blind reader
    status: Option<ImageStatusSchema>,
    /// The admin who confirmed a flagged image for export.
    burned_in_confirmed_by: Option<String>,
    #[schema(format = DateTime)]
    burned_in_confirmed_at: Option<String>,
    no_finding: Option<bool>,
    box_count: Option<i64>,
    /// accepted, edited and manual boxes
    reviewed_box_count: Option<i64>,
    /// model proposals not yet reviewed
    proposal_count: Option<i64>,
    /// proposals scoring at or above the caller's proposal_threshold
    proposals_above_threshold: Option<i64>,
    /// set by an admin
    display_label: Option<String>,
    /// 1-based rank of the study among the patient's studies
    study_index: Option<i64>,
    /// 1-based rank of the image within its study
    image_index: Option<i64>,
    study_image_count: Option<i64>,
    /// the display label, else 'P-3F2A · study 2 · PA' from the pseudonyms
    /// and view, else the stored file name
    display_name: String,
    /// The newest predict job of this image
    prediction_job_id: Option<i64>,
    prediction_status: Option<JobStatusSchema>,
    /// The newest send job (C-STORE to a DICOM peer) of this image; its
    /// result or last_error is the outcome
    send_job_id: Option<i64>,
    send_status: Option<JobStatusSchema>,
    annotation_version: Option<i64>,
    #[schema(format = DateTime)]
    created_at: String,
    created_by: String,
    #[schema(format = DateTime)]
    updated_at: Option<String>,
    updated_by: Option<String>,
    /// Present (true) when the caller is a blind reader of this image who
    /// has not submitted; the fields that tell of others' work are then null
    blind: Option<bool>,
}

fn fields_of_image(i: carina_store::Image) {
    let carina_store::Image {
        id: _,
        meta:
            carina_store::ImageMeta {
                format: _,
                width: _,
                height: _,
                bits_stored: _,
                photometric: _,
                window_center: _,
                window_width: _,
                pixel_spacing: _,
                modality: _,
                study_pseudonym: _,
                patient_pseudonym: _,
                burned_in_annotation: _,
                view_position: _,
            },
        original_filename: _,
        sha256: _,
        status: _,
        burned_in_confirmed_by: _,
        burned_in_confirmed_at: _,
        no_finding: _,
        box_count: _,
        reviewed_box_count: _,
        proposal_count: _,
        proposals_above_threshold: _,
        display_label: _,
        study_index: _,
        image_index: _,
        study_image_count: _,
        display_name: _,
        prediction_job_id: _,
        prediction_status: _,
        send_job_id: _,
        send_status: _,
        annotation_version: _,
        created_at: _,
        created_by: _,
        updated_at: _,
        updated_by: _,
        object_key: _,
        thumbnail_key: _,
    } = i;
}

#[derive(Serialize, ToSchema)]
#[schema(as = BoxStatus)]
#[serde(rename_all = "snake_case")]
pub enum BoxStatusSchema {
    Proposed,
    Accepted,
    Rejected,
    Edited,
    Manual,
}

/// Who drew a box (`carina_core::Provenance`).
#[derive(Serialize, ToSchema)]
#[schema(as = Provenance)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProvenanceSchema {
    Radiologist { user: String },
    Model { model: String, version: String },
    Consensus { user: String, readers: Vec<String> },
}

fn fields_of_provenance(p: carina_core::Provenance) {
    match p {
        carina_core::Provenance::Radiologist { user: _ } => {}
        carina_core::Provenance::Model {
            model: _,
            version: _,
        } => {}
        carina_core::Provenance::Consensus {
            user: _,
            readers: _,
        } => {}
    }
}

/// A stored box (`carina_store::StoredBox`).
#[derive(ToSchema)]
#[schema(as = Box)]
pub struct BoxSchema {
    id: i64,
    class_id: u32,
    bbox: BBoxSchema,
    source: ProvenanceSchema,
    score: Option<f64>,
    status: BoxStatusSchema,
    original_bbox: Option<BBoxSchema>,
    original_class_id: Option<u32>,
    /// The stored raw prediction a model box came from
    prediction_id: Option<i64>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    updated_by: String,
}

fn fields_of_box(b: carina_store::StoredBox) {
    let carina_store::StoredBox {
        id: _,
        class_id: _,
        bbox: _,
        source: _,
        score: _,
        status: _,
        original_bbox: _,
        original_class_id: _,
        prediction_id: _,
        created_at: _,
        updated_at: _,
        updated_by: _,
    } = b;
}

/// An image's boxes and their version (`carina_store::AnnotationState`);
/// the version is also the ETag.
#[derive(ToSchema)]
#[schema(as = Annotations)]
pub struct AnnotationsSchema {
    version: i64,
    no_finding: bool,
    boxes: Vec<BoxSchema>,
}

fn fields_of_annotations(a: carina_store::AnnotationState) {
    let carina_store::AnnotationState {
        version: _,
        no_finding: _,
        boxes: _,
    } = a;
}

/// An entry of an image's append-only history (`carina_store::HistoryEntry`).
#[derive(ToSchema)]
#[schema(as = HistoryEntry)]
pub struct HistoryEntrySchema {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    user: String,
    action: String,
    version: i64,
    /// the annotations before (an Annotations object)
    before: Value,
    /// the annotations after (an Annotations object)
    after: Value,
}

fn fields_of_history(h: carina_store::HistoryEntry) {
    let carina_store::HistoryEntry {
        id: _,
        at: _,
        user: _,
        action: _,
        version: _,
        before: _,
        after: _,
    } = h;
}
