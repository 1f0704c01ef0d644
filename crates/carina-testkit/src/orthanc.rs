//! A real PACS for tests: Debian's `Orthanc`, started on free loopback
//! ports with a configuration written here (no authentication, remote access
//! off, the modalities the test names), stopped (and its storage removed)
//! when dropped. Missing binary: skipped with a note, or a failure under `CI`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Orthanc.
pub struct Orthanc {
    child: Child,
    /// Orthanc's REST API port on 127.0.0.1.
    pub http_port: u16,
    /// Orthanc's DICOM port on 127.0.0.1.
    pub dicom_port: u16,
    /// Orthanc's AE title.
    pub ae_title: String,
    dir: tempfile::TempDir,
}

/// A DICOM modality Orthanc knows: `(name, AE title, host, port)`.
pub type Modality<'a> = (&'a str, &'a str, &'a str, u16);

/// The Orthanc binary, if installed.
pub fn binary() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.into_iter()
        .map(|d| d.join("Orthanc"))
        .find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Orthanc {
    /// Ports chosen now, so that a test can configure its peer before
    /// [`Orthanc::start`]; `None` (with a note) when Orthanc is not installed
    /// and `CI` is unset.
    pub fn ports() -> Option<(u16, u16)> {
        if binary().is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but Orthanc is not installed (scripts/test.sh installs Debian's orthanc)"
            );
            eprintln!("note: Orthanc is not installed; skipping the Orthanc test");
            return None;
        }
        Some((free_port(), free_port()))
    }

    /// Starts Orthanc (AE title `ORTHANC`) on `(http_port, dicom_port)` and
    /// waits until its REST API answers.
    pub fn start(ports: (u16, u16), modalities: &[Modality<'_>]) -> Orthanc {
        Self::start_with(ports, modalities, serde_json::Value::Null)
    }

    /// Debian's DICOMweb plugin (`orthanc-dicomweb`), when installed; under
    /// `CI` it must be (scripts/test.sh installs it).
    pub fn dicomweb_plugin() -> Option<PathBuf> {
        let path = PathBuf::from("/usr/share/orthanc/plugins/libOrthancDicomWeb.so");
        if path.exists() {
            return Some(path);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Orthanc's DICOMweb plugin is not installed (orthanc-dicomweb)"
        );
        eprintln!("note: orthanc-dicomweb is not installed; skipping the test");
        None
    }

    /// [`Orthanc::start`] with the DICOMweb plugin and `servers` as its
    /// `DicomWeb.Servers` (remote DICOMweb servers Orthanc may query, retrieve
    /// from and store to); `Null` starts Orthanc without plugins.
    pub fn start_with(
        (http_port, dicom_port): (u16, u16),
        modalities: &[Modality<'_>],
        servers: serde_json::Value,
    ) -> Orthanc {
        let bin = binary().expect("Orthanc::ports checked the binary");
        let dir = tempfile::Builder::new()
            .prefix("carina-orthanc")
            .tempdir()
            .expect("a temporary directory");
        let mut mods = serde_json::Map::new();
        for (name, aet, host, port) in modalities {
            mods.insert(name.to_string(), serde_json::json!([aet, host, port]));
        }
        let config = serde_json::json!({
            "Name": "carina-test",
            "StorageDirectory": dir.path().join("storage"),
            "IndexDirectory": dir.path().join("storage"),
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "DicomCheckCalledAet": false,
            "DicomModalities": mods,
            "Plugins": [],
            "StableAge": 1,
        });
        let mut config = config;
        if !servers.is_null() {
            let plugin = Self::dicomweb_plugin().expect("the DICOMweb plugin is installed");
            config["Plugins"] = serde_json::json!([plugin]);
            config["DicomWeb"] = serde_json::json!({"Enable": true, "Servers": servers});
        }
        let config_path = dir.path().join("orthanc.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.path().join("orthanc.log")).unwrap();
        let child = Command::new(bin)
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start Orthanc");
        let mut orthanc = Orthanc {
            child,
            http_port,
            dicom_port,
            ae_title: "ORTHANC".into(),
            dir,
        };
        let start = Instant::now();
        loop {
            if let Ok((200, _)) = orthanc.try_request("GET", "/system", b"") {
                return orthanc;
            }
            if let Ok(Some(status)) = orthanc.child.try_wait() {
                panic!("Orthanc exited ({status}):\n{}", orthanc.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Orthanc did not answer within 30 s:\n{}",
                orthanc.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Orthanc's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("orthanc.log")).unwrap_or_default()
    }

    /// `GET path` on the REST API: the status and the JSON body.
    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.json("GET", path, b"")
    }

    /// `POST path` with `body`: the status and the JSON body.
    pub fn post(&self, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
        self.json("POST", path, body)
    }

    fn json(&self, method: &str, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
        let (status, bytes) = self
            .try_request(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path} on Orthanc: {e}\n{}", self.log()));
        let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, value)
    }

    /// One HTTP/1.1 request with `Connection: close`.
    fn try_request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http_port))?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        s.write_all(body)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no HTTP header end"))?;
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {head:?}")))?;
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Ok((status, body))
    }
}

/// The body of a chunked HTTP response.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || data.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
    out
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
