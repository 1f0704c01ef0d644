//! `carina admin create-user|set-role|reset-password` on the database
//! directly: a locked-out site recovered without the server (SQLite under
//! --data-dir; PostgreSQL through CARINA_DATABASE_URL when
//! CARINA_TEST_DATABASE_URL is set), then checked by logging in to a real
//! server on the same database.

use carina_server::{Application, Config, Secret};
use carina_store::{AuditQuery, Database, Role};
use carina_testkit::{DATABASE_URL_VAR, PgDatabase, env_or_skip};
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `carina admin ...` with `stdin` on standard input.
fn admin(data_dir: &Path, db_url: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carina"));
    c.arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("CARINA_DATABASE_URL")
        .env_remove("CARINA_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(u) = db_url {
        c.env("CARINA_DATABASE_URL", u);
    }
    let mut child = c.spawn().expect("run carina admin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "succeeded: {err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

async fn login(data_dir: &Path, db_url: Option<&str>, user: &str, password: &str) -> StatusCode {
    let config = Config {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        bundled_model: false,
        database_url: db_url.map(Secret::new),
        ..Config::default()
    };
    let app = Application::build(config).await.expect("build the app");
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let status = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
        .status();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    status
}

async fn recovery(dir: &Path, db_url: Option<&str>) {
    let url = db_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("carina.db").display()));
    // Without a database, only create-user may make one.
    if db_url.is_none() {
        fails(
            &admin(dir, None, &["set-role", "ann", "admin"], ""),
            "no workbench database",
        );
    }
    let out = ok(&admin(
        dir,
        db_url,
        &["create-user", "ann", "--role", "admin", "--password-stdin"],
        "first admin pass\n",
    ));
    assert!(out.contains("created ann (admin)"), "{out}");
    assert!(!out.contains("first admin pass"), "{out}");
    // A generated password is printed once.
    let out = ok(&admin(
        dir,
        db_url,
        &["create-user", "Bob", "--role", "viewer"],
        "",
    ));
    let bob_pw = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password")
        .to_string();
    assert_eq!(bob_pw.len(), 24);
    // Refusals: taken in another case, bad role, weak password, unknown user, last admin.
    fails(
        &admin(dir, db_url, &["create-user", "ANN", "--role", "viewer"], ""),
        "taken",
    );
    fails(
        &admin(dir, db_url, &["create-user", "eve", "--role", "wizard"], ""),
        "wizard",
    );
    fails(
        &admin(
            dir,
            db_url,
            &["create-user", "eve", "--role", "viewer", "--password-stdin"],
            "        \n",
        ),
        "at least 10 characters",
    );
    fails(
        &admin(dir, db_url, &["set-role", "nobody", "admin"], ""),
        "no account named",
    );
    fails(
        &admin(dir, db_url, &["set-role", "ann", "viewer"], ""),
        "last admin",
    );

    // The site is locked out: ann forgot her password. Recover it, and make bob an admin.
    let out = ok(&admin(
        dir,
        db_url,
        &["reset-password", "ANN", "--password-stdin"],
        "recovered passphrase\n",
    ));
    assert!(out.contains("new password set for ann"), "{out}");
    let out = ok(&admin(dir, db_url, &["set-role", "bob", "admin"], ""));
    assert!(out.contains("Bob is admin"), "{out}");
    assert_eq!(
        login(dir, db_url, "ann", "first admin pass").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(dir, db_url, "ann", "recovered passphrase").await,
        StatusCode::OK
    );
    assert_eq!(login(dir, db_url, "bob", &bob_pw).await, StatusCode::OK);

    let db = Database::connect(&url).await.unwrap();
    assert_eq!(
        db.user_by_name("bob").await.unwrap().unwrap().role,
        Role::Admin
    );
    let (entries, _) = db
        .audit(&AuditQuery {
            page: 1,
            per_page: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let cli: Vec<&str> = entries
        .iter()
        .filter(|e| e.detail["via"] == "cli")
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(
        cli,
        [
            "role_changed",
            "password_reset",
            "user_created",
            "user_created"
        ]
    );
    let text = format!("{entries:?}");
    for secret in ["first admin pass", "recovered passphrase", bob_pw.as_str()] {
        assert!(!text.contains(secret), "the audit log holds a password");
    }
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_recovers_a_sqlite_site() {
    let dir = tempfile::tempdir().unwrap();
    recovery(&dir.path().join("data"), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_recovers_a_postgres_site() {
    let Some(base) = env_or_skip(DATABASE_URL_VAR, "the PostgreSQL admin test") else {
        return;
    };
    let db = PgDatabase::create(&base, &format!("carina_admin_{}", std::process::id())).await;
    let dir = tempfile::tempdir().unwrap();
    let r = tokio::spawn({
        let url = db.url.clone();
        let dir = dir.path().to_path_buf();
        async move { recovery(&dir, Some(&url)).await }
    })
    .await;
    db.drop().await;
    if let Err(e) = r {
        std::panic::resume_unwind(e.into_panic());
    }
}
