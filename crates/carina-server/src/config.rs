//! Layered configuration: built-in defaults, then an optional TOML file,
//! then `CARINA_*` environment variables (and finally the command line,
//! applied by the caller). Secrets are redacted in `Debug`.

use crate::auth::client_ip::{self, IpRange};
use carina_store::Role;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A value that must not appear in logs (`Debug` prints `[redacted]`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub bind: String,
    /// Where the SQLite database and the local object store live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; unset means SQLite under `data_dir`.
    pub database_url: Option<Secret>,
    /// `s3://bucket/prefix`; unset means `data_dir/objects`.
    pub object_store_url: Option<String>,
    /// Extra S3 options for `object_store_url` (`aws_endpoint`,
    /// `aws_allow_http`, `aws_access_key_id`, `aws_secret_access_key`,
    /// `aws_region`, ...), over the `AWS_*` variables. Values are redacted in logs.
    pub object_store_options: BTreeMap<String, Secret>,
    /// Mark the session cookie `Secure` (served over TLS or behind a TLS proxy).
    pub secure_cookies: bool,
    /// Largest upload request, in MiB.
    pub max_upload_mb: u64,
    /// Largest decoded image, in pixels (width × height × frames), checked
    /// from the header before decoding; the decoded samples (× channels ×
    /// bytes per sample: 8 for an RGBA16 pixel) may not exceed as many bytes
    /// as that many 16-bit gray pixels. Default 50 M: a 4300 × 4300 detector
    /// is 18.5 M.
    pub max_pixels: u64,
    /// Deepest nesting of DICOM sequences accepted (1–128, default 16),
    /// checked by a structural pre-scan before the DICOM parser runs.
    pub max_dicom_depth: u32,
    /// Largest inflated data set of a deflated DICOM file, in MiB; unset:
    /// 4 × `max_upload_mb`, at most 1024.
    pub max_inflated_mb: Option<u64>,
    /// Memory for decoding images across the whole process, in MiB: every
    /// decode (upload, render, report, prediction) first reserves its
    /// estimated allocation from this budget and waits while it is spent; a
    /// single decode needing more than all of it is refused (422).
    pub decode_memory_mb: u64,
    /// Remove patient data from DICOM files on ingest (PS3.15 basic profile).
    pub deidentify: bool,
    /// Allow anyone to register after the first account
    /// (`CARINA_OPEN_REGISTRATION`; off by default: admins create accounts).
    pub open_registration: bool,
    /// Role of accounts registered after the first one.
    pub default_role: Role,
    pub session_hours: u64,
    /// Login attempts for one account from one client within
    /// `login_window_minutes` before further attempts from that client are
    /// refused; an account gets four times as many from clients it has not
    /// logged in from, and a client as many across such accounts
    /// (`auth::throttle`).
    pub login_max_failures: u32,
    pub login_window_minutes: u64,
    /// Run the job worker inside `carina serve` (`inprocess`) or not (`off`:
    /// jobs wait for a `carina worker` process).
    pub worker: WorkerMode,
    /// How often an idle worker looks for jobs, in milliseconds (an
    /// in-process worker is also woken at once when this process queues one).
    pub worker_poll_ms: u64,
    /// Queue a predict job with the deployed model for every new upload.
    pub predict_on_upload: bool,
    /// Attempts before a job is marked failed.
    pub job_max_attempts: u32,
    /// Back-off after the first failed attempt, doubled after each further one (capped at 10 min).
    pub job_retry_base_ms: u64,
    /// A running job's lease: past it without renewal, its worker is presumed dead and the job is retried.
    pub job_lease_secs: u64,
    /// Register and deploy the model embedded in the binary when the registry is empty.
    pub bundled_model: bool,
    /// Most boxes one save carries (annotations or a blind reading).
    pub max_boxes: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client for login
    /// throttling (addresses or CIDR ranges). Empty: the header is ignored
    /// and the connecting address is the client.
    pub trusted_proxies: Vec<IpRange>,
    /// What is kept of an upload's file name, which can hold patient data
    /// (`Doe_John_chest.dcm`).
    pub original_filenames: FilenamePolicy,
    /// Decoded images kept per process for `/render`, in MiB (0: none).
    pub render_cache_mb: u64,
    /// Lifetime of a new API token unless its creator asks otherwise, in days
    /// (`CARINA_TOKEN_DAYS`).
    pub token_default_days: u64,
    /// What an upload that may show burned-in text (Burned In Annotation
    /// YES, or absent on a secondary capture or a modality where burned-in
    /// text is common) gets: `flag` (stored, badged, left out of exports
    /// until an admin confirms it) or `refuse` (422). `CARINA_BURNED_IN`.
    pub burned_in: BurnedInPolicy,
    /// Minutes between sweeps of unreferenced objects and stale temporary
    /// files (one always runs at start; 0: only that one).
    pub sweep_minutes: u64,
    /// Age below which the sweeper never removes anything, in seconds. It
    /// must exceed the longest upload (object written → row committed) and
    /// the clock difference between the hosts and the object store.
    pub sweep_grace_secs: u64,
    /// `HOST:PORT` of the DICOM node (C-ECHO and C-STORE SCP); unset: none.
    pub dicom_bind: Option<String>,
    /// The DICOM node's AE title (`CARINA_DICOM_AE`).
    pub dicom_ae: String,
    /// Known DICOM nodes (`AETITLE@host:port` or `AETITLE`); when any is
    /// set, associations from other calling AE titles are rejected.
    pub dicom_peers: crate::dicom::peers::DicomPeers,
    /// The DICOM node's ACSE and DIMSE timeouts, in seconds (also the SCU's read timeout).
    pub dicom_timeout_secs: u64,
    /// A peer (of `dicom_peers`, with an address) each signed report's SR goes to.
    pub dicom_send_on_sign: Option<String>,
}

/// See [`Config::burned_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BurnedInPolicy {
    Flag,
    Refuse,
}

/// Where jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerMode {
    Inprocess,
    Off,
}

/// How much of an uploaded file's name is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilenamePolicy {
    /// `extension` when `deidentify` is on, else `keep`.
    Auto,
    /// The name as uploaded (its last path component, control characters removed).
    Keep,
    /// A content-derived name with the original extension only:
    /// `image-<first 12 hex digits of the SHA-256>.png`.
    Extension,
}

impl FilenamePolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "keep" => Some(Self::Keep),
            "extension" => Some(Self::Extension),
            _ => None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("carina-data"),
            database_url: None,
            object_store_url: None,
            object_store_options: BTreeMap::new(),
            secure_cookies: false,
            max_upload_mb: 512,
            max_pixels: carina_imaging::Limits::DEFAULT_MAX_PIXELS,
            max_dicom_depth: carina_imaging::Limits::DEFAULT_MAX_DEPTH,
            max_inflated_mb: None,
            decode_memory_mb: 512,
            deidentify: true,
            open_registration: false,
            default_role: Role::Radiologist,
            session_hours: 12,
            login_max_failures: 5,
            login_window_minutes: 15,
            worker: WorkerMode::Inprocess,
            worker_poll_ms: 1000,
            predict_on_upload: true,
            job_max_attempts: 3,
            job_retry_base_ms: 2000,
            job_lease_secs: 120,
            bundled_model: true,
            max_boxes: 500,
            trusted_proxies: Vec::new(),
            original_filenames: FilenamePolicy::Auto,
            render_cache_mb: 256,
            token_default_days: 90,
            burned_in: BurnedInPolicy::Flag,
            sweep_minutes: 60,
            sweep_grace_secs: 3600,
            dicom_bind: None,
            dicom_ae: "CARINA".into(),
            dicom_peers: Default::default(),
            dicom_timeout_secs: 30,
            dicom_send_on_sign: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{var}: {message}")]
    Env { var: String, message: String },
    #[error("{setting}: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
}

impl Config {
    /// Defaults, then `file` (if given), then the `CARINA_*` variables in `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Toml {
                    path: path.to_path_buf(),
                    source,
                })?
            }
            None => Config::default(),
        };
        for (var, value) in env {
            config.apply_env(&var, &value)?;
        }
        crate::dicom::peers::check(&mut config)?;
        Ok(config)
    }

    fn apply_env(&mut self, var: &str, value: &str) -> Result<(), ConfigError> {
        let err = |message: String| ConfigError::Env {
            var: var.to_string(),
            message,
        };
        let bool_value = || parse_bool(value).ok_or_else(|| err("expected true or false".into()));
        let number = || {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| err("expected a whole number".into()))
        };
        match var {
            "CARINA_BIND" => self.bind = value.to_string(),
            "CARINA_DATA_DIR" => self.data_dir = PathBuf::from(value),
            "CARINA_DATABASE_URL" => {
                self.database_url = (!value.is_empty()).then(|| Secret::new(value))
            }
            "CARINA_OBJECT_STORE_URL" => {
                self.object_store_url = (!value.is_empty()).then(|| value.to_string())
            }
            "CARINA_SECURE_COOKIES" => self.secure_cookies = bool_value()?,
            "CARINA_MAX_UPLOAD_MB" => self.max_upload_mb = number()?,
            "CARINA_MAX_PIXELS" => self.max_pixels = number()?,
            "CARINA_MAX_DICOM_DEPTH" => {
                self.max_dicom_depth = match number()? {
                    n @ 1..=MAX_DICOM_DEPTH => n as u32,
                    _ => return Err(err(format!("expected 1 to {MAX_DICOM_DEPTH}"))),
                }
            }
            "CARINA_MAX_INFLATED_MB" => {
                self.max_inflated_mb = if value.trim().is_empty() {
                    None
                } else {
                    Some(number()?)
                }
            }
            "CARINA_DECODE_MEMORY_MB" => self.decode_memory_mb = number()?.max(1),
            "CARINA_DEIDENTIFY" => self.deidentify = bool_value()?,
            "CARINA_OPEN_REGISTRATION" => self.open_registration = bool_value()?,
            "CARINA_DEFAULT_ROLE" => {
                self.default_role = Role::parse(value.trim())
                    .ok_or_else(|| err("expected admin, radiologist or viewer".into()))?
            }
            "CARINA_SESSION_HOURS" => self.session_hours = number()?,
            "CARINA_LOGIN_MAX_FAILURES" => self.login_max_failures = number()? as u32,
            "CARINA_LOGIN_WINDOW_MINUTES" => self.login_window_minutes = number()?,
            "CARINA_WORKER" => {
                self.worker = match value.trim() {
                    "inprocess" => WorkerMode::Inprocess,
                    "off" => WorkerMode::Off,
                    _ => return Err(err("expected inprocess or off".into())),
                }
            }
            "CARINA_WORKER_POLL_MS" => self.worker_poll_ms = number()?.max(10),
            "CARINA_PREDICT_ON_UPLOAD" => self.predict_on_upload = bool_value()?,
            "CARINA_JOB_MAX_ATTEMPTS" => self.job_max_attempts = number()?.clamp(1, 100) as u32,
            "CARINA_JOB_RETRY_BASE_MS" => self.job_retry_base_ms = number()?,
            "CARINA_JOB_LEASE_SECS" => self.job_lease_secs = number()?.max(1),
            "CARINA_BUNDLED_MODEL" => self.bundled_model = bool_value()?,
            "CARINA_MAX_BOXES" => {
                self.max_boxes = usize::try_from(number()?.max(1)).unwrap_or(usize::MAX)
            }
            "CARINA_RENDER_CACHE_MB" => self.render_cache_mb = number()?,
            "CARINA_TOKEN_DAYS" => self.token_default_days = number()?.clamp(1, 3650),
            "CARINA_SWEEP_MINUTES" => self.sweep_minutes = number()?,
            "CARINA_SWEEP_GRACE_SECS" => self.sweep_grace_secs = number()?,
            "CARINA_TRUSTED_PROXIES" => {
                self.trusted_proxies = client_ip::parse_list(value).map_err(err)?
            }
            "CARINA_ORIGINAL_FILENAMES" => {
                self.original_filenames = FilenamePolicy::parse(value)
                    .ok_or_else(|| err("expected auto, keep or extension".into()))?
            }
            "CARINA_BURNED_IN" => {
                self.burned_in = match value.trim().to_ascii_lowercase().as_str() {
                    "flag" => BurnedInPolicy::Flag,
                    "refuse" => BurnedInPolicy::Refuse,
                    _ => return Err(err("expected flag or refuse".into())),
                }
            }
            "CARINA_DICOM_BIND" => {
                self.dicom_bind = Some(value.trim().to_string()).filter(|v| !v.is_empty())
            }
            "CARINA_DICOM_TIMEOUT_SECS" => self.dicom_timeout_secs = number()?.clamp(1, 3600),
            "CARINA_DICOM_SEND_ON_SIGN" => {
                self.dicom_send_on_sign = Some(value.trim().to_string()).filter(|v| !v.is_empty())
            }
            "CARINA_DICOM_AE" => self.dicom_ae = value.to_string(),
            "CARINA_DICOM_PEERS" => {
                self.dicom_peers = crate::dicom::peers::DicomPeers::parse(value).map_err(err)?
            }
            // Other CARINA_* variables belong to other commands (CARINA_LOG, CARINA_CONFIG, ...).
            _ => {}
        }
        Ok(())
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> Secret {
        match &self.database_url {
            Some(url) => url.clone(),
            None => Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join("carina.db").display()
            )),
        }
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    pub fn job_backoff(&self, attempts: i64) -> std::time::Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
        let ms = self.job_retry_base_ms.saturating_mul(1u64 << doublings);
        std::time::Duration::from_millis(ms.min(600_000))
    }

    /// The file-name policy in effect (`auto` resolved).
    pub fn filename_policy(&self) -> FilenamePolicy {
        match self.original_filenames {
            FilenamePolicy::Auto if self.deidentify => FilenamePolicy::Extension,
            FilenamePolicy::Auto => FilenamePolicy::Keep,
            other => other,
        }
    }

    pub fn render_cache_bytes(&self) -> usize {
        usize::try_from(self.render_cache_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    pub fn max_upload_bytes(&self) -> usize {
        usize::try_from(self.max_upload_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    /// The inflated-size cap of deflated DICOM data sets, in bytes.
    pub fn max_inflated_bytes(&self) -> u64 {
        let mb = self
            .max_inflated_mb
            .unwrap_or_else(|| self.max_upload_mb.saturating_mul(4).min(1024));
        mb.saturating_mul(1024 * 1024)
    }

    /// What an uploaded file is held to.
    pub fn upload_limits(&self) -> carina_imaging::Limits {
        carina_imaging::Limits {
            max_bytes: self.max_upload_bytes() as u64,
            max_pixels: self.max_pixels,
            max_depth: self.max_dicom_depth.clamp(1, MAX_DICOM_DEPTH as u32),
            max_inflated_bytes: self.max_inflated_bytes(),
        }
    }

    /// What a stored file is held to when it is decoded again (render,
    /// reports, predictions): the upload limits but the file size, since a
    /// PNG upload is stored as a larger uncompressed DICOM.
    pub fn stored_limits(&self) -> carina_imaging::Limits {
        carina_imaging::Limits {
            max_bytes: u64::MAX,
            ..self.upload_limits()
        }
    }

    /// The decode budget in bytes.
    pub fn decode_memory_bytes(&self) -> u64 {
        self.decode_memory_mb.max(1).saturating_mul(1024 * 1024)
    }
}

/// The deepest `max_dicom_depth` allowed: the DICOM parser builds nested
/// sequences by recursion, and each level costs stack.
const MAX_DICOM_DEPTH: u64 = 128;

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_are_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("carina.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\nmax_upload_mb = 10\n").unwrap();
        let env = [
            ("CARINA_MAX_UPLOAD_MB".to_string(), "20".to_string()),
            (
                "CARINA_DATABASE_URL".to_string(),
                "postgres://u:hunter2@db/carina".to_string(),
            ),
            ("CARINA_DEFAULT_ROLE".to_string(), "viewer".to_string()),
        ];
        let c = Config::load(Some(&file), env).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.max_upload_mb, 20);
        assert_eq!(c.default_role, Role::Viewer);
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn bad_values_are_errors() {
        let env = [("CARINA_SECURE_COOKIES".to_string(), "maybe".to_string())];
        assert!(Config::load(None, env).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "no_such_key = 1\n").unwrap();
        assert!(Config::load(Some(&file), []).is_err());
    }

    #[test]
    fn job_backoff_doubles_and_is_capped() {
        let c = Config {
            job_retry_base_ms: 100,
            ..Config::default()
        };
        let ms = |a| c.job_backoff(a).as_millis();
        assert_eq!((ms(1), ms(2), ms(3), ms(4)), (100, 200, 400, 800));
        assert_eq!(ms(40), 600_000);
        let env = [("CARINA_WORKER".to_string(), "sometimes".to_string())];
        assert!(Config::load(None, env).is_err());
        let env = [("CARINA_WORKER".to_string(), "off".to_string())];
        assert_eq!(Config::load(None, env).unwrap().worker, WorkerMode::Off);
    }

    #[test]
    fn proxies_and_filename_policy() {
        let c = Config::default();
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.filename_policy(), FilenamePolicy::Extension);
        let env = [
            (
                "CARINA_TRUSTED_PROXIES".to_string(),
                "127.0.0.1, 10.0.0.0/8".to_string(),
            ),
            ("CARINA_DEIDENTIFY".to_string(), "false".to_string()),
        ];
        let c = Config::load(None, env).unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.filename_policy(), FilenamePolicy::Keep);
        let env = [("CARINA_ORIGINAL_FILENAMES".to_string(), "keep".to_string())];
        assert_eq!(
            Config::load(None, env).unwrap().filename_policy(),
            FilenamePolicy::Keep
        );
        for (var, bad) in [
            ("CARINA_TRUSTED_PROXIES", "proxy.local"),
            ("CARINA_ORIGINAL_FILENAMES", "some"),
        ] {
            assert!(
                Config::load(None, [(var.to_string(), bad.to_string())]).is_err(),
                "{var}={bad}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "trusted_proxies = [\"::1\"]\noriginal_filenames = \"extension\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), []).unwrap();
        assert_eq!(c.trusted_proxies.len(), 1);
        std::fs::write(&file, "trusted_proxies = [\"nope\"]\n").unwrap();
        assert!(Config::load(Some(&file), []).is_err());
    }

    #[test]
    fn image_limits_and_decode_budget() {
        let c = Config::default();
        assert_eq!(c.max_pixels, 50_000_000);
        let l = c.upload_limits();
        assert_eq!(l.max_depth, 16);
        // min(4 × 512 MiB, 1 GiB)
        assert_eq!(l.max_inflated_bytes, 1 << 30);
        assert_eq!(l.max_bytes, 512 << 20);
        assert_eq!(c.stored_limits().max_bytes, u64::MAX);
        assert_eq!(c.decode_memory_bytes(), 512 << 20);
        let env = [
            ("CARINA_MAX_UPLOAD_MB".to_string(), "100".to_string()),
            ("CARINA_MAX_DICOM_DEPTH".to_string(), "32".to_string()),
            ("CARINA_DECODE_MEMORY_MB".to_string(), "64".to_string()),
            ("CARINA_MAX_PIXELS".to_string(), "1000".to_string()),
        ];
        let c = Config::load(None, env).unwrap();
        let l = c.upload_limits();
        assert_eq!((l.max_depth, l.max_pixels), (32, 1000));
        assert_eq!(l.max_inflated_bytes, 400 << 20);
        assert_eq!(c.decode_memory_bytes(), 64 << 20);
        let env = [("CARINA_MAX_INFLATED_MB".to_string(), "8".to_string())];
        let c = Config::load(None, env).unwrap();
        assert_eq!(c.upload_limits().max_inflated_bytes, 8 << 20);
        for bad in ["0", "129", "deep"] {
            let env = [("CARINA_MAX_DICOM_DEPTH".to_string(), bad.to_string())];
            assert!(Config::load(None, env).is_err(), "{bad}");
        }
    }

    #[test]
    fn sweep_settings() {
        let c = Config::default();
        assert_eq!((c.sweep_minutes, c.sweep_grace_secs), (60, 3600));
        let env = [
            ("CARINA_SWEEP_MINUTES".to_string(), "0".to_string()),
            ("CARINA_SWEEP_GRACE_SECS".to_string(), "5".to_string()),
        ];
        let c = Config::load(None, env).unwrap();
        assert_eq!((c.sweep_minutes, c.sweep_grace_secs), (0, 5));
        let env = [("CARINA_SWEEP_MINUTES".to_string(), "hourly".to_string())];
        assert!(Config::load(None, env).is_err());
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let c = Config::default();
        assert!(c.database_url().expose().starts_with("sqlite://"));
        assert!(c.database_url().expose().ends_with("carina.db"));
    }
}
