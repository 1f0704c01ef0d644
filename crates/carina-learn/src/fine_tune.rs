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

use crate::dataset::workbench_dataset;
use crate::eval::evaluate_model;
use crate::registry::{ModelFolder, register_folder};
use crate::{FineTuneRequest, HeldOutMetrics, Workbench};
use anyhow::{Context, bail};
use carina_core::model_card::{HeldOutComparison, ModelCard, ModelRef, WorkbenchOrigin};
use carina_core::{BoxStatus, LabelSet};
use carina_dataset::Dataset;
use carina_dataset::prepare::{PrepareOptions, prepare};
use carina_store::{ExportFilter, ExportedImage, ModelRecord, ModelSource, Store};
use carina_train::{TrainConfig, TrainOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Checks a request's values (the message names the field), the
/// `carina-train` overrides included.
pub fn validate_request(req: &FineTuneRequest) -> Result<(), String> {
    if !(1..=100_000).contains(&req.steps) {
        return Err(format!("steps must be in 1..=100000, not {}", req.steps));
    }
    if !(1..=64).contains(&req.batch_size) {
        return Err(format!(
            "batch_size must be in 1..=64, not {}",
            req.batch_size
        ));
    }
    if !(req.lr > 0.0 && req.lr <= 1.0) {
        return Err(format!("lr must be in (0, 1], not {}", req.lr));
    }
    if !(0.05..=0.5).contains(&req.held_out) {
        return Err(format!(
            "held_out must be in [0.05, 0.5], not {}",
            req.held_out
        ));
    }
    if req.min_images < 2 {
        return Err("min_images must be at least 2 (one to train, one to hold out)".into());
    }
    // The overrides must name real fields with valid values.
    let mut cfg = TrainConfig::default();
    for s in &req.set {
        cfg.set(s).map_err(|e| format!("set {s:?}: {e}"))?;
    }
    Ok(())
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

async fn base_model(store: &Store, id: Option<i64>) -> anyhow::Result<ModelRecord> {
    match id {
        Some(id) => store
            .db
            .model(id)
            .await?
            .with_context(|| format!("no model {id} in the registry")),
        None => store
            .db
            .deployed_model()
            .await?
            .context("no model is deployed: deploy one, or give the model to start from"),
    }
}

/// What a fine-tuning would start from.
pub struct Ready {
    pub base: ModelRecord,
    pub labels: LabelSet,
    /// The reviewed images with their confirmed boxes.
    pub rows: Vec<ExportedImage>,
    pub boxes: usize,
}

/// Checks that there is a model to start from and enough reviewed images
/// (the error says what is missing), so a request can be refused at once.
pub async fn check_ready(store: &Store, req: &FineTuneRequest) -> anyhow::Result<Ready> {
    let base = base_model(store, req.base_model_id).await?;
    let labels = store
        .db
        .labels()
        .await
        .context("cannot read the label set")?;
    let filter = ExportFilter {
        statuses: BoxStatus::ALL
            .into_iter()
            .filter(|s| s.is_confirmed())
            .map(|s| s.as_str().to_string())
            .collect(),
        ..ExportFilter::default()
    };
    let rows = reviewed(
        store
            .db
            .export_annotations(&filter)
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
    wb: &Workbench<'_>,
    req: &FineTuneRequest,
    work: &Path,
    user: &str,
    progress: bool,
) -> anyhow::Result<FineTuneOutcome> {
    validate_request(req).map_err(anyhow::Error::msg)?;
    if work.exists()
        && std::fs::read_dir(work)
            .with_context(|| format!("listing {}", work.display()))?
            .next()
            .is_some()
    {
        bail!("{}: the working folder is not empty", work.display());
    }
    let ready = check_ready(wb.store, req).await?;
    tokio::fs::create_dir_all(work)
        .await
        .with_context(|| format!("creating {}", work.display()))?;
    let source = work.join("source");
    let result = run(wb, req, work, &source, ready, user, progress).await;
    // The copies of the images go, whatever happened.
    let _ = tokio::fs::remove_dir_all(&source).await;
    let _ = tokio::fs::remove_dir_all(work.join("data").join("images")).await;
    let _ = tokio::fs::remove_dir_all(work.join("run").join("state")).await;
    result
}

async fn run(
    wb: &Workbench<'_>,
    req: &FineTuneRequest,
    work: &Path,
    source: &Path,
    ready: Ready,
    user: &str,
    progress: bool,
) -> anyhow::Result<FineTuneOutcome> {
    let ds = copy_sources(wb.store, &ready.labels, &ready.rows, source).await?;
    let base_dir = work.join("base");
    write_base_folder(wb.store, &ready.base, &base_dir).await?;
    let job = Job {
        req: req.clone(),
        base: ready.base,
        base_dir,
        work: work.to_path_buf(),
        boxes: ready.boxes,
        user: user.to_string(),
        progress,
    };
    let (folder, trained) = tokio::task::spawn_blocking(move || job.train_and_compare(&ds))
        .await
        .context("the fine-tuning task stopped")??;

    // Registered, not deployed.
    let model = register_folder(wb, folder, ModelSource::Workbench, user, false, true)
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the new model: {e}"))?;
    Ok(FineTuneOutcome {
        model,
        base_model_id: trained.base_model_id,
        train_images: trained.train_images,
        held_out_images: trained.held_out_images,
        boxes: ready.boxes,
        base_held_out: trained.held_out.base,
        new_held_out: trained.held_out.new,
        work_dir: work.to_path_buf(),
    })
}

/// The stored (de-identified) files, as the viewer serves them, copied into
/// `source`; the dataset over them.
async fn copy_sources(
    store: &Store,
    labels: &LabelSet,
    rows: &[ExportedImage],
    source: &Path,
) -> anyhow::Result<Dataset> {
    tokio::fs::create_dir_all(source)
        .await
        .with_context(|| format!("creating {}", source.display()))?;
    for r in rows {
        let bytes = store
            .objects
            .get(&r.object_key)
            .await
            .with_context(|| format!("image {}: cannot read its file", r.id))?;
        let p = source.join(format!("{}.dcm", r.id));
        tokio::fs::write(&p, &bytes)
            .await
            .with_context(|| format!("writing {}", p.display()))?;
    }
    workbench_dataset(labels.clone(), rows, |r| {
        Some(source.join(format!("{}.dcm", r.id)))
    })
}

/// The base model's folder: its weights and its card.
async fn write_base_folder(store: &Store, base: &ModelRecord, dir: &Path) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let weights = store
        .objects
        .get(&base.weights_key)
        .await
        .with_context(|| format!("model {}: cannot read its weights", base.id))?;
    tokio::fs::write(dir.join("model.safetensors"), &weights).await?;
    let card = ModelCard::from_value(base.model_json.clone())
        .with_context(|| format!("model {}: its stored model.json", base.id))?;
    tokio::fs::write(dir.join("model.json"), card.to_json_pretty()).await?;
    Ok(())
}

/// The blocking part of a fine-tuning.
struct Job {
    req: FineTuneRequest,
    base: ModelRecord,
    base_dir: PathBuf,
    work: PathBuf,
    boxes: usize,
    user: String,
    progress: bool,
}

/// What the training and the comparison gave.
struct Trained {
    base_model_id: i64,
    train_images: usize,
    held_out_images: usize,
    held_out: HeldOutComparison,
}

impl Job {
    fn train_and_compare(self, ds: &Dataset) -> anyhow::Result<(ModelFolder, Trained)> {
        let data = self.work.join("data");
        let (train_images, held_out_images) = self.prepare_split(ds, &data)?;
        let model_dir = self.train(&data)?;

        // Both models on the held-out images.
        let held_out = HeldOutComparison {
            base: evaluate_model(&self.base_dir, &data, "val")
                .context("evaluating the base model on the held-out images")?,
            new: evaluate_model(&model_dir, &data, "val")
                .context("evaluating the new model on the held-out images")?,
        };
        std::fs::write(
            self.work.join("held_out.json"),
            serde_json::to_vec_pretty(&held_out)?,
        )?;
        let trained = Trained {
            base_model_id: self.base.id,
            train_images,
            held_out_images,
            held_out,
        };
        let folder = self.write_card(&model_dir, &trained)?;
        Ok((folder, trained))
    }

    /// Prepared at the base model's input size; no reader fusion: an image's
    /// annotation state is already one reading. Returns the training and
    /// held-out image counts.
    fn prepare_split(&self, ds: &Dataset, data: &Path) -> anyhow::Result<(usize, usize)> {
        let base = &self.base;
        let summary = prepare(
            ds,
            data,
            &PrepareOptions {
                size: base.input_size,
                bit_depth: 8,
                fuse_iou: None,
                val_fraction: self.req.held_out,
                seed: self.req.seed,
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
        let train_images = summary.counts.images.get("train").copied().unwrap_or(0);
        let held_out_images = summary.counts.images.get("val").copied().unwrap_or(0);
        if train_images == 0 || held_out_images == 0 {
            bail!(
                "the split left {train_images} training and {held_out_images} held-out images: review more images"
            );
        }
        Ok((train_images, held_out_images))
    }

    /// The training configuration: AdamW with a short warm-up, validation
    /// three times, the request's overrides last.
    fn config(&self, class_names: &[String]) -> anyhow::Result<TrainConfig> {
        let (base, req) = (&self.base, &self.req);
        let mut cfg = TrainConfig {
            arch: base.arch.clone(),
            init: if class_names == base.class_names {
                format!("carina:{}", self.base_dir.display())
            } else {
                // New or retired labels: the class head starts afresh.
                format!(
                    "effdet:{}",
                    self.base_dir.join("model.safetensors").display()
                )
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
        Ok(cfg)
    }

    /// Fine-tunes; returns the new model's folder.
    fn train(&self, data: &Path) -> anyhow::Result<PathBuf> {
        let class_names = carina_train::data::read_manifest(data)?.class_names;
        let cfg = self.config(&class_names)?;
        let device = carina_train::training_device();
        let (model, spec) = carina_train::effdet::build(&cfg, &class_names, &device)?;
        let trained = carina_train::train(
            model,
            &spec,
            &cfg,
            &TrainOptions {
                data_dir: data.to_path_buf(),
                out_dir: self.work.join("run"),
                resume: false,
                stop_after: None,
                progress: self.progress,
            },
            &device,
        )?;
        trained
            .best_dir
            .context("the training finished without a model folder")
    }

    /// `model.json` and the card say where the new model came from; the
    /// folder as the registry takes it.
    fn write_card(&self, model_dir: &Path, t: &Trained) -> anyhow::Result<ModelFolder> {
        let base = &self.base;
        let mut card = ModelCard::parse(&std::fs::read(model_dir.join("model.json"))?)?;
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "-");
        let synthetic = base.synthetic || card.synthetic;
        let name = format!("{}-workbench", base.name.trim_end_matches("-workbench"));
        let version = format!("{stamp}-ft{}", self.req.steps);
        card.name = Some(name.clone());
        card.version = Some(version.clone());
        card.synthetic = synthetic;
        card.workbench = Some(WorkbenchOrigin {
            base_model: ModelRef {
                id: base.id,
                name: base.name.clone(),
                version: base.version.clone(),
            },
            train_images: t.train_images,
            held_out_images: t.held_out_images,
            boxes: self.boxes,
            held_out: t.held_out.clone(),
            requested_by: self.user.clone(),
            request: self.req.clone(),
        });
        card.notice = Some(if synthetic {
            "Fine-tuned from a model trained on synthetic radiographs; not validated on patients; not for clinical use.".into()
        } else {
            "Not validated for clinical use.".into()
        });
        let json_bytes = card.to_json_pretty();
        std::fs::write(model_dir.join("model.json"), &json_bytes)?;
        let md = card_markdown(
            &name,
            &version,
            base,
            synthetic,
            t,
            self.boxes,
            self.req.steps,
        );
        std::fs::write(model_dir.join("MODEL_CARD.md"), &md)?;
        let weights = std::fs::read(model_dir.join("model.safetensors"))?;
        Ok(ModelFolder {
            weights: weights.into(),
            model_json: json_bytes,
            card: Some(md),
            name: None,
            version: None,
        })
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// `MODEL_CARD.md` of a fine-tuned model.
fn card_markdown(
    name: &str,
    version: &str,
    base: &ModelRecord,
    synthetic: bool,
    t: &Trained,
    boxes: usize,
    steps: u64,
) -> String {
    let warning = if synthetic {
        "> **Fine-tuned from a model trained on SYNTHETIC radiographs. Not validated on patients. Not for clinical use.**"
    } else {
        "> **Not validated for clinical use.**"
    };
    let (train_images, held_out_images) = (t.train_images, t.held_out_images);
    let row = |m: &HeldOutMetrics| {
        format!(
            "{} | {} | {} | {}",
            pct(m.ap),
            pct(m.ap50),
            pct(m.ap75),
            pct(m.ar100)
        )
    };
    format!(
        "# {name} {version}\n\n{warning}\n\n\
         Fine-tuned by `carina` from model {} ({} {}) on the workbench's reviewed boxes \
         (accepted, edited and manual; consensus where signed): {train_images} training images, \
         {held_out_images} held out, {boxes} boxes in all; {steps} steps.\n\n\
         | held-out images ({held_out_images}) | AP | AP50 | AP75 | AR100 |\n|---|---|---|---|---|\n\
         | base model | {} |\n| this model | {} |\n\n\
         The held-out images are few and come from this workbench: these numbers compare the two \
         models on them and say nothing about performance on other patients.\n",
        base.id,
        base.name,
        base.version,
        row(&t.held_out.base),
        row(&t.held_out.new),
    )
}
