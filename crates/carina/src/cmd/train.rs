//! `carina train`: train the detector on a prepared dataset.

use anyhow::Context;
use carina_train::data::read_manifest;
use carina_train::{TrainConfig, TrainOptions, effdet, train};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Prepared dataset folder (manifest.json, COCO files per split, images/).
    #[arg(long)]
    data: PathBuf,
    /// Output folder: config, logs, resumable state and the finished model/ folder.
    #[arg(long)]
    out: PathBuf,
    /// Training configuration (TOML); every field has a default.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a configuration field, e.g. `--set optim.lr=0.02` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Architecture: tf_efficientdet_d0 or tf_efficientdet_lite0.
    #[arg(long)]
    arch: Option<String>,
    /// Initial weights: scratch, imagenet-lite0:PATH, effdet:PATH or carina:PATH.
    #[arg(long)]
    init: Option<String>,
    /// Continue the run saved in --out (its config.toml unless --config is given).
    #[arg(long)]
    resume: bool,
    /// Device to train on: cpu (default), cuda[:N] or wgpu (GPU builds: `--features cuda|wgpu`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Do not train: write OUT/model/ from the best validated checkpoint of the run in --out
    /// (one that was interrupted or paused), with the logs so far.
    #[arg(long, conflicts_with_all = ["resume", "stop_after"])]
    finish: bool,
    /// Pause after this many steps, saving the state for --resume.
    #[arg(long, value_name = "STEPS")]
    stop_after: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let saved = args.out.join("config.toml");
    let mut cfg = match &args.config {
        Some(path) => TrainConfig::from_file(path)?,
        None if args.resume || args.finish => {
            TrainConfig::from_file(&saved).with_context(|| {
                format!(
                    "--resume and --finish need a previous run in {}",
                    args.out.display()
                )
            })?
        }
        None => TrainConfig::default(),
    };
    if let Some(arch) = &args.arch {
        cfg.arch = arch.clone();
    }
    if let Some(init) = &args.init {
        cfg.init = init.clone();
    }
    for s in &args.set {
        cfg.set(s)?;
    }
    cfg.validate()?;
    let manifest = read_manifest(&args.data)?;
    let device = carina_train::device::parse_device(&args.device)?;
    if args.finish {
        let (model, spec) = effdet::build(&cfg, &manifest.class_names, &device)?;
        let dir = carina_train::finish_run(&model, &spec, &cfg, &args.data, &args.out)?;
        println!("model written to {}", dir.display());
        return Ok(());
    }
    let (model, spec) = effdet::build(&cfg, &manifest.class_names, &device)?;
    let opts = TrainOptions {
        data_dir: args.data,
        out_dir: args.out.clone(),
        resume: args.resume,
        stop_after: args.stop_after,
        progress: true,
    };
    let summary = train(model, &spec, &cfg, &opts, &device)?;
    if let (Some(first), Some(last)) = (summary.losses.first(), summary.losses.last()) {
        println!(
            "steps {}..{}: total loss {:.4} -> {:.4}",
            first.step,
            last.step + 1,
            first.total_loss,
            last.total_loss
        );
    }
    if let Some(best) = summary
        .validations
        .iter()
        .max_by(|a, b| a.ap50.total_cmp(&b.ap50))
    {
        println!(
            "best validation AP50 {:.3} (AP {:.3}) at step {}",
            best.ap50, best.ap, best.step
        );
    }
    match (&summary.best_dir, summary.stopped_early) {
        (Some(dir), true) => println!("stopped early; model written to {}", dir.display()),
        (Some(dir), false) => println!("model written to {}", dir.display()),
        (None, _) => println!(
            "paused at step {}; continue with --resume --out {}",
            summary.steps,
            args.out.display()
        ),
    }
    Ok(())
}
