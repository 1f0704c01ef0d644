//! What a run leaves in its output folder:
//!
//! ```text
//! OUT/config.toml        the effective configuration
//! OUT/log.csv, val.csv   per-step losses, per-validation metrics
//! OUT/state/             model + optimiser + counters, for --resume
//! OUT/best-weights/      the weights selected so far
//! OUT/model/             the finished model folder: model.safetensors (effdet
//!                        names), model.json, config.toml, log.csv, val.csv, loss.png
//! ```

use crate::TrainError;
use crate::config::TrainConfig;
use crate::data::Split;
use crate::log::{StepRecord, ValRecord, read_rows};
use crate::model::{DetectionModel, ModelSpec};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use carina_core::model_card::{ModelCard, TrainingSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Counters a resumed run needs. The random streams are functions of the seed
/// and the step, so the step is all the "random state" there is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub step: u64,
    pub best_score: Option<f64>,
    pub best_step: Option<u64>,
    pub bad_validations: u64,
}

fn io(context: &str, path: &Path) -> impl FnOnce(std::io::Error) -> TrainError {
    let c = format!("{context} {}", path.display());
    move |e| TrainError::io(c, e)
}

pub fn write_config(out: &Path, cfg: &TrainConfig) -> Result<(), TrainError> {
    let p = out.join("config.toml");
    std::fs::write(&p, cfg.to_toml()).map_err(io("writing", &p))
}

/// Saves what `--resume` needs; written to a fresh folder and then swapped in,
/// so an interruption leaves the previous state whole.
pub fn save_state<M: Module>(
    out: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    state: &RunState,
) -> Result<(), TrainError> {
    let tmp = out.join("state.tmp");
    let dst = out.join("state");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io("removing", &tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io("creating", &tmp))?;
    model
        .clone()
        .save_file(tmp.join("model.bpk"))
        .map_err(|e| TrainError::Checkpoint(format!("saving the model state: {e}")))?;
    optim
        .save(tmp.join("optim.bpk"))
        .map_err(|e| TrainError::Checkpoint(format!("saving the optimiser state: {e}")))?;
    let json = serde_json::to_string_pretty(state).expect("the state serialises");
    std::fs::write(tmp.join("state.json"), json).map_err(io("writing", &tmp))?;
    if dst.exists() {
        std::fs::remove_dir_all(&dst).map_err(io("removing", &dst))?;
    }
    std::fs::rename(&tmp, &dst).map_err(io("renaming", &tmp))
}

/// Restores a run saved by [`save_state`], refusing a different configuration.
pub fn load_state<M: Module>(
    out: &Path,
    model: M,
    optim: ModuleOptimizer,
    cfg: &TrainConfig,
) -> Result<(M, ModuleOptimizer, RunState), TrainError> {
    let dir = out.join("state");
    if !dir.join("state.json").exists() {
        return Err(TrainError::Checkpoint(format!(
            "nothing to resume in {} (no state/state.json)",
            out.display()
        )));
    }
    let saved = TrainConfig::from_file(&out.join("config.toml"))?;
    if &saved != cfg {
        return Err(TrainError::Checkpoint(
            "the configuration differs from the run being resumed (see its config.toml)".into(),
        ));
    }
    let text = std::fs::read_to_string(dir.join("state.json")).map_err(io("reading", &dir))?;
    let state: RunState = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint(format!("state.json: {e}")))?;
    // The record restores the parameter ids too, which the optimiser state is keyed by.
    let model = model
        .try_load_file(dir.join("model.bpk"))
        .map_err(|e| TrainError::Checkpoint(format!("loading the model state: {e}")))?;
    let optim = optim
        .load(dir.join("optim.bpk"))
        .map_err(|e| TrainError::Checkpoint(format!("loading the optimiser state: {e}")))?;
    Ok((model, optim, state))
}

fn weights_metadata(spec: &ModelSpec, class_names: &[String]) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("arch".to_string(), spec.arch.clone()),
        ("num_classes".to_string(), spec.num_classes.to_string()),
        (
            "class_names".to_string(),
            serde_json::to_string(class_names).expect("names serialise"),
        ),
    ])
}

/// Writes the selected weights and the validation that selected them.
pub fn save_weights<M: DetectionModel>(
    dir: &Path,
    model: &M,
    spec: &ModelSpec,
    class_names: &[String],
    val: &ValRecord,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    model.save_weights(
        &dir.join("model.safetensors"),
        &weights_metadata(spec, class_names),
    )?;
    let p = dir.join("validation.json");
    std::fs::write(&p, serde_json::to_string_pretty(val).expect("serialises"))
        .map_err(io("writing", &p))
}

/// Assembles `OUT/model/` at the end of a run.
pub fn finish<M: DetectionModel>(
    out: &Path,
    model: &M,
    spec: &ModelSpec,
    cfg: &TrainConfig,
    train: &Split,
    state: &RunState,
) -> Result<PathBuf, TrainError> {
    let dir = out.join("model");
    std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
    let names = &train.manifest.class_names;
    let best = out.join("best-weights");
    let (validation, selected_step) = if best.join("model.safetensors").exists() {
        std::fs::copy(
            best.join("model.safetensors"),
            dir.join("model.safetensors"),
        )
        .map_err(io("copying", &best))?;
        let text =
            std::fs::read_to_string(best.join("validation.json")).map_err(io("reading", &best))?;
        let v: ValRecord = serde_json::from_str(&text)
            .map_err(|e| TrainError::Checkpoint(format!("validation.json: {e}")))?;
        let s = v.step;
        (Some(v), s)
    } else {
        model.save_weights(
            &dir.join("model.safetensors"),
            &weights_metadata(spec, names),
        )?;
        (None, state.step)
    };
    for f in ["config.toml", "log.csv", "val.csv"] {
        let src = out.join(f);
        if src.exists() {
            std::fs::copy(&src, dir.join(f)).map_err(io("copying", &src))?;
        }
    }
    let steps: Vec<StepRecord> = read_rows(&out.join("log.csv"))?;
    let vals: Vec<ValRecord> = if out.join("val.csv").exists() {
        read_rows(&out.join("val.csv"))?
    } else {
        Vec::new()
    };
    crate::plot::loss_curves(&dir.join("loss.png"), &steps, &vals)?;
    let mut boxes_per_class: BTreeMap<String, usize> =
        names.iter().map(|n| (n.clone(), 0)).collect();
    let mut train_boxes = 0;
    for s in &train.samples {
        for b in &s.boxes {
            train_boxes += 1;
            *boxes_per_class
                .entry(names[b.class as usize].clone())
                .or_default() += 1;
        }
    }
    let synthetic = train.manifest.synthetic;
    let card = ModelCard {
        mean: Some(spec.mean),
        std: Some(spec.std),
        synthetic,
        training: Some(TrainingSummary {
            init: cfg.init.clone(),
            steps: state.step,
            selected_step,
            selected_by: cfg.val.select_by,
            dataset_description: train.manifest.description.clone(),
            dataset_sources: train.manifest.sources.clone(),
            train_split: cfg.train_split.clone(),
            val_split: cfg.val_split.clone(),
            train_images: train.len(),
            train_boxes,
            boxes_per_class,
        }),
        validation,
        git_commit: git_commit(),
        created: Some(carina_core::time::now_rfc3339()),
        notice: Some(if synthetic {
            "Trained on synthetic radiographs; not validated on patients; not for clinical use."
                .into()
        } else {
            "Research model; not validated for clinical use.".into()
        }),
        ..ModelCard::new(&spec.arch, names.clone(), spec.image_size)
    };
    let p = dir.join("model.json");
    std::fs::write(&p, card.to_json_pretty()).map_err(io("writing", &p))?;
    Ok(dir)
}

/// The commit carina-train was built from (its build script asks git; `CARINA_BUILD_COMMIT`
/// overrides it), if it was built from a git checkout.
fn git_commit() -> Option<String> {
    let c = env!("CARINA_BUILD_COMMIT");
    (!c.is_empty()).then(|| c.to_string())
}
