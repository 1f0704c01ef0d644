//! `carina ingest DIR`: bulk ingest of a folder (DICOM, PNG, JPEG; DICOMDIR-
//! aware) into the local store, through the same ingest as the server's
//! upload, or into a running server with an API token. Parallel, with a
//! progress bar; what is already stored (sha256) is not stored again, so an
//! interrupted run is resumed by running it again (no state file). Ends
//! with a summary and a table of the refused files.
//!
//! Exit status: 0 when nothing was refused; 3 when the run finished but some
//! file was refused; 130 when interrupted (Ctrl-C); 1 on an error that stops
//! the run (bad arguments, the store cannot be opened, the server cannot be
//! reached or refuses the token); 2 on a command-line syntax error (clap).

use anyhow::{Context, bail};
use carina_server::Config;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub mod dicomdir;
pub mod run;
pub mod target;
pub mod walk;

use run::Tally;
use target::Target;

/// Exit status when some file was refused.
pub const EXIT_REFUSED: u8 = 3;
/// Exit status when interrupted.
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(clap::Args)]
pub struct Args {
    /// The folder to ingest (walked recursively; a DICOMDIR's images are used where there is one).
    dir: PathBuf,
    /// A running Carina server (http://host:port) to upload to, with --token; else the local store.
    #[arg(long)]
    server: Option<String>,
    /// API token for --server (radiologist or admin, write scope); CARINA_TOKEN keeps it off the command line.
    #[arg(long, env = "CARINA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Local mode: where the SQLite database and local object store live (default: as for `carina serve`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Local mode: optional TOML configuration file (as for `carina serve`).
    #[arg(long, env = "CARINA_CONFIG")]
    config: Option<PathBuf>,
    /// Files in flight at once (default: the number of CPU cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Local mode: do not queue a prediction for new images (as CARINA_PREDICT_ON_UPLOAD=false).
    #[arg(long)]
    no_predict: bool,
    /// Local mode: the name recorded as the images' creator.
    #[arg(long, default_value = "ingest")]
    user: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let jobs = jobs(args.jobs)?;
    if !args.dir.is_dir() {
        bail!("{}: no such folder", args.dir.display());
    }
    let mode = mode(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let tally = runtime.block_on(async {
        let target = match mode {
            Mode::Local(config) => Target::local(*config, args.user.clone()).await?,
            Mode::Remote { server, token } => Target::remote(&server, token).await?,
        };
        let found = walk::walk(&args.dir)?;
        let tally = Tally {
            refused: found.refused,
            skipped: found.skipped,
            ..Tally::default()
        };
        let target = Arc::new(target);
        let stop = interrupt_signal();
        let tally = run::send_all(target.clone(), found.items, jobs, tally, stop, false).await;
        if let Ok(t) = Arc::try_unwrap(target) {
            t.close().await;
        }
        anyhow::Ok(tally)
    })?;
    print_summary(&args.dir, &tally);
    if let Some(e) = tally.fatal {
        return Err(e.context(
            "the run stopped; what is stored stays, run the same command again to go on",
        ));
    }
    Ok(if tally.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if !tally.refused.is_empty() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn jobs(jobs: Option<usize>) -> anyhow::Result<usize> {
    match jobs {
        Some(0) => bail!("--jobs must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(2, |n| n.get())),
    }
}

enum Mode {
    Local(Box<Config>),
    Remote { server: String, token: String },
}

fn mode(args: &Args) -> anyhow::Result<Mode> {
    match (&args.server, &args.token) {
        (Some(_), _) if args.data_dir.is_some() => {
            bail!("give either --server URL --token T or --data-dir DIR, not both")
        }
        (Some(_), _) if args.no_predict => bail!(
            "--no-predict is for the local store; a server predicts on arrival unless it runs with CARINA_PREDICT_ON_UPLOAD=false"
        ),
        (Some(_), None) => bail!("--server needs --token T (or CARINA_TOKEN)"),
        (Some(_), Some(t)) if t.trim().is_empty() => bail!("--token is empty"),
        (Some(server), Some(token)) => Ok(Mode::Remote {
            server: server.clone(),
            token: token.trim().to_string(),
        }),
        (None, _) => {
            let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
            if let Some(dir) = &args.data_dir {
                config.data_dir = dir.clone();
            }
            if args.no_predict {
                config.predict_on_upload = false;
            }
            Ok(Mode::Local(Box::new(config)))
        }
    }
}

/// Turns true at the first Ctrl-C; a second one ends the process at once.
fn interrupt_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        let _ = tx.send(true);
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted again: quitting; run the same command to resume");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    rx
}

fn print_summary(dir: &Path, t: &Tally) {
    let secs = t.elapsed.as_secs_f64().max(1e-9);
    let done = t.stored + t.already + t.refused.len();
    println!("ingest of {}", dir.display());
    println!("  stored         {:>8}", t.stored);
    println!("  already there  {:>8}", t.already);
    println!("  refused        {:>8}", t.refused.len());
    println!("  skipped        {:>8}", t.skipped_total());
    for (why, n) in &t.skipped {
        println!("    {n:>8}  {why}");
    }
    if done > 0 {
        println!(
            "  {:.1} s, {:.1} images stored/s, {:.1} files/s",
            t.elapsed.as_secs_f64(),
            t.stored as f64 / secs,
            done as f64 / secs
        );
    }
    if t.interrupted {
        println!(
            "interrupted: {} file(s) not attempted; run the same command again to go on (what is stored is skipped by its sha256)",
            t.not_attempted
        );
    }
    if !t.refused.is_empty() {
        let width = t
            .refused
            .iter()
            .map(|(f, _)| f.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 60);
        println!();
        println!("refused files:");
        println!("  {:<width$}  WHY", "FILE");
        for (file, why) in &t.refused {
            println!("  {file:<width$}  {why}");
        }
    }
}
