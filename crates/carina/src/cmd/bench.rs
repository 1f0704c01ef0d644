//! `carina bench …`: benchmarks on generated data. Each benchmark's arguments
//! and body live in their own module under `cmd/bench/`; this file only lists
//! and dispatches them.

use clap::Subcommand;

pub mod detect;
pub mod eval;
pub mod ingest;
pub mod train;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// COCO evaluation speed against pycocotools (where installed), on generated data.
    Eval(eval::Args),
    /// One detector training step (D0, batch 4, 512 px) against PyTorch/effdet (where installed).
    Train(train::Args),
    /// EfficientDet-D0 forward speed on every available engine, against effdet (PyTorch) and
    /// onnxruntime from Python where installed.
    Detect(detect::Args),
    /// `carina ingest` into a fresh local SQLite store, prediction off, on generated distinct
    /// PNG/DICOM images: images per second.
    Ingest(ingest::Args),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Eval(a) => eval::run(a),
        BenchCommand::Train(a) => train::run(a),
        BenchCommand::Detect(a) => detect::run(a),
        BenchCommand::Ingest(a) => ingest::run(a),
    }
}
