//! `carina dataset …`: import, merge readers, prepare, synthesise and export
//! datasets. Each subcommand's arguments and body live in their own module
//! under `cmd/dataset/`; this file only lists and dispatches them.

pub mod export;
mod export_args;
mod export_db;
pub mod import;
pub mod merge;
pub mod prepare;
pub mod synth;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Import VinDr-CXR / NIH ChestX-ray14 / COCO annotations and report what was kept and dropped.
    Import(import::Args),
    /// Fuse several readers' boxes with Weighted Boxes Fusion.
    Merge(merge::Args),
    /// Prepare a training set: letterbox, fuse readers, stratified split, manifest.
    Prepare(prepare::Args),
    /// Export annotations as COCO JSON, VinDr-style CSV or YOLO files.
    Export(export::Args),
    /// Generate synthetic chest radiographs with boxes, as a prepared dataset.
    Synth(synth::Args),
}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<()> {
    match cmd {
        DatasetCommand::Import(a) => import::run(a),
        DatasetCommand::Merge(a) => merge::run(a),
        DatasetCommand::Prepare(a) => prepare::run(a),
        DatasetCommand::Export(a) => export::run(a),
        DatasetCommand::Synth(a) => synth::run(a),
    }
}
