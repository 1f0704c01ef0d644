//! [`Database`]'s operations for the model registry, the job queue, stored
//! predictions and preferences (the queries are in `backend/queries/`).

use crate::Database;
use crate::backend;
use crate::error::Result;
use crate::models::Timestamp;
use crate::review::*;

macro_rules! dispatch {
    ($self:ident, $f:ident($($arg:expr),* $(,)?)) => {
        match $self {
            Database::Sqlite(p) => backend::sqlite::$f(p, $($arg),*).await,
            Database::Postgres(p) => backend::postgres::$f(p, $($arg),*).await,
        }
    };
}

impl Database {
    /// Registers a model whose weights are already stored; with `deploy`,
    /// it becomes the deployed one in the same transaction.
    pub async fn register_model(&self, new: &NewModel, deploy: bool) -> Result<ModelRecord> {
        dispatch!(self, register_model(new, deploy))
    }
    /// Newest first.
    pub async fn models(&self) -> Result<Vec<ModelRecord>> {
        dispatch!(self, models())
    }
    pub async fn model(&self, id: i64) -> Result<Option<ModelRecord>> {
        dispatch!(self, model(id))
    }
    pub async fn deployed_model(&self) -> Result<Option<ModelRecord>> {
        dispatch!(self, deployed_model())
    }
    /// Makes `id` the one deployed model (one transaction; the previous stays registered).
    pub async fn deploy_model(&self, id: i64) -> Result<ModelRecord> {
        dispatch!(self, deploy_model(id))
    }
    /// Per class as proposed: how many of this model's boxes are proposed,
    /// accepted, edited and rejected, leaving out the images `blind_reader`
    /// reads blind (pass `""` for all).
    pub async fn model_review_counts(
        &self,
        model_id: i64,
        blind_reader: &str,
    ) -> Result<Vec<ClassReview>> {
        dispatch!(self, model_review_counts(model_id, blind_reader))
    }
    /// Every model's stored raw output for an image.
    pub async fn predictions(&self, image_id: i64) -> Result<Vec<Prediction>> {
        dispatch!(self, predictions(image_id))
    }
    pub async fn preferences(&self, user_id: i64) -> Result<Preferences> {
        dispatch!(self, preferences(user_id))
    }
    pub async fn set_preferences(&self, user_id: i64, p: &Preferences) -> Result<Preferences> {
        dispatch!(self, set_preferences(user_id, p))
    }

    pub async fn enqueue_job(&self, new: &NewJob) -> Result<Job> {
        dispatch!(self, enqueue_job(new))
    }
    pub async fn job(&self, id: i64) -> Result<Option<Job>> {
        dispatch!(self, job(id))
    }
    pub async fn list_jobs(&self, q: &JobQuery) -> Result<Vec<Job>> {
        dispatch!(self, list_jobs(q))
    }
    /// The queued or running predict job of this image and model, if any.
    pub async fn open_predict_job(&self, image_id: i64, model_id: i64) -> Result<Option<Job>> {
        dispatch!(self, open_predict_job(image_id, model_id))
    }
    /// Claims the oldest runnable job (queued and due, or running with an
    /// expired lease) for `worker` until `lease_until`. Two claimers never get
    /// the same job.
    pub async fn claim_job(&self, worker: &str, lease_until: Timestamp) -> Result<Option<Job>> {
        dispatch!(self, claim_job(worker, lease_until, None))
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
        dispatch!(self, claim_job(worker, lease_until, Some(kind)))
    }
    pub async fn extend_lease(&self, id: i64, worker: &str, until: Timestamp) -> Result<bool> {
        dispatch!(self, extend_lease(id, worker, until))
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
        dispatch!(self, fail_job(id, worker, error, retry_at))
    }
    pub async fn finish_job(
        &self,
        id: i64,
        worker: &str,
        result: &serde_json::Value,
    ) -> Result<bool> {
        dispatch!(self, finish_job(id, worker, result))
    }
    /// Stores a predict job's raw output, adds its proposals and finishes the
    /// job in one transaction (idempotent per image and model).
    pub async fn complete_prediction(
        &self,
        job_id: i64,
        worker: &str,
        result: &PredictionResult,
    ) -> Result<Completion> {
        dispatch!(self, complete_prediction(job_id, worker, result))
    }
}
