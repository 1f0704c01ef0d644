//! The schemas of the AI-suggestion loop, blind reading and reports (see
//! `schemas.rs` for how they are kept true).
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `[x_min, y_min, x_max, y_max]` in original pixels.
#[derive(ToSchema)]
#[schema(as = BBox)]
pub struct BBoxSchema([f64; 4]);

#[derive(Serialize, ToSchema)]
#[schema(as = JobKind)]
#[serde(rename_all = "snake_case")]
pub enum JobKindSchema {
    Predict,
    Train,
    Send,
}

#[derive(Serialize, ToSchema)]
#[schema(as = JobStatus)]
#[serde(rename_all = "snake_case")]
pub enum JobStatusSchema {
    Queued,
    Running,
    Done,
    Failed,
}

/// A background job (`carina_store::Job`).
#[derive(ToSchema)]
#[schema(as = Job)]
pub struct JobSchema {
    id: i64,
    kind: JobKindSchema,
    payload: Value,
    image_id: Option<i64>,
    model_id: Option<i64>,
    status: JobStatusSchema,
    attempts: i64,
    max_attempts: i64,
    /// Not claimed before this time (back-off after a failed attempt)
    #[schema(format = DateTime)]
    run_at: String,
    locked_by: Option<String>,
    /// Lease; past it a running job is retried by another worker
    #[schema(format = DateTime)]
    locked_until: Option<String>,
    last_error: Option<String>,
    /// predict: {prediction_id, added}
    result: Option<Value>,
    #[schema(format = DateTime)]
    created_at: String,
    created_by: String,
    #[schema(format = DateTime)]
    started_at: Option<String>,
    #[schema(format = DateTime)]
    finished_at: Option<String>,
}

fn fields_of_job(j: carina_store::Job) {
    let carina_store::Job {
        id: _,
        kind: _,
        payload: _,
        image_id: _,
        model_id: _,
        status: _,
        attempts: _,
        max_attempts: _,
        run_at: _,
        locked_by: _,
        locked_until: _,
        last_error: _,
        result: _,
        created_at: _,
        created_by: _,
        started_at: _,
        finished_at: _,
    } = j;
}

/// A detection of a model's raw output (`carina_store::RawBox`).
#[derive(ToSchema)]
#[schema(as = Detection)]
pub struct RawBoxSchema {
    class_id: u32,
    class_name: String,
    score: f64,
    bbox: BBoxSchema,
}

fn fields_of_raw_box(b: carina_store::RawBox) {
    let carina_store::RawBox {
        class_id: _,
        class_name: _,
        score: _,
        bbox: _,
    } = b;
}

/// A model's raw output for an image (`carina_store::Prediction`).
#[derive(ToSchema)]
#[schema(as = Prediction)]
pub struct PredictionSchema {
    id: i64,
    image_id: i64,
    model_id: i64,
    job_id: Option<i64>,
    detections: Vec<RawBoxSchema>,
    elapsed_ms: i64,
    #[schema(format = DateTime)]
    created_at: String,
}

fn fields_of_prediction(p: carina_store::Prediction) {
    let carina_store::Prediction {
        id: _,
        image_id: _,
        model_id: _,
        job_id: _,
        detections: _,
        elapsed_ms: _,
        created_at: _,
    } = p;
}

#[derive(Serialize, ToSchema)]
#[schema(as = ModelSource)]
#[serde(rename_all = "snake_case")]
pub enum ModelSourceSchema {
    Bundled,
    Upload,
    Workbench,
}

/// A model of the registry (`carina_store::ModelRecord`).
#[derive(ToSchema)]
#[schema(as = Model)]
pub struct ModelSchema {
    id: i64,
    name: String,
    version: String,
    arch: String,
    num_classes: u32,
    class_names: Vec<String>,
    input_size: u32,
    /// Trained on generated radiographs; not validated on patients
    synthetic: bool,
    /// The model folder's `model.json`, as uploaded
    model_json: Value,
    /// `MODEL_CARD.md`, when there was one
    card: Option<String>,
    /// Validation metrics
    metrics: Option<Value>,
    weights_sha256: String,
    source: ModelSourceSchema,
    deployed: bool,
    #[schema(format = DateTime)]
    created_at: String,
    created_by: String,
}

fn fields_of_model(m: carina_store::ModelRecord) {
    let carina_store::ModelRecord {
        id: _,
        name: _,
        version: _,
        arch: _,
        num_classes: _,
        class_names: _,
        input_size: _,
        synthetic: _,
        model_json: _,
        card: _,
        metrics: _,
        weights_sha256: _,
        source: _,
        deployed: _,
        created_at: _,
        created_by: _,
        weights_key: _,
    } = m;
}

/// The caller's preferences (`carina_store::Preferences`).
#[derive(ToSchema)]
#[schema(as = Preferences)]
pub struct PreferencesSchema {
    /// Proposals scoring below this are hidden, 0 to 1
    #[schema(minimum = 0.0, maximum = 1.0)]
    proposal_threshold: f64,
}

fn fields_of_preferences(p: carina_store::Preferences) {
    let carina_store::Preferences {
        proposal_threshold: _,
    } = p;
}

/// A box of a blind reading (`carina_store::ReadingBox`).
#[derive(ToSchema)]
#[schema(as = ReadingBox)]
pub struct ReadingBoxSchema {
    class_id: u32,
    bbox: BBoxSchema,
}

fn fields_of_reading_box(b: carina_store::ReadingBox) {
    let carina_store::ReadingBox {
        class_id: _,
        bbox: _,
    } = b;
}

#[derive(Serialize, ToSchema)]
#[schema(as = ReadingStatus)]
#[serde(rename_all = "snake_case")]
pub enum ReadingStatusSchema {
    Assigned,
    Submitted,
}

/// One reader's blind reading of an image (`carina_store::Reading`).
#[derive(ToSchema)]
#[schema(as = Reading)]
pub struct ReadingSchema {
    image_id: i64,
    reader: String,
    status: ReadingStatusSchema,
    version: i64,
    no_finding: bool,
    boxes: Vec<ReadingBoxSchema>,
    #[schema(format = DateTime)]
    assigned_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    #[schema(format = DateTime)]
    submitted_at: Option<String>,
}

fn fields_of_reading(r: carina_store::Reading) {
    let carina_store::Reading {
        image_id: _,
        reader: _,
        status: _,
        version: _,
        no_finding: _,
        boxes: _,
        assigned_at: _,
        updated_at: _,
        submitted_at: _,
    } = r;
}

#[derive(Serialize, ToSchema)]
#[schema(as = ReportStatus)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatusSchema {
    Draft,
    Signed,
    Amended,
    Superseded,
}

/// The settings of a fine-tuning (`POST /models/train`; every field has a
/// default). Unknown fields are refused.
#[derive(ToSchema)]
#[schema(as = FineTuneRequest)]
pub struct FineTuneRequestSchema {
    /// Model to start from; default the deployed one
    base_model_id: Option<i64>,
    #[schema(minimum = 1, maximum = 100000, default = 300)]
    steps: Option<u32>,
    #[schema(minimum = 1, maximum = 64, default = 4)]
    batch_size: Option<u32>,
    /// Peak learning rate (AdamW, warm-up then cosine decay)
    #[schema(default = 0.001)]
    lr: Option<f64>,
    #[schema(minimum = 0.05, maximum = 0.5, default = 0.2)]
    held_out: Option<f64>,
    #[schema(default = 42)]
    seed: Option<u64>,
    #[schema(minimum = 2, default = 10)]
    min_images: Option<u32>,
    /// carina-train settings as key=value
    set: Option<Vec<String>>,
}

fn fields_of_fine_tune_request(r: carina_learn::FineTuneRequest) {
    let carina_learn::FineTuneRequest {
        base_model_id: _,
        steps: _,
        batch_size: _,
        lr: _,
        held_out: _,
        seed: _,
        min_images: _,
        set: _,
    } = r;
}
