//! The job queue. Claiming is one UPDATE whose subquery picks the oldest
//! runnable job: PostgreSQL locks that row with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers take different jobs; SQLite runs the whole statement
//! under its write lock, which gives the same semantics. A running job whose
//! lease has passed is runnable again: its worker is presumed dead.

use crate::annotations::{ModelBox, append_history, insert_box, state_in};
use crate::db::Backend;
use crate::db::Database;
use crate::db::sql::sql;
use crate::error::{Result, StoreError};
use crate::registry::RawBox;
use crate::time::Timestamp;
use carina_core::{BoxStatus, Provenance};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Predict,
    Train,
    /// C-STORE of an image and/or its SR to a DICOM peer.
    Send,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Predict => "predict",
            JobKind::Train => "train",
            JobKind::Send => "send",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "predict" => Some(JobKind::Predict),
            "train" => Some(JobKind::Train),
            "send" => Some(JobKind::Send),
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

impl Database {
    pub async fn enqueue_job(&self, new: &NewJob) -> Result<Job> {
        let now = Timestamp::now().millis();
        let row: JobRow = sql(&format!(
            "INSERT INTO jobs (kind, payload_json, image_id, model_id, status, attempts, max_attempts, \
             run_at, created_at, created_by) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6, $7) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(new.kind.as_str())
        .bind(serde_json::to_string(&new.payload)?)
        .bind(new.image_id)
        .bind(new.model_id)
        .bind(new.max_attempts.max(1))
        .bind(now)
        .bind(&new.created_by)
        .fetch_one(self)
        .await?;
        Job::try_from(row)
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sql(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self)
            .await?;
        row.map(Job::try_from).transpose()
    }

    /// Newest first.
    pub async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Job>> {
        let rows: Vec<JobRow> = sql(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR image_id = $1) \
             AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR kind = $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(q.image_id)
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.kind.map(JobKind::as_str))
        .bind(i64::from(q.limit.clamp(1, 1000)))
        .fetch_all(self)
        .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    /// The queued or running predict job of this image and model, if any.
    pub async fn open_predict_job(&self, image_id: i64, model_id: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sql(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = 'predict' AND image_id = $1 AND model_id = $2 \
             AND status IN ('queued', 'running') ORDER BY id DESC LIMIT 1"
        ))
        .bind(image_id)
        .bind(model_id)
        .fetch_optional(self)
        .await?;
        row.map(Job::try_from).transpose()
    }

    /// Claims the oldest runnable job (queued and due, or running with an
    /// expired lease) for `worker` until `lease_until`. Two claimers never get
    /// the same job.
    pub async fn claim_job(&self, worker: &str, lease_until: Timestamp) -> Result<Option<Job>> {
        self.claim(worker, lease_until, None).await
    }

    /// As [`Database::claim_job`], for jobs of one kind only (a training
    /// loop apart from the prediction loops, so a long training never holds
    /// up suggestions).
    pub async fn claim_job_of(
        &self,
        kind: JobKind,
        worker: &str,
        lease_until: Timestamp,
    ) -> Result<Option<Job>> {
        self.claim(worker, lease_until, Some(kind)).await
    }

    /// Takes the oldest runnable job (of `kind`, or of any kind) for `worker`
    /// until `lease_until`. Jobs whose lease ran out with no attempts left are
    /// marked failed first.
    async fn claim(
        &self,
        worker: &str,
        lease_until: Timestamp,
        kind: Option<JobKind>,
    ) -> Result<Option<Job>> {
        let now = Timestamp::now().millis();
        sql(
            "UPDATE jobs SET status = 'failed', finished_at = $1, locked_by = NULL, locked_until = NULL, \
             last_error = 'its worker stopped before finishing (lease expired) and no attempts are left' \
             WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(self)
        .await?;
        // Concurrent claimers on PostgreSQL skip the row another transaction
        // is claiming; SQLite runs the UPDATE under its write lock, so no row
        // lock is needed (nor known).
        let claim_lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let row: Option<JobRow> = sql(&format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, \
             locked_until = $2, started_at = $3, \
             last_error = CASE WHEN status = 'running' \
                 THEN 'its worker stopped before finishing (lease expired); retried' \
                 ELSE last_error END \
             WHERE id = (SELECT id FROM jobs WHERE ((status = 'queued' AND run_at <= $3) \
                 OR (status = 'running' AND locked_until < $3)) AND ($4 IS NULL OR kind = $4) \
                 ORDER BY run_at, id LIMIT 1{claim_lock}) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(worker)
        .bind(lease_until.millis())
        .bind(now)
        .bind(kind.map(JobKind::as_str))
        .fetch_optional(self)
        .await?;
        row.map(Job::try_from).transpose()
    }

    /// Extends the lease of a job `worker` still holds; false if it lost it.
    pub async fn extend_lease(&self, id: i64, worker: &str, until: Timestamp) -> Result<bool> {
        let r = sql(
            "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND status = 'running' AND locked_by = $3",
        )
        .bind(until.millis())
        .bind(id)
        .bind(worker)
        .execute(self)
        .await?;
        Ok(r == 1)
    }

    /// A failed attempt: retried at `retry_at` while attempts are left, else
    /// (or with `None`) failed for good. The error stays visible on the job.
    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<Option<Job>> {
        // Records a failed attempt: queued again at `retry_at`, or failed for good
        // when `retry_at` is `None` or no attempts are left. `None` if `worker`
        // no longer holds the job.
        let now = Timestamp::now().millis();
        let retry = retry_at.map(|t| t.millis());
        let row: Option<JobRow> = sql(&format!(
            "UPDATE jobs SET \
             status = CASE WHEN $1 IS NULL OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
             run_at = CASE WHEN $1 IS NULL OR attempts >= max_attempts THEN run_at ELSE $1 END, \
             finished_at = CASE WHEN $1 IS NULL OR attempts >= max_attempts THEN $2 ELSE NULL END, \
             last_error = $3, locked_by = NULL, locked_until = NULL \
             WHERE id = $4 AND status = 'running' AND locked_by = $5 RETURNING {JOB_COLUMNS}"
        ))
        .bind(retry)
        .bind(now)
        .bind(error)
        .bind(id)
        .bind(worker)
        .fetch_optional(self)
        .await?;
        row.map(Job::try_from).transpose()
    }

    /// Finishes a job with a JSON result (no side effects beyond the job row).
    pub async fn finish_job(
        &self,
        id: i64,
        worker: &str,
        result: &serde_json::Value,
    ) -> Result<bool> {
        let r = sql(
            "UPDATE jobs SET status = 'done', finished_at = $1, result_json = $2, locked_by = NULL, \
             locked_until = NULL WHERE id = $3 AND status = 'running' AND locked_by = $4",
        )
        .bind(Timestamp::now().millis())
        .bind(serde_json::to_string(result)?)
        .bind(id)
        .bind(worker)
        .execute(self)
        .await?;
        Ok(r == 1)
    }

    /// Stores a predict job's raw output, adds its proposals and finishes the
    /// job in one transaction (idempotent per image and model).
    pub async fn complete_prediction(
        &self,
        job_id: i64,
        worker: &str,
        p: &PredictionResult,
    ) -> Result<Completion> {
        // Stores a predict job's raw output and adds its proposals to the image's
        // boxes (a new annotation version, history action `predict`), then marks
        // the job done, all in one transaction. Idempotent: if this model's output
        // for the image is already stored, nothing is added a second time.
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        // First statement: holds the job row (PostgreSQL) or the write lock (SQLite).
        let owner: Option<String> = sql(
            "UPDATE jobs SET locked_until = locked_until WHERE id = $1 AND status = 'running' \
             AND locked_by = $2 RETURNING created_by",
        )
        .bind(job_id)
        .bind(worker)
        .scalar_optional(&mut tx)
        .await?;
        let Some(user) = owner else {
            return Ok(Completion::LostLease);
        };
        let inserted: Option<i64> = sql(
            "INSERT INTO predictions (image_id, model_id, job_id, detections_json, elapsed_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (image_id, model_id) DO NOTHING RETURNING id",
        )
        .bind(p.image_id)
        .bind(p.model_id)
        .bind(job_id)
        .bind(serde_json::to_string(&p.detections)?)
        .bind(p.elapsed_ms)
        .bind(now.millis())
        .scalar_optional(&mut tx)
        .await?;
        let (prediction_id, added) = match inserted {
            Some(id) => {
                let version: i64 = sql(
                    "UPDATE annotation_states SET version = version + 1 WHERE image_id = $1 RETURNING version",
                )
                .bind(p.image_id)
                .scalar_optional(&mut tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let mut before = state_in(&mut tx, p.image_id).await?;
                before.version = version - 1;
                let source = Provenance::Model {
                    model: p.model_name.clone(),
                    version: p.model_version.clone(),
                };
                for b in &p.proposals {
                    insert_box(
                        &mut tx,
                        p.image_id,
                        b.class_id,
                        b.bbox,
                        &source,
                        Some(b.score),
                        BoxStatus::Proposed,
                        now,
                        &user,
                        Some(id),
                    )
                    .await?;
                }
                let after = state_in(&mut tx, p.image_id).await?;
                append_history(&mut tx, p.image_id, now, &user, "predict", &before, &after).await?;
                (id, p.proposals.len())
            }
            None => {
                let id: i64 =
                    sql("SELECT id FROM predictions WHERE image_id = $1 AND model_id = $2")
                        .bind(p.image_id)
                        .bind(p.model_id)
                        .scalar_one(&mut tx)
                        .await?;
                (id, 0)
            }
        };
        let result = serde_json::json!({"prediction_id": prediction_id, "added": added});
        sql(
            "UPDATE jobs SET status = 'done', finished_at = $1, result_json = $2, locked_by = NULL, \
             locked_until = NULL WHERE id = $3",
        )
        .bind(now.millis())
        .bind(serde_json::to_string(&result)?)
        .bind(job_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Completion::Done {
            prediction_id,
            added,
        })
    }
}
