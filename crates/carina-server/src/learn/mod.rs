//! Learning from corrections: the radiologists' reviewed boxes (accepted,
//! edited and manual; a reviewer's consensus where one was signed, since it
//! is then the image's annotation) become a prepared dataset, the deployed
//! model (or a chosen one) is fine-tuned on it with `carina-train`, both the
//! old and the new model are evaluated on the held-out part, and the new
//! one is registered **without** being deployed: an admin compares and
//! deploys. `carina train --from-workbench` and the `train` job (the admin
//! page's button, `POST /api/v1/models/train`) both run [`fine_tune`].
//!
//! The working folder keeps the configuration, the logs, the loss curves,
//! the split's COCO files and the evaluation; the copies of the images are
//! removed at the end, whatever the outcome (they are patient data).

mod dataset;
pub mod eval;

pub use dataset::workbench_dataset;
pub use eval::{HeldOutMetrics, class_categories, detect_split, evaluate_model};

use crate::registry::{ModelFolder, register_folder};
use crate::state::AppState;
use anyhow::{Context, bail};
use carina_core::BoxStatus;
use carina_dataset::prepare::{PrepareOptions, prepare};
use carina_store::{ExportFilter, ExportedImage, ModelRecord, ModelSource};
use carina_train::{TrainConfig, TrainOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// What to fine-tune and how (the `train` job's payload; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FineTuneRequest {
    /// The model to start from; the deployed one when absent.
    pub base_model_id: Option<i64>,
    /// Optimiser steps.
    pub steps: u64,
    pub batch_size: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    pub lr: f64,
    /// Fraction of the reviewed images held out for the comparison.
    pub held_out: f64,
    /// Seed of the split, the augmentation and the batches.
    pub seed: u64,
    /// Refuse to train on fewer reviewed images than this.
    pub min_images: usize,
    /// Further `carina-train` settings as `key=value` (e.g. `augment.hflip=true`).
    pub set: Vec<String>,
}

impl Default for FineTuneRequest {
    fn default() -> Self {
        Self {
            base_model_id: None,
            steps: 300,
            batch_size: 4,
            lr: 1e-3,
            held_out: 0.2,
            seed: 42,
            min_images: 10,
            set: Vec::new(),
        }
    }
}

impl FineTuneRequest {
    /// Checks the values (the message names the field).
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100_000).contains(&self.steps) {
            return Err(format!("steps must be in 1..=100000, not {}", self.steps));
        }
        if !(1..=64).contains(&self.batch_size) {
            return Err(format!(
                "batch_size must be in 1..=64, not {}",
                self.batch_size
            ));
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return Err(format!("lr must be in (0, 1], not {}", self.lr));
        }
        if !(0.05..=0.5).contains(&self.held_out) {
            return Err(format!(
                "held_out must be in [0.05, 0.5], not {}",
                self.held_out
            ));
        }
        if self.min_images < 2 {
            return Err("min_images must be at least 2 (one to train, one to hold out)".into());
        }
        // The overrides must name real fields with valid values.
        let mut cfg = TrainConfig::default();
        for s in &self.set {
            cfg.set(s).map_err(|e| format!("set {s:?}: {e}"))?;
        }
        Ok(())
    }
}

/// What a fine-tuning produced.
#[derive(Debug, Clone, Serialize)]
pub struct FineTuneOutcome {
    /// The new model, registered and not deployed.
    pub model: ModelRecord,
    pub base_model_id: i64,
    pub train_images: usize,
    pub held_out_images: usize,
    pub boxes: usize,
    /// Both models on the same held-out images.
    pub base_held_out: HeldOutMetrics,
    pub new_held_out: HeldOutMetrics,
    /// The working folder (logs, configuration, loss curves).
    pub work_dir: PathBuf,
}

/// The reviewed images: those with a confirmed box, or marked "no finding",
/// or done (a done image without boxes is a negative).
fn reviewed(rows: Vec<ExportedImage>) -> Vec<ExportedImage> {
    rows.into_iter()
        .filter(|r| !r.boxes.is_empty() || r.no_finding || r.status == "done")
        .collect()
}

async fn base_model(state: &AppState, id: Option<i64>) -> anyhow::Result<ModelRecord> {
    let db = &state.store.db;
    match id {
        Some(id) => db
            .model(id)
            .await?
            .with_context(|| format!("no model {id} in the registry")),
        None => db
            .deployed_model()
            .await?
            .context("no model is deployed: deploy one, or give the model to start from"),
    }
}

/// What a fine-tuning would start from.
pub struct Ready {
    pub base: ModelRecord,
    pub labels: carina_core::LabelSet,
    /// The reviewed images with their confirmed boxes.
    pub rows: Vec<ExportedImage>,
    pub boxes: usize,
}

/// Checks that there is a model to start from and enough reviewed images
/// (the error says what is missing), so a request can be refused at once.
pub async fn check_ready(state: &AppState, req: &FineTuneRequest) -> anyhow::Result<Ready> {
    let base = base_model(state, req.base_model_id).await?;
    let db = &state.store.db;
    let labels = db.labels().await.context("cannot read the label set")?;
    let filter = ExportFilter {
        statuses: BoxStatus::ALL
            .into_iter()
            .filter(|s| s.is_confirmed())
            .map(|s| s.as_str().to_string())
            .collect(),
        ..ExportFilter::default()
    };
    let rows = reviewed(
        db.export_annotations(&filter)
            .await
            .context("cannot read the annotations")?,
    );
    let boxes: usize = rows.iter().map(|r| r.boxes.len()).sum();
    if rows.len() < req.min_images || boxes == 0 {
        bail!(
            "not enough reviewed images to learn from: {} images with {} confirmed boxes \
             (at least {} images and one box are needed)",
            rows.len(),
            boxes,
            req.min_images
        );
    }
    Ok(Ready {
        base,
        labels,
        rows,
        boxes,
    })
}

/// Fine-tunes as `req` says, working in `work` (created; must be absent or
/// empty), and registers the result as `user`. `progress` draws the
/// training's progress bar on the terminal.
pub async fn fine_tune(
    state: &AppState,
    req: &FineTuneRequest,
    work: &Path,
    user: &str,
    progress: bool,
) -> anyhow::Result<FineTuneOutcome> {
    req.validate().map_err(anyhow::Error::msg)?;
    if work.exists()
        && std::fs::read_dir(work)
            .with_context(|| format!("listing {}", work.display()))?
            .next()
            .is_some()
    {
        bail!("{}: the working folder is not empty", work.display());
    }
    let ready = check_ready(state, req).await?;
    let (base, labels, rows, boxes) = (ready.base, ready.labels, ready.rows, ready.boxes);
    tokio::fs::create_dir_all(work)
        .await
        .with_context(|| format!("creating {}", work.display()))?;
    let source = work.join("source");
    let result = run(
        state, req, work, &source, &base, &labels, &rows, boxes, user, progress,
    )
    .await;
    // The copies of the images go, whatever happened.
    let _ = tokio::fs::remove_dir_all(&source).await;
    let _ = tokio::fs::remove_dir_all(work.join("data").join("images")).await;
    let _ = tokio::fs::remove_dir_all(work.join("run").join("state")).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn run(
    state: &AppState,
    req: &FineTuneRequest,
    work: &Path,
    source: &Path,
    base: &ModelRecord,
    labels: &carina_core::LabelSet,
    rows: &[ExportedImage],
    boxes: usize,
    user: &str,
    progress: bool,
) -> anyhow::Result<FineTuneOutcome> {
    // 1. The stored (de-identified) files, as the viewer serves them.
    tokio::fs::create_dir_all(source)
        .await
        .with_context(|| format!("creating {}", source.display()))?;
    for r in rows {
        let bytes = state
            .store
            .objects
            .get(&r.object_key)
            .await
            .with_context(|| format!("image {}: cannot read its file", r.id))?;
        let p = source.join(format!("{}.dcm", r.id));
        tokio::fs::write(&p, &bytes)
            .await
            .with_context(|| format!("writing {}", p.display()))?;
    }
    let ds = workbench_dataset(labels.clone(), rows, |r| {
        Some(source.join(format!("{}.dcm", r.id)))
    })?;

    // 2. The base model's folder.
    let base_dir = work.join("base");
    tokio::fs::create_dir_all(&base_dir).await?;
    let weights = state
        .store
        .objects
        .get(&base.weights_key)
        .await
        .with_context(|| format!("model {}: cannot read its weights", base.id))?;
    tokio::fs::write(base_dir.join("model.safetensors"), &weights).await?;
    tokio::fs::write(
        base_dir.join("model.json"),
        serde_json::to_vec_pretty(&base.model_json)?,
    )
    .await?;

    let data = work.join("data");
    let run_dir = work.join("run");
    let req = req.clone();
    let base = base.clone();
    let work_dir = work.to_path_buf();
    let user_name = user.to_string();
    let (folder, outcome) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        // 3. Prepared at the base model's input size; no reader fusion: an
        //    image's annotation state is already one reading.
        let summary = prepare(
            &ds,
            &data,
            &PrepareOptions {
                size: base.input_size,
                bit_depth: 8,
                fuse_iou: None,
                val_fraction: req.held_out,
                seed: req.seed,
                jpeg_quality: 95,
                description: format!(
                    "Workbench annotations (accepted, edited and manual boxes; consensus where signed), {} images, for fine-tuning {} {}",
                    ds.images.len(),
                    base.name,
                    base.version
                ),
            },
            &|| {},
        )
        .context("cannot prepare the training set")?;
        let train_images = summary.images.get("train").copied().unwrap_or(0);
        let held_out_images = summary.images.get("val").copied().unwrap_or(0);
        if train_images == 0 || held_out_images == 0 {
            bail!(
                "the split left {train_images} training and {held_out_images} held-out images: review more images"
            );
        }

        // 4. Fine-tune.
        let class_names = carina_train::data::read_manifest(&data)?.class_names;
        let same_classes = class_names == base.class_names;
        let mut cfg = TrainConfig {
            arch: base.arch.clone(),
            init: if same_classes {
                format!("carina:{}", base_dir.display())
            } else {
                // New or retired labels: the class head starts afresh.
                format!("effdet:{}", base_dir.join("model.safetensors").display())
            },
            image_size: base.input_size,
            seed: req.seed,
            steps: req.steps,
            batch_size: req.batch_size,
            ..TrainConfig::default()
        };
        cfg.optim.optimizer = carina_train::config::OptimizerKind::Adamw;
        cfg.optim.lr = req.lr;
        cfg.optim.warmup_steps = (req.steps / 10).clamp(1, 50);
        cfg.optim.weight_decay = 1e-4;
        cfg.val.every_steps = (req.steps / 3).max(1);
        cfg.val.max_images = 0;
        for s in &req.set {
            cfg.set(s)?;
        }
        cfg.validate()?;
        let device = carina_train::training_device();
        let (model, spec) = carina_train::effdet::build(&cfg, &class_names, &device)?;
        let trained = carina_train::train(
            model,
            &spec,
            &cfg,
            &TrainOptions {
                data_dir: data.clone(),
                out_dir: run_dir.clone(),
                resume: false,
                stop_after: None,
                progress,
            },
            &device,
        )?;
        let model_dir = trained
            .best_dir
            .context("the training finished without a model folder")?;

        // 5. Both models on the held-out images.
        let base_held_out = evaluate_model(&base_dir, &data, "val")
            .context("evaluating the base model on the held-out images")?;
        let new_held_out = evaluate_model(&model_dir, &data, "val")
            .context("evaluating the new model on the held-out images")?;
        std::fs::write(
            work_dir.join("held_out.json"),
            serde_json::to_vec_pretty(&json!({
                "base": base_held_out, "new": new_held_out,
            }))?,
        )?;

        // 6. model.json and the card say where it came from.
        let mut card: Value = serde_json::from_slice(&std::fs::read(model_dir.join("model.json"))?)?;
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "-");
        let synthetic = base.synthetic || card["synthetic"].as_bool().unwrap_or(false);
        let name = format!(
            "{}-workbench",
            base.name.trim_end_matches("-workbench")
        );
        let version = format!("{stamp}-ft{}", req.steps);
        card["name"] = json!(name);
        card["version"] = json!(version);
        card["synthetic"] = json!(synthetic);
        card["workbench"] = json!({
            "base_model": {"id": base.id, "name": base.name, "version": base.version},
            "train_images": train_images,
            "held_out_images": held_out_images,
            "boxes": boxes,
            "held_out": {"base": base_held_out, "new": new_held_out},
            "requested_by": user_name,
            "request": req,
        });
        if synthetic {
            card["notice"] = json!(
                "Fine-tuned from a model trained on synthetic radiographs; not validated on patients; not for clinical use."
            );
        } else {
            card["notice"] = json!("Not validated for clinical use.");
        }
        let json_bytes = serde_json::to_vec_pretty(&card)?;
        std::fs::write(model_dir.join("model.json"), &json_bytes)?;
        let md = model_card(&name, &version, &base, synthetic, train_images, held_out_images, boxes, &base_held_out, &new_held_out, req.steps);
        std::fs::write(model_dir.join("MODEL_CARD.md"), &md)?;
        let weights = std::fs::read(model_dir.join("model.safetensors"))?;
        Ok((
            ModelFolder {
                weights: weights.into(),
                model_json: json_bytes,
                card: Some(md),
                name: None,
                version: None,
            },
            (train_images, held_out_images, base_held_out, new_held_out, base.id),
        ))
    })
    .await
    .context("the fine-tuning task stopped")??;

    // 7. Registered, not deployed.
    let model = register_folder(state, folder, ModelSource::Workbench, user, false, true)
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the new model: {e}"))?;
    let (train_images, held_out_images, base_held_out, new_held_out, base_model_id) = outcome;
    Ok(FineTuneOutcome {
        model,
        base_model_id,
        train_images,
        held_out_images,
        boxes,
        base_held_out,
        new_held_out,
        work_dir: work.to_path_buf(),
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

#[allow(clippy::too_many_arguments)]
fn model_card(
    name: &str,
    version: &str,
    base: &ModelRecord,
    synthetic: bool,
    train_images: usize,
    held_out_images: usize,
    boxes: usize,
    before: &HeldOutMetrics,
    after: &HeldOutMetrics,
    steps: u64,
) -> String {
    let warning = if synthetic {
        "> **Fine-tuned from a model trained on SYNTHETIC radiographs. Not validated on patients. Not for clinical use.**"
    } else {
        "> **Not validated for clinical use.**"
    };
    format!(
        "# {name} {version}\n\n{warning}\n\n\
         Fine-tuned by `carina` from model {} ({} {}) on the workbench's reviewed boxes \
         (accepted, edited and manual; consensus where signed): {train_images} training images, \
         {held_out_images} held out, {boxes} boxes in all; {steps} steps.\n\n\
         | held-out images ({held_out_images}) | AP | AP50 | AP75 | AR100 |\n|---|---|---|---|---|\n\
         | base model | {} | {} | {} | {} |\n| this model | {} | {} | {} | {} |\n\n\
         The held-out images are few and come from this workbench: these numbers compare the two \
         models on them and say nothing about performance on other patients.\n",
        base.id,
        base.name,
        base.version,
        pct(before.ap),
        pct(before.ap50),
        pct(before.ap75),
        pct(before.ar100),
        pct(after.ap),
        pct(after.ap50),
        pct(after.ap75),
        pct(after.ar100),
    )
}
