//! `carina eval …`: detection metrics. Each subcommand's arguments and body
//! live in their own module under `cmd/eval/`; this file only lists and
//! dispatches them.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum EvalCommand {}

pub fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {}
}
