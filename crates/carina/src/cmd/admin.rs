//! `carina admin`: manage accounts on the database directly (SQLite under
//! `--data-dir`, or `CARINA_DATABASE_URL`), without the server, so that a
//! site whose admins are locked out can always be recovered. Passwords are
//! read from standard input (`--password-stdin`) or generated and printed
//! once; never taken from the command line, where other users could see
//! them. Every change is written to the audit log (`"via": "cli"`).

use anyhow::{Context, bail};
use carina_server::Config;
use carina_server::auth::{self, audit::kind, password};
use carina_store::{Database, NewAudit, Role, StoreError, User};
use serde_json::json;
use std::io::BufRead;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Db {
    /// Where the SQLite database lives (as for `carina serve`); ignored with CARINA_DATABASE_URL.
    #[arg(long, env = "CARINA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Optional TOML configuration file (defaults < file < CARINA_* variables < flags).
    #[arg(long, env = "CARINA_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct Admin {
    #[command(flatten)]
    db: Db,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Create an account with a role (creates the database if there is none yet).
    CreateUser {
        username: String,
        /// admin, radiologist or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input (else one is generated and printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's role (the last admin keeps theirs).
    SetRole { username: String, role: String },
    /// Set a new password and end the account's sessions.
    ResetPassword {
        username: String,
        /// Read the password from the first line of standard input (else one is generated and printed).
        #[arg(long)]
        password_stdin: bool,
    },
}

fn role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s.trim())
        .with_context(|| format!("role {s:?}: expected admin, radiologist or viewer"))
}

/// The password: a line of standard input, or a new random one (printed).
fn new_password(from_stdin: bool, username: &str) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        // 24 hex digits: 96 random bits.
        return Ok((auth::random_token()[..24].to_string(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if let Some(why) = password::weakness(&pw, username) {
        bail!("{why}");
    }
    Ok((pw, false))
}

async fn open(db: &Db, create: bool) -> anyhow::Result<Database> {
    let mut config = Config::load(db.config.as_deref(), std::env::vars())?;
    if let Some(dir) = &db.data_dir {
        config.data_dir = dir.clone();
    }
    if config.database_url.is_none() {
        let file = config.data_dir.join("carina.db");
        if !file.is_file() {
            if !create {
                bail!(
                    "no workbench database at {} (give --data-dir, or CARINA_DATABASE_URL)",
                    file.display()
                );
            }
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    config.data_dir.display()
                )
            })?;
        }
    }
    Database::connect(config.database_url().expose())
        .await
        .context("cannot open the workbench database")
}

async fn find(db: &Database, username: &str) -> anyhow::Result<User> {
    db.user_by_name(username)
        .await?
        .with_context(|| format!("no account named {username:?}"))
}

fn cli_entry(k: &str, subject: &User) -> NewAudit {
    NewAudit::new(k)
        .subject(subject)
        .detail(json!({"via": "cli", "os_user": std::env::var("USER").ok()}))
}

async fn run_async(a: Admin) -> anyhow::Result<()> {
    match a.command {
        AdminCommand::CreateUser {
            username,
            role: r,
            password_stdin,
        } => {
            if let Some(why) = auth::username_problem(&username) {
                bail!("{why}");
            }
            let r = role(&r)?;
            let (pw, generated) = new_password(password_stdin, &username)?;
            let db = open(&a.db, true).await?;
            let hash = password::hash(pw.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {}", e.message))?;
            let user = db
                .create_user_with_role(&username, &hash, r)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(m) => anyhow::anyhow!("{username:?}: {m}"),
                    other => other.into(),
                })?;
            db.record_audit(
                &cli_entry(kind::USER_CREATED, &user)
                    .detail(json!({"via": "cli", "os_user": std::env::var("USER").ok(),
                        "role": user.role})),
            )
            .await?;
            println!(
                "created {} ({}), id {}",
                user.username,
                user.role.as_str(),
                user.id
            );
            if generated {
                println!("password: {pw}");
            }
            db.close().await;
        }
        AdminCommand::SetRole { username, role: r } => {
            let r = role(&r)?;
            let db = open(&a.db, false).await?;
            let user = find(&db, &username).await?;
            let (before, after) = db.set_role(user.id, r).await.map_err(|e| match e {
                StoreError::Conflict(m) => anyhow::anyhow!("{}: {m}", user.username),
                other => other.into(),
            })?;
            if before.role != after.role {
                db.record_audit(&cli_entry(kind::ROLE_CHANGED, &after).detail(json!({
                    "via": "cli", "os_user": std::env::var("USER").ok(),
                    "from": before.role, "to": after.role
                })))
                .await?;
            }
            println!("{} is {}", after.username, after.role.as_str());
            db.close().await;
        }
        AdminCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let db = open(&a.db, false).await?;
            let user = find(&db, &username).await?;
            let (pw, generated) = new_password(password_stdin, &user.username)?;
            let hash = password::hash(pw.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {}", e.message))?;
            let user = db.set_password(user.id, &hash).await?;
            db.record_audit(&cli_entry(kind::PASSWORD_RESET, &user))
                .await?;
            println!(
                "new password set for {}; their sessions have ended",
                user.username
            );
            if generated {
                println!("password: {pw}");
            }
            db.close().await;
        }
    }
    Ok(())
}

pub fn run(a: Admin) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(a))
}
