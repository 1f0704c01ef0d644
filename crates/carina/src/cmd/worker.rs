//! `carina worker`: run background jobs (model predictions, fine-tuning) against the
//! configured database, as a separate process from `carina serve`. Several
//! may run against one PostgreSQL database; each claims different jobs.

use anyhow::Context;
use carina_server::Config;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Where the SQLite database and local object store live (as for `carina serve`).
    #[arg(long, env = "CARINA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Optional TOML configuration file (defaults < file < CARINA_* variables < flags).
    #[arg(long, env = "CARINA_CONFIG")]
    config: Option<PathBuf>,
    /// How many prediction jobs this process runs at once (training jobs have a loop of their own).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let state = carina_server::connect(config).await?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let workers =
            carina_server::worker::spawn_loops(&state, "worker", args.concurrency, &stop_rx);
        // Unreferenced objects and stale temporary files: at start, then every
        // CARINA_SWEEP_MINUTES (safe beside other processes; see carina-store's sweep).
        let sweeper = carina_server::sweep::spawn(&state, stop_rx.clone());
        eprintln!(
            "carina worker: {} prediction loop(s) and a training loop running; Ctrl-C stops",
            args.concurrency
        );
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
        for w in workers {
            let _ = w.await;
        }
        sweeper.abort();
        state.store.db.close().await;
        Ok(())
    })
}
