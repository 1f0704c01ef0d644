//! The values of the AI-suggestion loop: registered models, background jobs,
//! the models' raw outputs, per-class review counts and user preferences.

use crate::time::Timestamp;
use carina_core::BBox;
use serde::{Deserialize, Serialize};

/// Where a registered model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Embedded in the binary and registered at first start.
    Bundled,
    /// Uploaded by an admin.
    Upload,
    /// Fine-tuned from the workbench's own annotations.
    Workbench,
}

impl ModelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Bundled => "bundled",
            ModelSource::Upload => "upload",
            ModelSource::Workbench => "workbench",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bundled" => Some(ModelSource::Bundled),
            "upload" => Some(ModelSource::Upload),
            "workbench" => Some(ModelSource::Workbench),
            _ => None,
        }
    }
}

/// A model of the registry, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRecord {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub num_classes: u32,
    pub class_names: Vec<String>,
    pub input_size: u32,
    /// Trained (even partly) on generated radiographs: shown wherever the model is.
    pub synthetic: bool,
    /// The model folder's `model.json`, as uploaded.
    pub model_json: serde_json::Value,
    /// `MODEL_CARD.md`, when there was one.
    pub card: Option<String>,
    /// Validation metrics (from `model.json` or an evaluation).
    pub metrics: Option<serde_json::Value>,
    pub weights_sha256: String,
    pub source: ModelSource,
    pub deployed: bool,
    pub created_at: Timestamp,
    pub created_by: String,
    /// Where `model.safetensors` lives in the object store.
    #[serde(skip)]
    pub weights_key: String,
}

/// A model to register (its weights are already in the object store).
#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub num_classes: u32,
    pub class_names: Vec<String>,
    pub input_size: u32,
    pub synthetic: bool,
    pub model_json: serde_json::Value,
    pub card: Option<String>,
    pub metrics: Option<serde_json::Value>,
    pub weights_key: String,
    pub weights_sha256: String,
    pub source: ModelSource,
    pub created_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Predict,
    Train,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Predict => "predict",
            JobKind::Train => "train",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "predict" => Some(JobKind::Predict),
            "train" => Some(JobKind::Train),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

/// A background job of the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub payload: serde_json::Value,
    pub image_id: Option<i64>,
    pub model_id: Option<i64>,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Not claimed before this time (the back-off after a failed attempt).
    pub run_at: Timestamp,
    pub locked_by: Option<String>,
    /// The lease: past it, a running job is claimable again (its worker is presumed dead).
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub result: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub payload: serde_json::Value,
    pub image_id: Option<i64>,
    pub model_id: Option<i64>,
    pub max_attempts: i64,
    pub created_by: String,
}

/// Filters for the job list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub image_id: Option<i64>,
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    pub limit: u32,
}

/// One detection of a model's raw output, in the image's pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawBox {
    pub class_id: u32,
    pub class_name: String,
    pub score: f64,
    pub bbox: BBox,
}

/// A model's raw output for one image, stored as it came.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub id: i64,
    pub image_id: i64,
    pub model_id: i64,
    pub job_id: Option<i64>,
    pub detections: Vec<RawBox>,
    pub elapsed_ms: i64,
    pub created_at: Timestamp,
}

/// A finished prediction to store: the raw output, and the proposals (label
/// ids of this workbench, already clipped) to add to the image's boxes.
#[derive(Debug, Clone)]
pub struct PredictionResult {
    pub image_id: i64,
    pub model_id: i64,
    pub model_name: String,
    pub model_version: String,
    pub detections: Vec<RawBox>,
    pub proposals: Vec<ModelBox>,
    pub elapsed_ms: i64,
}

/// What completing a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The job is done; `added` proposals were added (0 when this model's
    /// output for the image was already stored: a retried or repeated job).
    Done { prediction_id: i64, added: usize },
    /// The worker no longer holds the job (its lease expired and another took it).
    LostLease,
}

/// How a model version's proposals of one class were reviewed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassReview {
    pub class_id: u32,
    pub proposed: i64,
    pub accepted: i64,
    pub edited: i64,
    pub rejected: i64,
}

/// A user's settings of the editor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// Proposals scoring below this are hidden in the editor.
    pub proposal_threshold: f64,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            proposal_threshold: 0.3,
        }
    }
}

/// A box proposed by a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBox {
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
}
