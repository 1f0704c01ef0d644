//! `carina eval …`: detection metrics. Each subcommand's arguments and body
//! live in their own module under `cmd/eval/`; this file only lists and
//! dispatches them.

use clap::Subcommand;

pub mod coco;
pub mod model;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// COCO AP/AR (as pycocotools), per-class AP and AUC, F1, confusion matrix.
    Coco(coco::Args),
    /// Run a model over a prepared split: all of the above plus inference time, JSON and HTML.
    Model(model::Args),
}

pub fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Coco(a) => coco::run(a),
        EvalCommand::Model(a) => model::run(a),
    }
}
