//! The training loop: batches from the loader, effdet's loss, gradient
//! accumulation and clipping, the warm-up/cosine schedule, logging,
//! validation with COCO metrics, best-checkpoint selection, early stopping
//! and exact resumption.

use crate::TrainError;
use crate::checkpoint::{self, RunState};
use crate::config::{OptimizerKind, SelectBy, TrainConfig};
use crate::data::Split;
use crate::loader::{Loader, LoaderSettings, TrainBatch};
use crate::log::{CsvLog, StepRecord, ValRecord};
use crate::loss::{BatchTargets, detection_loss, flatten_levels};
use crate::model::{DetectionModel, ModelSpec, clip_grad_norm, l2_regularisation};
use crate::schedule::learning_rate;
use crate::validate::validate;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// How one invocation runs (what is not part of the saved configuration).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data_dir: PathBuf,
    pub out_dir: PathBuf,
    /// Continue the run saved in `out_dir` (same config, same data).
    pub resume: bool,
    /// Stop after this many steps of this invocation, saving the state so that
    /// `resume` continues the same run (for time-boxed runs).
    pub stop_after: Option<u64>,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Optimiser steps completed in total (including before a resume).
    pub steps: u64,
    /// True when the run reached `steps` or stopped early, false when `stop_after` paused it.
    pub finished: bool,
    pub stopped_early: bool,
    /// Per-step losses of this invocation, in order.
    pub losses: Vec<StepRecord>,
    pub validations: Vec<ValRecord>,
    /// The selected model's folder (written when the run finishes).
    pub best_dir: Option<PathBuf>,
}

/// The configured optimiser, as a run uses it.
pub fn build_optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let o = &cfg.optim;
    match o.optimizer {
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: o.momentum,
                dampening: 0.0,
                nesterov: false,
            }))
            .with_weight_decay((o.weight_decay > 0.0).then_some(WeightDecayConfig {
                penalty: o.weight_decay as f32,
            }))
            .init(),
        // PyTorch's AdamW defaults, as effdet trains (burn's epsilon default is 1e-5).
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_beta_1(o.adam_betas[0] as f32)
            .with_beta_2(o.adam_betas[1] as f32)
            .with_epsilon(o.adam_eps as f32)
            .with_weight_decay(o.weight_decay as f32)
            .init(),
    }
}

fn images_tensor(batch: &TrainBatch, device: &Device) -> Tensor<4> {
    let n = batch.len();
    let s = batch.size;
    Tensor::from_data(TensorData::new(batch.images.clone(), [n, 3, s, s]), device)
}

/// The run's splits: training, and validation when the dataset has one.
struct Splits {
    train: Arc<Split>,
    val: Option<Split>,
    class_names: Vec<String>,
}

impl Splits {
    fn open(spec: &ModelSpec, cfg: &TrainConfig, opts: &TrainOptions) -> Result<Self, TrainError> {
        let size = spec.image_size;
        let train = Arc::new(Split::open(&opts.data_dir, &cfg.train_split, size)?);
        let class_names = train.manifest.class_names.clone();
        if class_names.len() != spec.num_classes {
            return Err(TrainError::Model(format!(
                "the dataset has {} classes, the model {}",
                class_names.len(),
                spec.num_classes
            )));
        }
        let val = if train.manifest.splits.contains_key(&cfg.val_split) {
            Some(Split::open(&opts.data_dir, &cfg.val_split, size)?)
        } else {
            tracing::warn!(split = %cfg.val_split, "no validation split: the last weights are kept");
            None
        };
        Ok(Self {
            train,
            val,
            class_names,
        })
    }
}

fn progress_bar(show: bool, steps: u64, at: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(steps);
    b.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta_precise}]",
        )
        .expect("a valid template"),
    );
    b.set_position(at);
    b
}

/// What every optimiser step of a run shares.
struct Stepper<'a> {
    spec: &'a ModelSpec,
    cfg: &'a TrainConfig,
    device: &'a Device,
    /// Micro-batches per optimiser step (gradient accumulation).
    micro: u64,
}

impl Stepper<'_> {
    /// One optimiser step at `step`: `micro` batches' gradients averaged,
    /// clipped, applied. Returns the updated model and the step's record.
    fn step<M: DetectionModel>(
        &self,
        model: M,
        optim: &mut ModuleOptimizer,
        loader: &mut Loader,
        step: u64,
    ) -> Result<(M, StepRecord), TrainError> {
        let (cfg, spec, micro) = (self.cfg, self.spec, self.micro);
        let started = Instant::now();
        let lr = learning_rate(&cfg.optim, step, cfg.steps);
        let mut accumulator = GradientsAccumulator::<M>::new();
        let (mut class_sum, mut box_sum, mut total_sum, mut positives) = (0.0, 0.0, 0.0, 0u64);
        for _ in 0..micro {
            let batch = loader.next_batch()?;
            let (class_out, box_out) = model.forward_raw(images_tensor(&batch, self.device));
            let targets = BatchTargets::new(&batch.targets, spec.num_classes, self.device);
            positives += targets.num_positives as u64;
            let loss = detection_loss(
                flatten_levels(class_out, spec.num_classes),
                flatten_levels(box_out, 4),
                &targets,
                &cfg.loss,
            );
            // The mean over micro-batches, as one large batch would average.
            let scaled = loss.total.clone().div_scalar(micro as f64);
            let grads = GradientsParams::from_grads(scaled.backward(), &model);
            accumulator.accumulate(&model, grads);
            class_sum += f64::from(loss.class.into_scalar::<f32>());
            box_sum += f64::from(loss.boxes.into_scalar::<f32>());
            total_sum += f64::from(loss.total.into_scalar::<f32>());
        }
        let mut grads = accumulator.grads();
        let (m, norm) = clip_grad_norm(model, &mut grads, cfg.optim.clip_grad_norm);
        let model = optim.step(lr, m, grads);
        let reg_loss = l2_regularisation(&model, cfg.optim.weight_decay);
        let det_loss = total_sum / micro as f64;
        if !det_loss.is_finite() {
            return Err(TrainError::Model(format!(
                "the loss became {det_loss} at step {step}: lower optim.lr or raise optim.warmup_steps"
            )));
        }
        let record = StepRecord {
            step,
            lr,
            class_loss: class_sum / micro as f64,
            box_loss: box_sum / micro as f64,
            reg_loss,
            total_loss: det_loss + reg_loss,
            grad_norm: norm,
            num_positives: positives,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((model, record))
    }
}

/// Keeps `v`'s weights as the best when they score better than the best so
/// far; counts a validation without improvement otherwise.
fn select_best<M: DetectionModel>(
    state: &mut RunState,
    model: &M,
    run: &Stepper<'_>,
    best_dir: &std::path::Path,
    splits: &Splits,
    v: &ValRecord,
) -> Result<(), TrainError> {
    let score = match run.cfg.val.select_by {
        SelectBy::Ap50 => v.ap50,
        SelectBy::Loss => -v.total_loss,
    };
    if state.best_score.is_none_or(|b| score > b) {
        state.best_score = Some(score);
        state.best_step = Some(state.step);
        state.bad_validations = 0;
        checkpoint::save_weights(best_dir, model, run.spec, &splits.class_names, v)
    } else {
        state.bad_validations += 1;
        Ok(())
    }
}

/// The step and validation logs, keeping on a resume the rows before `step`.
fn open_logs(opts: &TrainOptions, step: u64) -> Result<(CsvLog, CsvLog), TrainError> {
    let fresh = !opts.resume;
    let steps =
        CsvLog::open::<StepRecord>(&opts.out_dir.join("log.csv"), fresh, |r| r.step < step)?;
    let vals = CsvLog::open::<ValRecord>(&opts.out_dir.join("val.csv"), fresh, |r| r.step <= step)?;
    Ok((steps, vals))
}

/// The loader's threads, positioned after the batches of the first `step` steps.
fn start_loader(splits: &Splits, run: &Stepper<'_>, step: u64) -> Loader {
    let (cfg, spec) = (run.cfg, run.spec);
    let settings = LoaderSettings {
        seed: cfg.seed,
        batch_size: cfg.batch_size,
        workers: cfg.workers,
        augment: cfg.augment.enabled.then(|| cfg.augment.clone()),
        match_threshold: cfg.loss.match_threshold,
        mean: spec.mean,
        std: spec.std,
    };
    Loader::start(
        splits.train.clone(),
        Arc::new(spec.anchors.clone()),
        settings,
        step * run.micro,
    )
}

/// Trains `model` (already initialised on `device`, an autodiff device) as `cfg` says.
pub fn train<M: DetectionModel>(
    mut model: M,
    spec: &ModelSpec,
    cfg: &TrainConfig,
    opts: &TrainOptions,
    device: &Device,
) -> Result<TrainSummary, TrainError> {
    cfg.validate()?;
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| TrainError::io(format!("creating {}", opts.out_dir.display()), e))?;
    let splits = Splits::open(spec, cfg, opts)?;

    let mut optim = build_optimizer(cfg);
    let mut state = RunState::default();
    if opts.resume {
        let (m, o, s) = checkpoint::load_state(&opts.out_dir, model, optim, cfg)?;
        model = m;
        optim = o;
        state = s;
        tracing::info!(step = state.step, "resuming");
    } else {
        checkpoint::write_config(&opts.out_dir, cfg)?;
    }
    let (mut step_log, mut val_log) = open_logs(opts, state.step)?;
    let stepper = Stepper {
        spec,
        cfg,
        device,
        micro: cfg.accumulate as u64,
    };
    let mut loader = start_loader(&splits, &stepper, state.step);
    let end = match opts.stop_after {
        Some(n) => (state.step + n).min(cfg.steps),
        None => cfg.steps,
    };
    let bar = progress_bar(opts.progress, cfg.steps, state.step);

    let mut summary = TrainSummary {
        steps: state.step,
        finished: false,
        stopped_early: false,
        losses: Vec::new(),
        validations: Vec::new(),
        best_dir: None,
    };
    while state.step < end {
        let (m, record) = stepper.step(model, &mut optim, &mut loader, state.step)?;
        model = m;
        step_log.append(&record)?;
        bar.set_message(format!(
            "loss {:.4} (cls {:.4} box {:.5})",
            record.total_loss, record.class_loss, record.box_loss
        ));
        bar.inc(1);
        summary.losses.push(record);
        state.step += 1;

        let last = state.step == cfg.steps;
        let due = cfg.val.every_steps > 0 && state.step % cfg.val.every_steps == 0;
        if let (Some(val), true) = (&splits.val, due || last) {
            let v = validate(&model, val, spec, cfg, device, state.step)?;
            bar.println(format!(
                "step {}: val loss {:.4}, AP50 {:.3}, AP {:.3}",
                v.step, v.total_loss, v.ap50, v.ap
            ));
            val_log.append(&v)?;
            let best_dir = opts.out_dir.join("best-weights");
            select_best(&mut state, &model, &stepper, &best_dir, &splits, &v)?;
            summary.validations.push(v);
            if cfg.val.patience > 0 && state.bad_validations >= cfg.val.patience {
                tracing::info!(
                    step = state.step,
                    "early stop: no improvement in {} validations",
                    cfg.val.patience
                );
                summary.stopped_early = true;
                break;
            }
        }
    }
    bar.finish_and_clear();
    drop(loader);
    summary.steps = state.step;
    checkpoint::save_state(&opts.out_dir, &model, &optim, &state)?;
    summary.finished = state.step >= cfg.steps || summary.stopped_early;
    if summary.finished {
        summary.best_dir = Some(checkpoint::finish(
            &opts.out_dir,
            &model,
            spec,
            cfg,
            &splits.train,
            &state,
        )?);
    }
    Ok(summary)
}
