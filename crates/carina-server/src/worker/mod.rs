//! The job worker: claims jobs from the database queue, runs them off the
//! async executor, and records the outcome. The same loop runs inside
//! `carina serve` (by default) and as `carina worker`; any number of them
//! may share one PostgreSQL database, because claiming is atomic and every
//! completion is idempotent.
//!
//! A failed attempt is retried after an exponential back-off until the
//! job's attempts are used up; then the job is `failed` with its last error
//! visible. While a job runs its lease is renewed; a worker that dies stops
//! renewing, and once the lease has passed another worker takes the job.

pub(crate) mod detectors;
mod predict;
pub mod send;
pub mod train;

pub use detectors::DetectorCache;
pub use predict::{enqueue_predict, predict_job};
pub use send::{enqueue_send, send_job};
pub use train::{enqueue_train, train_job};

use crate::state::AppState;
use carina_store::{Job, JobKind, Timestamp};
use std::time::Duration;
use tokio::sync::watch;

/// Why a job attempt failed, and whether trying again could help.
#[derive(Debug)]
pub struct JobError {
    pub message: String,
    /// Retrying cannot help (the image was deleted, the payload is wrong, ...).
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

/// A name for this worker, unique across processes.
pub fn worker_id(kind: &str) -> String {
    let n: u32 = rand::random();
    format!("{kind}-{}-{n:08x}", std::process::id())
}

/// Claims and runs jobs of any kind until `stop` turns true.
pub async fn run(state: AppState, id: String, stop: watch::Receiver<bool>) {
    run_kind(state, id, None, stop).await
}

/// Starts the loops a process runs: `predict_loops` for predictions, one
/// for training, so that a fine-tuning run (minutes of CPU) never holds up
/// the suggestions of new uploads, and one for sending to DICOM peers.
pub fn spawn_loops(
    state: &AppState,
    name: &str,
    predict_loops: usize,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut loops: Vec<_> = (0..predict_loops)
        .map(|_| {
            tokio::spawn(run_kind(
                state.clone(),
                worker_id(name),
                Some(JobKind::Predict),
                stop.clone(),
            ))
        })
        .collect();
    loops.push(tokio::spawn(run_kind(
        state.clone(),
        worker_id(&format!("{name}-train")),
        Some(JobKind::Train),
        stop.clone(),
    )));
    // Sending waits on the network: a loop of its own.
    loops.push(tokio::spawn(run_kind(
        state.clone(),
        worker_id(&format!("{name}-send")),
        Some(JobKind::Send),
        stop.clone(),
    )));
    if predict_loops > 0 {
        tokio::spawn(warm_deployed(state.clone()));
    }
    loops
}

/// Loads the deployed model now (on tract that means exporting and planning
/// its graph, about a second), so that the first upload's proposals do not
/// wait for it. A failure is only logged: the first job tries again.
async fn warm_deployed(state: AppState) {
    match state.store.db.deployed_model().await {
        Ok(Some(model)) => {
            if let Err(e) = state.detectors.get(&state.store, &model).await {
                tracing::warn!(
                    model = model.id,
                    "cannot load the deployed model yet: {e:#}"
                );
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot look up the deployed model: {e}"),
    }
}

/// Claims and runs jobs of `kind` (any kind: `None`) until `stop` turns true.
pub async fn run_kind(
    state: AppState,
    id: String,
    kind: Option<JobKind>,
    mut stop: watch::Receiver<bool>,
) {
    let poll = Duration::from_millis(state.config.worker_poll_ms);
    tracing::info!(worker = %id, kind = kind.map(JobKind::as_str).unwrap_or("any"), "job worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let lease = Timestamp::now().plus(Duration::from_secs(state.config.job_lease_secs));
        let claimed = match kind {
            Some(k) => state.store.db.claim_job_of(k, &id, lease).await,
            None => state.store.db.claim_job(&id, lease).await,
        };
        match claimed {
            Ok(Some(job)) => {
                run_one(&state, &id, job).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(worker = %id, error = %e, "cannot claim a job"),
        }
        tokio::select! {
            // The signal is for predictions (a single permit: it must wake a
            // loop that claims them); a training loop just polls.
            _ = state.job_signal.notified(), if matches!(kind, None | Some(JobKind::Predict)) => {}
            _ = tokio::time::sleep(poll) => {}
            // A dropped sender means nobody can stop us any more: stop now.
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!(worker = %id, "job worker stopped");
}

/// Runs one claimed job, renewing its lease meanwhile, and records the outcome.
pub async fn run_one(state: &AppState, worker: &str, job: Job) {
    let heartbeat = {
        let state = state.clone();
        let worker = worker.to_string();
        let id = job.id;
        let lease = Duration::from_secs(state.config.job_lease_secs);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = Timestamp::now().plus(lease);
                match state.store.db.extend_lease(id, &worker, until).await {
                    Ok(true) => {}
                    _ => break,
                }
            }
        })
    };
    let started = std::time::Instant::now();
    let outcome = match job.kind {
        JobKind::Predict => predict_job(state, worker, &job).await,
        JobKind::Train => train_job(state, worker, &job).await,
        JobKind::Send => send_job(state, worker, &job).await,
    };
    heartbeat.abort();
    match outcome {
        Ok(()) => tracing::info!(
            job = job.id,
            ms = started.elapsed().as_millis() as u64,
            "job done"
        ),
        Err(e) => {
            let retry_at = (!e.permanent)
                .then(|| Timestamp::now().plus(state.config.job_backoff(job.attempts)));
            match state
                .store
                .db
                .fail_job(job.id, worker, &e.message, retry_at)
                .await
            {
                Ok(Some(j)) => tracing::warn!(
                    job = job.id,
                    status = j.status.as_str(),
                    attempts = j.attempts,
                    error = %e.message,
                    "job attempt failed"
                ),
                Ok(None) => tracing::warn!(job = job.id, "job lost its lease while failing"),
                Err(err) => {
                    tracing::error!(job = job.id, error = %err, "cannot record a job failure")
                }
            }
        }
    }
}
