//! Real `carina serve` / `carina worker` processes for the crash and soak
//! tests: started with their log on a file, killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `carina` process; killed (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    /// `http://127.0.0.1:PORT` for a server.
    pub base: String,
    pub log: PathBuf,
}

impl Proc {
    /// SIGKILL (`Child::kill` on Unix), then reaps it.
    pub fn kill9(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// The log so far, without colour codes.
    pub fn log_text(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Waits until the log holds `needle` `times` times.
    pub fn wait_log(&self, needle: &str, times: usize, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.log_text();
            if text.matches(needle).count() >= times {
                return text;
            }
            assert!(
                start.elapsed() < timeout,
                "no {needle:?} (×{times}) in {} after {timeout:?}:\n{}",
                self.log.display(),
                tail(&text)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn tail(text: &str) -> &str {
    &text[text.len().saturating_sub(4000)..]
}

fn command(sub: &str, data_dir: &Path, env: &[(&str, &str)], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carina"));
    cmd.arg(sub).arg("--data-dir").arg(data_dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("CARINA_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CARINA_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).expect("log file")));
    cmd
}

/// `carina serve --bind 127.0.0.1:0`, once it prints its address.
pub fn serve(data_dir: &Path, env: &[(&str, &str)], log: &Path) -> Proc {
    let mut child = command("serve", data_dir, env, log)
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start carina serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(addr) = line.trim_end().strip_prefix("listening on ") else {
        child.kill().ok();
        child.wait().ok();
        panic!(
            "carina serve did not start ({line:?}):\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    };
    Proc {
        base: addr.to_string(),
        child,
        log: log.to_path_buf(),
    }
}

/// `carina worker` (its jobs and its sweep, no HTTP).
pub fn worker(data_dir: &Path, env: &[(&str, &str)], log: &Path) -> Proc {
    let child = command("worker", data_dir, env, log)
        .stdout(Stdio::null())
        .spawn()
        .expect("start carina worker");
    Proc {
        child,
        base: String::new(),
        log: log.to_path_buf(),
    }
}

pub const PASSWORD: &str = "correct-horse-battery-42";

/// Creates the accounts the tests use and returns a Bearer token for each:
/// the first registers (and becomes the admin), the others are radiologists
/// that the admin creates with `POST /api/v1/users` (registration is closed
/// after the first account). The ONE place the tests create users.
pub async fn accounts(client: &reqwest::Client, base: &str, names: &[&str]) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut admin: Option<(String, String)> = None;
    for name in names {
        let body =
            serde_json::json!({"username": name, "password": PASSWORD, "role": "radiologist"});
        let r = match &admin {
            None => client.post(format!("{base}/api/v1/auth/register")),
            Some((cookie, csrf)) => client
                .post(format!("{base}/api/v1/users"))
                .header("cookie", cookie)
                .header("x-csrf-token", csrf),
        }
        .json(&body)
        .send()
        .await
        .unwrap();
        assert_eq!(
            r.status(),
            201,
            "create account {name}: {}",
            r.text().await.unwrap()
        );
        let session = login(client, base, name).await;
        tokens.push(token(client, base, &session, name).await);
        admin.get_or_insert(session);
    }
    tokens
}

/// Logs in: the session cookie and its CSRF token.
async fn login(client: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login {name}");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("carina_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let body: serde_json::Value = r.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    (cookie, csrf)
}

/// Creates a personal API token (write scope) from a session.
async fn token(
    client: &reqwest::Client,
    base: &str,
    (cookie, csrf): &(String, String),
    name: &str,
) -> String {
    let r = client
        .post(format!("{base}/api/v1/tokens"))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&serde_json::json!({"name": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "token for {name}");
    let body: serde_json::Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// A small PNG radiograph-like image, different for every `seed`.
pub fn png(seed: u64, w: u32, h: u32) -> Vec<u8> {
    let img = image::ImageBuffer::from_fn(w, h, |x, y| {
        let v =
            (x as u64 * 7 + y as u64 * 13 + seed * 31 + (x as u64 * y as u64 + seed) % 17) % 251;
        image::Luma([v as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// `POST /images` with one PNG; returns the image object.
pub async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("image/png")
        .unwrap();
    client
        .post(format!("{base}/api/v1/images"))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}
