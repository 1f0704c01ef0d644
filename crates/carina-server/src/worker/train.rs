//! Train jobs: fine-tune a model on the workbench's reviewed boxes
//! (`carina_learn`), register it undeployed, and record the comparison on
//! the held-out images as the job's result. One at a time: a second request
//! while one is queued or running is refused.

use super::JobError;
use crate::state::AppState;
use carina_learn::{FineTuneRequest, Workbench, fine_tune};
use carina_store::{Job, JobKind, JobQuery, JobStatus, NewJob, StoreError};
use serde_json::json;

/// The queued or running train job, if any. One query, so that a job moving
/// from queued to running meanwhile is still seen; only the newest train jobs
/// can be open, since a new one is refused while another is.
pub async fn open_train_job(state: &AppState) -> Result<Option<Job>, StoreError> {
    let jobs = state
        .store
        .db
        .list_jobs(&JobQuery {
            image_id: None,
            status: None,
            kind: Some(JobKind::Train),
            limit: 20,
        })
        .await?;
    Ok(jobs
        .into_iter()
        .find(|j| matches!(j.status, JobStatus::Queued | JobStatus::Running)))
}

/// Queues a train job (the request already validated); the training loop
/// polls for it (within `CARINA_WORKER_POLL_MS`).
pub async fn enqueue_train(
    state: &AppState,
    req: &FineTuneRequest,
    user: &str,
) -> Result<Job, StoreError> {
    let job = state
        .store
        .db
        .enqueue_job(&NewJob {
            kind: JobKind::Train,
            payload: serde_json::to_value(req).map_err(|e| StoreError::Invalid(e.to_string()))?,
            image_id: None,
            model_id: req.base_model_id,
            // A worker that dies mid-training gets one more try; a training that
            // fails on its own (too few images, a bad setting) fails at once.
            max_attempts: 2,
            created_by: user.to_string(),
        })
        .await?;
    Ok(job)
}

/// Runs a claimed train job in `data_dir/training/job-<id>/`.
pub async fn train_job(state: &AppState, worker: &str, job: &Job) -> Result<(), JobError> {
    let req: FineTuneRequest = serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::permanent(format!("the job's payload is not a request: {e}")))?;
    let work = state
        .config
        .data_dir
        .join("training")
        .join(format!("job-{}", job.id));
    // A previous attempt of this job (its worker died) left its folder.
    if tokio::fs::try_exists(&work).await.unwrap_or(false) {
        tokio::fs::remove_dir_all(&work)
            .await
            .map_err(|e| JobError::retry(format!("cannot clear {}: {e}", work.display())))?;
    }
    let tmp = crate::sweep::temp_dir(&state.config);
    let outcome = fine_tune(
        &Workbench::new(&state.store, &tmp),
        &req,
        &work,
        &job.created_by,
        false,
    )
    .await
    .map_err(|e| JobError::permanent(format!("{e:#}")))?;
    tracing::info!(
        job = job.id,
        model = outcome.model.id,
        train_images = outcome.train_images,
        held_out_images = outcome.held_out_images,
        "fine-tuned model registered (not deployed)"
    );
    let result = json!({
        "model_id": outcome.model.id,
        "name": outcome.model.name,
        "version": outcome.model.version,
        "base_model_id": outcome.base_model_id,
        "train_images": outcome.train_images,
        "held_out_images": outcome.held_out_images,
        "boxes": outcome.boxes,
        "held_out": {"base": outcome.base_held_out, "new": outcome.new_held_out},
    });
    match state.store.db.finish_job(job.id, worker, &result).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(JobError::permanent(
            "the job's lease was lost while training; the model is registered",
        )),
        Err(e) => Err(JobError::retry(format!("store: {e}"))),
    }
}
