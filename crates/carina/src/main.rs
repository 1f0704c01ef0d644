//! `carina`: parse the command line and dispatch; the work lives in the
//! library crates. Errors are printed once, with their causes, and mapped to a
//! non-zero exit status.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "carina",
    version,
    about = "AI-assisted annotation workbench for chest X-rays"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// One variant per area; each area's arguments and dispatch live in `cmd/<area>.rs`.
#[derive(Subcommand)]
enum Command {
    /// Print the default label set (the nine findings) as JSON.
    Labels,
    /// Datasets: import, merge readers, prepare, synthesise, export.
    #[command(subcommand)]
    Dataset(cmd::dataset::DatasetCommand),
    /// Evaluate detections and models (COCO AP/AR, AUC, F1, confusion matrix).
    #[command(subcommand)]
    Eval(cmd::eval::EvalCommand),
    /// Benchmarks on generated data (`carina bench eval`).
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Serve the workbench: the web editor and the JSON API.
    Serve(cmd::serve::Args),
    /// Run a detector on an image or a folder of images.
    Predict(cmd::predict::Args),
    /// Train a detector on a prepared dataset.
    Train(cmd::train::Args),
    /// Run background jobs (model predictions) for the workbench's database.
    Worker(cmd::worker::Args),
    /// Export a detector (`carina export onnx`).
    #[command(subcommand)]
    Export(cmd::export::ExportCommand),
    /// Accounts on the database directly: create-user, set-role, reset-password.
    Admin(cmd::admin::Admin),
    /// Bulk ingest of a folder (DICOM, PNG, JPEG; DICOMDIR-aware) into the local store or a
    /// running server; exit status 3 when a file was refused, 130 when interrupted.
    Ingest(cmd::ingest::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Bulk ingest reports per file itself (progress bar, summary): the
    // server's per-image log lines would only break the bar.
    let quiet = matches!(
        cli.command,
        Command::Ingest(_) | Command::Bench(cmd::bench::BenchCommand::Ingest(_))
    );
    let default_filter = if quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CARINA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let done = match cli.command {
        Command::Labels => cmd::labels::run(),
        Command::Dataset(c) => cmd::dataset::run(c),
        Command::Eval(c) => cmd::eval::run(c),
        Command::Bench(c) => cmd::bench::run(c),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Worker(a) => cmd::worker::run(a),
        Command::Export(c) => cmd::export::run(c),
        Command::Admin(a) => cmd::admin::run(a),
        // The one command with an exit status of its own (see its docs).
        Command::Ingest(a) => return cmd::ingest::run(a),
    };
    done.map(|()| ExitCode::SUCCESS)
}
