//! Rows of the registry, job and prediction tables, and their conversion.

use crate::error::{Result, StoreError};
use crate::models::Timestamp;
use crate::review::*;

pub(crate) const MODEL_COLUMNS: &str = "id, name, version, arch, num_classes, class_names_json, \
    input_size, synthetic, model_json, card, metrics_json, weights_key, weights_sha256, source, \
    deployed, created_at, created_by";

#[derive(sqlx::FromRow)]
pub(crate) struct ModelRow {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub num_classes: i64,
    pub class_names_json: String,
    pub input_size: i64,
    pub synthetic: bool,
    pub model_json: String,
    pub card: Option<String>,
    pub metrics_json: Option<String>,
    pub weights_key: String,
    pub weights_sha256: String,
    pub source: String,
    pub deployed: bool,
    pub created_at: i64,
    pub created_by: String,
}

impl TryFrom<ModelRow> for ModelRecord {
    type Error = StoreError;
    fn try_from(r: ModelRow) -> Result<Self> {
        Ok(ModelRecord {
            id: r.id,
            name: r.name,
            version: r.version,
            arch: r.arch,
            num_classes: r.num_classes as u32,
            class_names: serde_json::from_str(&r.class_names_json)?,
            input_size: r.input_size as u32,
            synthetic: r.synthetic,
            model_json: serde_json::from_str(&r.model_json)?,
            card: r.card,
            metrics: r
                .metrics_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            weights_sha256: r.weights_sha256,
            source: ModelSource::parse(&r.source).ok_or_else(|| {
                StoreError::Invalid(format!("unknown model source {:?}", r.source))
            })?,
            deployed: r.deployed,
            created_at: Timestamp(r.created_at),
            created_by: r.created_by,
            weights_key: r.weights_key,
        })
    }
}

pub(crate) const JOB_COLUMNS: &str = "id, kind, payload_json, image_id, model_id, status, attempts, \
    max_attempts, run_at, locked_by, locked_until, last_error, result_json, created_at, created_by, \
    started_at, finished_at";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload_json: String,
    pub image_id: Option<i64>,
    pub model_id: Option<i64>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub result_json: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self> {
        Ok(Job {
            id: r.id,
            kind: JobKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Invalid(format!("unknown job kind {:?}", r.kind)))?,
            payload: serde_json::from_str(&r.payload_json)?,
            image_id: r.image_id,
            model_id: r.model_id,
            status: JobStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Invalid(format!("unknown job status {:?}", r.status)))?,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: Timestamp(r.run_at),
            locked_by: r.locked_by,
            locked_until: r.locked_until.map(Timestamp),
            last_error: r.last_error,
            result: r
                .result_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            created_at: Timestamp(r.created_at),
            created_by: r.created_by,
            started_at: r.started_at.map(Timestamp),
            finished_at: r.finished_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PredictionRow {
    pub id: i64,
    pub image_id: i64,
    pub model_id: i64,
    pub job_id: Option<i64>,
    pub detections_json: String,
    pub elapsed_ms: i64,
    pub created_at: i64,
}

impl TryFrom<PredictionRow> for Prediction {
    type Error = StoreError;
    fn try_from(r: PredictionRow) -> Result<Self> {
        Ok(Prediction {
            id: r.id,
            image_id: r.image_id,
            model_id: r.model_id,
            job_id: r.job_id,
            detections: serde_json::from_str(&r.detections_json)?,
            elapsed_ms: r.elapsed_ms,
            created_at: Timestamp(r.created_at),
        })
    }
}
