//! The sweeper's schedule: one sweep when `carina serve` or `carina worker`
//! starts, then one every `CARINA_SWEEP_MINUTES` (0: only the one at start).
//! What a sweep removes, and why that is safe while other processes write
//! to the same database and object store, is `carina_store::Store::sweep`.
//!
//! Temporary files: request bodies are read into memory (never spooled to
//! disk), so the temporary files a crash can leave are the local object
//! store's `key#N` staging files (swept by the store) and whatever lives
//! under [`temp_dir`] (`DATA_DIR/tmp`): a model folder being checked on
//! registration, a model being written into `model-cache/`. A fine-tuning
//! killed mid-run leaves copies of images in `DATA_DIR/training/job-<id>/`;
//! once its job is finished or failed, those copies go too (the logs stay).

use crate::config::Config;
use crate::state::AppState;
use carina_store::{JobStatus, SweepReport};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// `DATA_DIR/tmp`: every temporary file of the server lives under it, and
/// the sweeper removes entries older than the grace.
pub fn temp_dir(config: &Config) -> PathBuf {
    config.data_dir.join("tmp")
}

/// Runs one sweep now and logs its outcome (an error is logged, not returned:
/// the next sweep tries again).
pub async fn sweep_once(state: &AppState) -> Option<SweepReport> {
    let grace = Duration::from_secs(state.config.sweep_grace_secs);
    let dirs = [temp_dir(&state.config)];
    let cutoff = SystemTime::now()
        .checked_sub(grace)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    match state.store.sweep(grace, &dirs).await {
        Ok(mut r) => {
            r.temp_files
                .extend(sweep_training(state, cutoff, &mut r.errors).await);
            tracing::info!(
                objects_removed = r.objects.len(),
                temp_files_removed = r.temp_files.len(),
                bytes_removed = r.removed_bytes(),
                objects_scanned = r.scanned,
                young_unreferenced = r.young_unreferenced,
                errors = r.errors.len(),
                "sweep done"
            );
            Some(r)
        }
        Err(e) => {
            tracing::warn!(error = %e, "sweep failed; the next one tries again");
            None
        }
    }
}

/// Sweeps now, then every `sweep_minutes` until `stop` turns true.
pub fn spawn(state: &AppState, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let grace = state.config.sweep_grace_secs;
        if grace < 600 {
            tracing::warn!(
                grace_s = grace,
                "CARINA_SWEEP_GRACE_SECS is under 10 minutes: it must exceed the longest upload, or the sweeper can remove an object whose row is not committed yet"
            );
        }
        let every = Duration::from_secs(state.config.sweep_minutes.saturating_mul(60));
        loop {
            if *stop.borrow() {
                break;
            }
            sweep_once(&state).await;
            if every.is_zero() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// The parts of a training folder that hold copies of images (what
/// `carina_learn::fine_tune` removes when it ends, whatever happened).
const TRAINING_COPIES: &[&str] = &["source", "data/images", "run/state"];

/// Removes the image copies of training folders whose job is over (done,
/// failed or gone) and whose files are older than the grace.
async fn sweep_training(
    state: &AppState,
    cutoff: SystemTime,
    errors: &mut Vec<String>,
) -> Vec<(PathBuf, u64)> {
    let root = state.config.data_dir.join("training");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut over = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("job-"))
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        match state.store.db.job(id).await {
            Ok(Some(job)) if matches!(job.status, JobStatus::Queued | JobStatus::Running) => {}
            Ok(_) => over.push(entry.path()),
            Err(e) => errors.push(format!("training job {id}: {e}")),
        }
    }
    let outcome = tokio::task::spawn_blocking(move || {
        over.iter()
            .flat_map(|dir| TRAINING_COPIES.iter().map(move |p| dir.join(p)))
            .filter_map(|p| carina_store::remove_if_stale(Path::new(&p), cutoff))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut removed = Vec::new();
    for r in outcome {
        match r {
            Ok((path, bytes)) => {
                tracing::info!(path = %path.display(), bytes, "sweep: removed image copies of a finished training");
                removed.push((path, bytes));
            }
            Err(e) => {
                tracing::warn!(error = %e, "sweep: cannot remove a training folder's image copies");
                errors.push(e);
            }
        }
    }
    removed
}
