//! `carina export onnx`: a detector's ONNX graph (raw class/box heads; anchors and
//! post-processing are not in it), for tract, ONNX Runtime or an inference server.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use carina_detect::{Detector, Engine, LoadOptions};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Write the model as ONNX (opset 18, weights embedded, input `[1, 3, S, S]` normalised,
    /// outputs the class logits of levels P3..P7, then their box codes).
    Onnx(OnnxArgs),
}

#[derive(clap::Args)]
pub struct OnnxArgs {
    /// Weights: a .safetensors or effdet .pth file, or a model folder (model.safetensors + model.json).
    #[arg(long)]
    weights: PathBuf,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
    /// Refuse weights of another architecture (e.g. tf_efficientdet_d0).
    #[arg(long)]
    arch: Option<String>,
    /// Refuse weights with another number of classes.
    #[arg(long)]
    num_classes: Option<usize>,
}

pub fn run(cmd: ExportCommand) -> anyhow::Result<()> {
    match cmd {
        ExportCommand::Onnx(a) => onnx(a),
    }
}

fn onnx(args: OnnxArgs) -> anyhow::Result<()> {
    if args.output.is_dir() {
        bail!("{} is a folder; give a file name", args.output.display());
    }
    let opts = LoadOptions {
        arch: args.arch,
        num_classes: args.num_classes,
        engine: Engine::Burn,
    };
    let detector = Detector::load_with(&args.weights, &opts)
        .with_context(|| format!("cannot load weights {}", args.weights.display()))?;
    let bytes = detector.export_onnx()?;
    // Written beside the target and renamed, so a failure leaves no half-written file.
    let dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(&bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    tmp.persist(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let cfg = detector.config();
    println!(
        "wrote {} ({:.1} MB): {} with {} classes, input [1, 3, {s}, {s}], {} outputs",
        args.output.display(),
        bytes.len() as f64 / 1e6,
        cfg.arch,
        cfg.num_classes,
        2 * cfg.num_levels(),
        s = cfg.image_size,
    );
    Ok(())
}
