//! The request and response bodies of blind reading (`routes::readings`).

use carina_core::BBox;
use carina_store::{AnnotationState, Assignment, Reading, ReadingStatus, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

type BBoxSchema = crate::openapi::schemas_review::BBoxSchema;

/// `POST /images/{id}/assignments`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AssignmentCreate)]
pub struct AssignBody {
    /// 1 to 32 radiologists (duplicates count once)
    pub readers: Vec<String>,
    pub reviewer: String,
}

/// A reader of an assignment and how far they are.
#[derive(Serialize, ToSchema)]
pub struct ReaderStatus {
    reader: String,
    #[schema(value_type = crate::openapi::schemas_review::ReadingStatusSchema)]
    status: ReadingStatus,
    #[schema(value_type = Option<String>, format = DateTime)]
    submitted_at: Option<Timestamp>,
}

/// An image's blind-reading assignment, without the readings' boxes.
#[derive(Serialize, ToSchema)]
#[schema(as = Assignment)]
pub struct AssignmentSummary {
    image_id: i64,
    reviewer: String,
    assigned_by: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    readers: Vec<ReaderStatus>,
    #[schema(value_type = Option<String>, format = DateTime)]
    consensus_at: Option<Timestamp>,
    consensus_by: Option<String>,
}

impl AssignmentSummary {
    pub fn of(a: &Assignment) -> Self {
        Self {
            image_id: a.image_id,
            reviewer: a.reviewer.clone(),
            assigned_by: a.assigned_by.clone(),
            created_at: a.created_at,
            readers: a
                .readings
                .iter()
                .map(|r| ReaderStatus {
                    reader: r.reader.clone(),
                    status: r.status,
                    submitted_at: r.submitted_at,
                })
                .collect(),
            consensus_at: a.consensus_at,
            consensus_by: a.consensus_by.clone(),
        }
    }
}

/// `GET /images/{id}/readings`: the assignment with every reading and the
/// last consensus.
#[derive(Serialize, ToSchema)]
pub struct AssignmentDetail {
    image_id: i64,
    reviewer: String,
    assigned_by: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    readers: Vec<ReaderStatus>,
    #[schema(value_type = Option<String>, format = DateTime)]
    consensus_at: Option<Timestamp>,
    consensus_by: Option<String>,
    #[schema(value_type = Vec<crate::openapi::schemas_review::ReadingSchema>)]
    readings: Vec<Reading>,
    /// The last fusion: {iou_thr, skip_box_thr, readers, boxes}
    consensus: Option<Value>,
}

impl AssignmentDetail {
    pub fn of(a: &Assignment) -> Self {
        let s = AssignmentSummary::of(a);
        Self {
            image_id: s.image_id,
            reviewer: s.reviewer,
            assigned_by: s.assigned_by,
            created_at: s.created_at,
            readers: s.readers,
            consensus_at: s.consensus_at,
            consensus_by: s.consensus_by,
            readings: a.readings.clone(),
            consensus: a.consensus.clone(),
        }
    }
}

/// One of the caller's own readings, without its boxes.
#[derive(Serialize, ToSchema)]
pub struct MyReading {
    image_id: i64,
    #[schema(value_type = crate::openapi::schemas_review::ReadingStatusSchema)]
    status: ReadingStatus,
    version: i64,
    box_count: usize,
    #[schema(value_type = String, format = DateTime)]
    assigned_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    submitted_at: Option<Timestamp>,
}

impl MyReading {
    pub fn of(r: &Reading) -> Self {
        Self {
            image_id: r.image_id,
            status: r.status,
            version: r.version,
            box_count: r.boxes.len(),
            assigned_at: r.assigned_at,
            submitted_at: r.submitted_at,
        }
    }
}

/// `GET /me/assignments`: what the caller reads and what they review.
#[derive(Serialize, ToSchema)]
pub struct MyAssignments {
    pub readings: Vec<MyReading>,
    pub reviews: Vec<AssignmentSummary>,
}

/// `PUT /images/{id}/readings/me`: the reader's whole set of boxes.
#[derive(Deserialize, ToSchema)]
#[schema(as = ReadingSave)]
pub struct ReadingBody {
    #[serde(default)]
    pub no_finding: bool,
    pub boxes: Vec<ReadingBoxBody>,
}

/// Other fields a client echoes back are ignored.
#[derive(Deserialize, ToSchema)]
#[schema(as = ReadingBoxSave)]
pub struct ReadingBoxBody {
    pub class_id: u32,
    #[schema(value_type = BBoxSchema)]
    pub bbox: BBox,
}

/// `POST /images/{id}/consensus`: the fusion's thresholds (an empty body
/// takes the defaults).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ConsensusRequest)]
pub struct ConsensusBody {
    /// default 0.6
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub iou_thr: Option<f64>,
    /// default 0
    pub skip_box_thr: Option<f64>,
}

/// The thresholds a fusion ran with.
#[derive(Serialize, ToSchema)]
pub struct FusionParams {
    pub iou_thr: f64,
    pub skip_box_thr: f64,
}

/// A fused box and the readers whose boxes it came from.
#[derive(Serialize, ToSchema)]
pub struct FusedBox {
    pub class_id: u32,
    #[schema(value_type = BBoxSchema)]
    pub bbox: BBox,
    pub score: f64,
    pub readers: Vec<String>,
}

/// `POST /images/{id}/consensus`: what was fused, and the annotations now.
#[derive(Serialize, ToSchema)]
pub struct ConsensusResult {
    pub image_id: i64,
    pub params: FusionParams,
    pub readers: Vec<String>,
    pub fused: Vec<FusedBox>,
    #[schema(value_type = crate::openapi::schemas::AnnotationsSchema)]
    pub annotations: AnnotationState,
}
