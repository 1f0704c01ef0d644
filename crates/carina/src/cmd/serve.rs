//! `carina serve`: the workbench web service (see `carina-server`).

use anyhow::Context;
use carina_server::{Application, Config};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CARINA_BIND")]
    bind: Option<String>,
    /// Where the SQLite database and local object store live.
    #[arg(long, env = "CARINA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Optional TOML configuration file (defaults < file < CARINA_* variables < flags).
    #[arg(long, env = "CARINA_CONFIG")]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    tracing::debug!(?config, "configuration");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = Application::build(config).await?;
        // Exactly one line on stdout: scripts and the browser tests parse it.
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{}", app.local_addr())?;
        out.flush()?;
        drop(out);
        app.run(shutdown_signal()).await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
