//! `carina dataset …`: import, merge readers, prepare, synthesise and export
//! datasets. Each subcommand's arguments and body live in their own module
//! under `cmd/dataset/`; this file only lists and dispatches them.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum DatasetCommand {}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<()> {
    match cmd {}
}
