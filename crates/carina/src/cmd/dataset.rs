//! `carina dataset …`: import, merge readers, prepare, synthesise and export
//! datasets. Each subcommand's arguments and body live in their own module
//! under `cmd/dataset/`; this file only lists and dispatches them.

pub mod synth;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Generate synthetic chest radiographs with boxes, as a prepared dataset.
    Synth(synth::Args),
}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<()> {
    match cmd {
        DatasetCommand::Synth(a) => synth::run(a),
    }
}
