//! `carina train`: train the detector on a prepared dataset, or
//! (`--from-workbench`) fine-tune the deployed model on the workbench's
//! reviewed boxes and register the result undeployed (`carina_learn`).

use anyhow::Context;
use carina_train::data::read_manifest;
use carina_train::{TrainConfig, TrainOptions, effdet, train};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Prepared dataset folder (manifest.json, COCO files per split, images/).
    #[arg(long, required_unless_present = "from_workbench")]
    data: Option<PathBuf>,
    /// Output folder: config, logs, resumable state and the finished model/ folder
    /// (with --from-workbench: the working folder, which must be absent or empty).
    #[arg(long)]
    out: PathBuf,
    /// Learn from corrections: build the training set from the workbench's accepted,
    /// edited and manual boxes (consensus where signed), fine-tune the deployed model,
    /// compare it with that model on a held-out part, and register it without deploying.
    #[arg(long, conflicts_with_all = ["data", "resume", "finish", "stop_after", "config", "recipe", "arch", "init"])]
    from_workbench: bool,
    /// With --from-workbench: the workbench data directory (as for `carina serve`;
    /// CARINA_DATABASE_URL / CARINA_OBJECT_STORE_URL when set).
    #[arg(long, env = "CARINA_DATA_DIR", requires = "from_workbench")]
    data_dir: Option<PathBuf>,
    /// With --from-workbench: the registry id of the model to start from (default: the deployed one).
    #[arg(long, requires = "from_workbench")]
    base_model: Option<i64>,
    /// With --from-workbench: optimiser steps.
    #[arg(long, requires = "from_workbench")]
    steps: Option<u64>,
    /// With --from-workbench: the fraction of reviewed images held out for the comparison.
    #[arg(long, requires = "from_workbench")]
    held_out: Option<f64>,
    /// With --from-workbench: refuse with fewer reviewed images than this.
    #[arg(long, requires = "from_workbench")]
    min_images: Option<usize>,
    /// Training configuration (TOML); every field has a default.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A configuration shipped with Carina: `vindr-d0` (effdet's own training of D0, for
    /// VinDr-CXR; see docs/training.md). --set, --arch and --init still apply.
    #[arg(long, conflicts_with_all = ["config", "resume", "finish"])]
    recipe: Option<String>,
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

fn from_workbench(args: Args) -> anyhow::Result<()> {
    let mut req = carina_learn::FineTuneRequest::default();
    if let Some(v) = args.base_model {
        req.base_model_id = Some(v);
    }
    if let Some(v) = args.steps {
        req.steps = v;
    }
    if let Some(v) = args.held_out {
        req.held_out = v;
    }
    if let Some(v) = args.min_images {
        req.min_images = v;
    }
    req.set = args.set.clone();
    if args.device != "cpu" {
        anyhow::bail!("--from-workbench trains on the CPU (the workbench's device)");
    }
    carina_learn::validate_request(&req).map_err(anyhow::Error::msg)?;
    let mut config = carina_server::Config::load(None, std::env::vars())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if config.database_url.is_none() && !config.data_dir.join("carina.db").is_file() {
        anyhow::bail!(
            "no workbench database at {} (give --data-dir, or CARINA_DATABASE_URL)",
            config.data_dir.join("carina.db").display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let state = carina_server::connect(config).await?;
        let user = std::env::var("USER").unwrap_or_else(|_| "carina".into());
        let tmp = carina_server::sweep::temp_dir(&state.config);
        let wb = carina_learn::Workbench::new(&state.store, &tmp);
        let outcome =
            carina_learn::fine_tune(&wb, &req, &args.out, &format!("cli:{user}"), true).await;
        state.store.db.close().await;
        let o = outcome?;
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "trained on {} images, {} held out ({} boxes in all)",
            o.train_images, o.held_out_images, o.boxes
        );
        println!("held out       AP     AP50   AR100");
        for (who, m) in [("base", &o.base_held_out), ("new", &o.new_held_out)] {
            println!(
                "{who:<10} {:>6} {:>8} {:>7}",
                f(m.ap),
                f(m.ap50),
                f(m.ar100)
            );
        }
        println!(
            "registered model {} ({} {}), not deployed; logs in {}",
            o.model.id,
            o.model.name,
            o.model.version,
            o.work_dir.display()
        );
        Ok(())
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.from_workbench {
        return from_workbench(args);
    }
    let data = args.data.clone().expect("clap requires --data");
    let saved = args.out.join("config.toml");
    let mut cfg = match (&args.config, &args.recipe) {
        (_, Some(name)) => TrainConfig::recipe(name)?,
        (Some(path), None) => TrainConfig::from_file(path)?,
        (None, None) if args.resume || args.finish => {
            TrainConfig::from_file(&saved).with_context(|| {
                format!(
                    "--resume and --finish need a previous run in {}",
                    args.out.display()
                )
            })?
        }
        (None, None) => TrainConfig::default(),
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
    let manifest = read_manifest(&data)?;
    let device = carina_train::device::parse_device(&args.device)?;
    if args.finish {
        let (model, spec) = effdet::build(&cfg, &manifest.class_names, &device)?;
        let dir = carina_train::finish_run(&model, &spec, &cfg, &data, &args.out)?;
        println!("model written to {}", dir.display());
        return Ok(());
    }
    let (model, spec) = effdet::build(&cfg, &manifest.class_names, &device)?;
    let opts = TrainOptions {
        data_dir: data,
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
