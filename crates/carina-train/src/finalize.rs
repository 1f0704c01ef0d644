//! Finishing a run that will not train further: a run killed mid-way (power
//! loss, a deadline) or paused with `stop_after`. Its `model/` folder is
//! assembled from the best validated checkpoint and the logs written so far,
//! exactly as a completed run would have written it; nothing is trained.

use crate::TrainError;
use crate::checkpoint::{self, RunState};
use crate::config::TrainConfig;
use crate::data::Split;
use crate::log::{StepRecord, read_rows};
use crate::model::{DetectionModel, ModelSpec};
use std::path::{Path, PathBuf};

/// Writes `OUT/model/` for the run in `out_dir` (trained on `data_dir` with `cfg`,
/// which must be the run's saved `config.toml`). Needs `best-weights/` (one
/// validation at least); `model` is only the architecture and is not saved.
pub fn finish_run<M: DetectionModel>(
    model: &M,
    spec: &ModelSpec,
    cfg: &TrainConfig,
    data_dir: &Path,
    out_dir: &Path,
) -> Result<PathBuf, TrainError> {
    let saved = TrainConfig::from_file(&out_dir.join("config.toml"))?;
    if saved != *cfg {
        return Err(TrainError::Checkpoint(format!(
            "the configuration differs from the run's {}",
            out_dir.join("config.toml").display()
        )));
    }
    let best = out_dir.join("best-weights");
    if !best.join("model.safetensors").exists() || !best.join("validation.json").exists() {
        return Err(TrainError::Checkpoint(format!(
            "{} holds no validated checkpoint (the run never reached a validation)",
            out_dir.display()
        )));
    }
    let steps: Vec<StepRecord> = read_rows(&out_dir.join("log.csv"))?;
    let state = RunState {
        step: steps.last().map_or(0, |r| r.step + 1),
        ..RunState::default()
    };
    let train = Split::open(data_dir, &cfg.train_split, spec.image_size)?;
    checkpoint::finish(out_dir, model, spec, cfg, &train, &state)
}
