//! Where `carina ingest` sends each file: the local store, through the very
//! ingest the server's upload runs (`carina_server::ingest_files`), or a
//! running server's `POST /api/v1/images` with a Bearer token.

use anyhow::{Context, bail};
use bytes::Bytes;
use carina_server::{AppState, Config};
use std::time::Duration;

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new image.
    Stored,
    /// The same content (sha256) was stored before.
    Already,
    /// Refused, and why (the message the upload would answer).
    Refused(String),
}

pub enum Target {
    Local {
        state: AppState,
        /// Recorded as the images' creator.
        user: String,
    },
    Remote {
        client: reqwest::Client,
        /// `{server}/api/v1/images`
        upload_url: reqwest::Url,
        token: String,
    },
}

impl Target {
    /// Opens (creating, migrating) the store that `config` names.
    pub async fn local(config: Config, user: String) -> anyhow::Result<Self> {
        let state = carina_server::connect(config).await?;
        Ok(Self::Local { state, user })
    }

    /// Checks the URL and the token (`GET /api/v1/me`) before anything is sent.
    pub async fn remote(server: &str, token: String) -> anyhow::Result<Self> {
        let base = reqwest::Url::parse(server.trim_end_matches('/'))
            .with_context(|| format!("--server {server:?} is not a URL (e.g. http://host:8080)"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            bail!("--server {server:?}: expected an http:// or https:// URL with a host");
        }
        let url = |path: &str| {
            let mut u = base.clone();
            let joined = format!("{}{path}", u.path().trim_end_matches('/'));
            u.set_path(&joined);
            u
        };
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .build()
            .context("cannot make an HTTP client")?;
        let me = client
            .get(url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {base}"))?;
        let status = me.status();
        if !status.is_success() {
            let msg = message(me).await;
            match status.as_u16() {
                401 => bail!("the server refused the token (401 Unauthorized): {msg}"),
                _ => bail!("{base} answered {status} to GET /api/v1/me: {msg}"),
            }
        }
        let me: serde_json::Value = me
            .json()
            .await
            .with_context(|| format!("{base} does not answer like a Carina server"))?;
        if !matches!(me["role"].as_str(), Some("radiologist" | "admin")) {
            bail!(
                "the token's account {:?} is a {}: uploading needs radiologist or admin",
                me["username"].as_str().unwrap_or("?"),
                me["role"].as_str().unwrap_or("?")
            );
        }
        if me["token"]["scope"].as_str() == Some("read") {
            bail!("the token is read-only: make one with write scope");
        }
        Ok(Self::Remote {
            client,
            upload_url: url("/api/v1/images"),
            token,
        })
    }

    /// The largest file worth reading, if known before sending.
    pub fn max_bytes(&self) -> Option<(u64, &'static str)> {
        match self {
            Self::Local { state, .. } => Some((
                state.config.max_upload_bytes() as u64,
                "CARINA_MAX_UPLOAD_MB",
            )),
            Self::Remote { .. } => None,
        }
    }

    /// Sends one file. `Err` means the run cannot go on (the store failed to
    /// open, the server is unreachable or refuses the token).
    pub async fn send(&self, name: String, bytes: Vec<u8>) -> anyhow::Result<Outcome> {
        match self {
            Self::Local { state, user } => {
                let files = vec![(name, Bytes::from(bytes))];
                Ok(
                    match carina_server::ingest_files(state, files, user).await {
                        Ok(done) if done.created_ids.is_empty() => Outcome::Already,
                        Ok(_) => Outcome::Stored,
                        Err(e) => Outcome::Refused(e.message),
                    },
                )
            }
            Self::Remote {
                client,
                upload_url,
                token,
            } => send_remote(client, upload_url, token, name, bytes).await,
        }
    }

    pub async fn close(self) {
        if let Self::Local { state, .. } = self {
            state.store.db.close().await;
        }
    }
}

/// Retries of a file on 429/503 and on connection errors.
const RETRIES: u32 = 4;

async fn send_remote(
    client: &reqwest::Client,
    url: &reqwest::Url,
    token: &str,
    name: String,
    bytes: Vec<u8>,
) -> anyhow::Result<Outcome> {
    let bytes = Bytes::from(bytes);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let part = reqwest::multipart::Part::stream_with_length(bytes.clone(), bytes.len() as u64)
            .file_name(name.clone());
        let sent = client
            .post(url.clone())
            .bearer_auth(token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            Err(e) if attempt <= RETRIES => {
                tracing::debug!(error = %e, "upload failed; retrying");
                tokio::time::sleep(backoff(attempt, None)).await;
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot reach {url}")),
        };
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        return Ok(match status {
            201 => Outcome::Stored,
            200 => Outcome::Already,
            429 | 502 | 503 | 504 if attempt <= RETRIES => {
                tokio::time::sleep(backoff(attempt, retry_after)).await;
                continue;
            }
            401 => bail!(
                "the server refused the token (401 Unauthorized): {}",
                message(r).await
            ),
            403 => bail!(
                "the server refused the upload (403 Forbidden): {}",
                message(r).await
            ),
            _ => Outcome::Refused(format!("{status}: {}", message(r).await)),
        });
    }
}

fn backoff(attempt: u32, retry_after: Option<u64>) -> Duration {
    let secs = retry_after.unwrap_or(1u64 << attempt.min(5)).min(60);
    Duration::from_secs(secs)
}

/// The `{"error": {"message"}}` of an answer, else its text (shortened).
async fn message(r: reqwest::Response) -> String {
    let text = r.text().await.unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v["error"]["message"].is_string() => v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        _ => text.chars().take(200).collect(),
    }
}
