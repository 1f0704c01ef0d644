//! Black-box tests of the `carina` binary: one module per subcommand area.

mod admin;
mod bench;
mod dataset;
mod dicom;
mod dicom_sr;
mod eval;
mod eval_model;
mod export;
mod export_db;
mod hostile;
mod ingest;
mod labels;
mod orthanc;
mod predict;
mod procs;
mod serve;
mod soak;
mod sweep;
mod synth;
mod train;
mod train_workbench;

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the built `carina` binary with `args`.
pub fn carina(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_carina"))
        .args(args)
        .output()
        .expect("run carina")
}

/// `../shared` beside the repository (CI lays it there).
#[allow(dead_code)]
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}
