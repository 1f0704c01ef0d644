//! The DICOM node of `carina serve` against real dcmtk (`echoscu`,
//! `storescu`) and a raw TCP client: the shared sample DICOMs arrive
//! de-identified in the library; unknown callers, unsupported SOP classes,
//! refused instances, truncated and stalled peers get what a PACS expects.

use crate::procs::{self, Proc};
use carina_net::dimse::{self, Command};
use dicom_ul::pdu::{
    AssociationRQ, PDataValue, PDataValueType, Pdu, PresentationContextProposed, UserVariableItem,
};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};
use std::time::{Duration, Instant};

const CR: &str = "1.2.840.10008.5.1.4.1.1.1";

pub struct Node {
    pub proc: Proc,
    pub port: u16,
    token: String,
    client: reqwest::Client,
}

/// `carina serve` with a DICOM node on a free port, and an admin token.
pub async fn start(data: &Path, log: &Path, env: &[(&str, &str)]) -> Node {
    let mut all = vec![
        ("CARINA_DICOM_BIND", "127.0.0.1:0"),
        ("CARINA_BUNDLED_MODEL", "false"),
    ];
    all.extend_from_slice(env);
    let proc = procs::serve(data, &all, log);
    let text = proc.wait_log("DICOM node listening", 1, Duration::from_secs(30));
    let port = text
        .lines()
        .find(|l| l.contains("DICOM node listening"))
        .and_then(|l| l.split("addr=127.0.0.1:").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no DICOM port in the log:\n{}", procs::tail(&text)));
    let client = reqwest::Client::new();
    let token = procs::accounts(&client, &proc.base, &["admin"])
        .await
        .remove(0);
    Node {
        proc,
        port,
        token,
        client,
    }
}

impl Node {
    /// The admin's API token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A request to the HTTP API with the admin's token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.proc.base))
            .bearer_auth(&self.token)
    }
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::GET, path).send().await.unwrap()
    }
    pub async fn images(&self) -> Vec<Value> {
        let r = self.get("/api/v1/images?per_page=100").await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["images"].as_array().unwrap().clone()
    }
    fn echoscu(&self, aet: &str) -> Output {
        dcmtk(
            "echoscu",
            &[
                "-aet",
                aet,
                "-aec",
                "CARINA",
                "127.0.0.1",
                &self.port.to_string(),
            ],
        )
    }
    pub fn storescu(&self, aet: &str, flags: &[&str], files: &[&Path]) -> Output {
        let port = self.port.to_string();
        let mut args: Vec<&str> = vec!["-v", "-aet", aet, "-aec", "CARINA"];
        args.extend_from_slice(flags);
        args.extend(["127.0.0.1", port.as_str()]);
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        args.extend(files.iter().map(String::as_str));
        dcmtk("storescu", &args)
    }
}

pub fn dcmtk(tool: &str, args: &[&str]) -> Output {
    Process::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (dcmtk, installed by scripts/test.sh): {e}"))
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn sample(name: &str) -> PathBuf {
    crate::shared_dir().join("data/samples/dicom").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmtk_echo_and_store_the_samples_deidentified() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        &[("CARINA_DICOM_PEERS", "STORESCU,ECHOSCU")],
    )
    .await;
    let echo = node.echoscu("ECHOSCU");
    assert!(echo.status.success(), "echoscu: {}", text(&echo));

    // storescu proposes one transfer syntax family per run.
    for (file, flags) in [
        ("RG1_UNCR.dcm", &[][..]),
        ("RG1_J2KR.dcm", &["-xv"][..]),
        ("siim_cr_jpeg_baseline.dcm", &["-xy"][..]),
    ] {
        let out = node.storescu("STORESCU", flags, &[&sample(file)]);
        assert!(out.status.success(), "storescu {file}: {}", text(&out));
        assert!(
            text(&out).contains("Received Store Response (Success)"),
            "{}",
            text(&out)
        );
    }
    let images = node.images().await;
    assert_eq!(images.len(), 3, "{images:?}");
    for image in &images {
        assert_eq!(image["created_by"], "dicom:STORESCU", "{image}");
        assert_eq!(image["format"], "dicom");
        let id = image["id"].as_i64().unwrap();
        let file = node.get(&format!("/api/v1/images/{id}/file")).await;
        assert_eq!(file.status(), 200);
        let bytes = file.bytes().await.unwrap();
        let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(
            !find(b"CompressedSamples^RG1"),
            "image {id}: the patient's name left"
        );
        assert!(
            !find(b"1.3.6.1.4.1.5962.1.2.9.20040826185059.5457"),
            "image {id}: the original study UID left"
        );
    }
    // The same instance again is the same image (sha256 reuse).
    let out = node.storescu("STORESCU", &[], &[&sample("RG1_UNCR.dcm")]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(node.images().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmtk_unknown_callers_unsupported_classes_and_refused_instances() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        &[
            ("CARINA_DICOM_PEERS", "STORESCU,ORTHANC@127.0.0.1:4242"),
            ("CARINA_MAX_UPLOAD_MB", "5"),
        ],
    )
    .await;
    // A calling AE title that is not configured: association rejected.
    let echo = node.echoscu("STRANGER");
    assert!(!echo.status.success());
    assert!(
        text(&echo).contains("Calling AE Title Not Recognized"),
        "{}",
        text(&echo)
    );
    let out = node.storescu(
        "STRANGER",
        &["-xy"],
        &[&sample("siim_cr_jpeg_baseline.dcm")],
    );
    assert!(!out.status.success(), "{}", text(&out));

    // An SOP class Carina does not take (the CR sample relabelled as MR):
    // its context is refused, the association carries the next file.
    let mr = dir.path().join("mr.dcm");
    let cr = std::fs::read(sample("RG1_UNCR.dcm")).unwrap();
    std::fs::write(
        &mr,
        replace_all(
            &cr,
            b"1.2.840.10008.5.1.4.1.1.1\0",
            b"1.2.840.10008.5.1.4.1.1.4\0",
        ),
    )
    .unwrap();
    let out = node.storescu(
        "STORESCU",
        &["-xy", "-nh"],
        &[&mr, &sample("siim_cr_jpeg_baseline.dcm")],
    );
    let t = text(&out);
    assert!(t.contains("No presentation context for: (MR)"), "{t}");
    assert!(t.contains("Received Store Response (Success)"), "{t}");
    // storescu proposed MR (its files' classes) and the association was
    // accepted: only that context was refused.
    assert!(t.contains("Association Accepted"), "{t}");
    assert_eq!(node.images().await.len(), 1);

    // A DICOM file without pixel data, and one over the size limit: failure statuses.
    let siim = std::fs::read(sample("siim_cr_jpeg_baseline.dcm")).unwrap();
    let at = siim
        .windows(4)
        .rposition(|w| w == b"\xe0\x7f\x10\x00")
        .unwrap();
    let nopix = dir.path().join("nopix.dcm");
    std::fs::write(&nopix, &siim[..at]).unwrap();
    let out = node.storescu("STORESCU", &["-xy"], &[&nopix]);
    assert!(
        text(&out).contains("Received Store Response (Error: CannotUnderstand)"),
        "{}",
        text(&out)
    );
    let out = node.storescu("STORESCU", &[], &[&sample("RG1_UNCR.dcm")]);
    assert!(
        text(&out).contains("Received Store Response (Refused: OutOfResources)"),
        "{}",
        text(&out)
    );
    assert_eq!(
        node.images().await.len(),
        1,
        "refused instances store nothing"
    );
    let log = node.proc.log_text();
    assert!(log.contains("no pixel data"), "{}", procs::tail(&log));
    assert!(
        log.contains("CARINA_MAX_UPLOAD_MB") || log.contains("limit"),
        "{}",
        procs::tail(&log)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_stalled_peers_are_aborted_and_the_node_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        &[("CARINA_DICOM_TIMEOUT_SECS", "2")],
    )
    .await;
    // A data set cut off in the middle of a P-DATA PDU, then the connection closed.
    let mut s = associate(node.port);
    send_store_start(&mut s, 1000, 100);
    s.shutdown(std::net::Shutdown::Write).unwrap();
    drain(&mut s, Duration::from_secs(10));
    node.proc
        .wait_log("DICOM association aborted", 1, Duration::from_secs(10));

    // A peer that stops sending mid-PDU: closed after the timeout.
    let mut s = associate(node.port);
    send_store_start(&mut s, 1000, 100);
    let started = Instant::now();
    drain(&mut s, Duration::from_secs(15));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    let log = node
        .proc
        .wait_log("DICOM association aborted", 2, Duration::from_secs(10));
    assert!(log.contains("no PDU within 2"), "{}", procs::tail(&log));

    // A connection that never associates: closed after the timeout too.
    let mut s = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    drain(&mut s, Duration::from_secs(15));

    // The node still serves, and nothing panicked.
    let echo = node.echoscu("ECHOSCU");
    assert!(echo.status.success(), "{}", text(&echo));
    let out = node.storescu("ANY", &["-xy"], &[&sample("siim_cr_jpeg_baseline.dcm")]);
    assert!(out.status.success(), "{}", text(&out));
    let log = node.proc.log_text();
    assert!(!log.contains("panicked"), "{}", procs::tail(&log));
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = data.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Opens an association for CR in Explicit VR Little Endian by hand.
fn associate(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let rq = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: "RAWTCP".into(),
        called_ae_title: "CARINA".into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: vec![PresentationContextProposed {
            id: 1,
            abstract_syntax: CR.into(),
            transfer_syntaxes: vec!["1.2.840.10008.1.2.1".into()],
        }],
        user_variables: vec![UserVariableItem::MaxLength(16_384)],
    });
    let mut bytes = Vec::new();
    dicom_ul::write_pdu(&mut bytes, &rq).unwrap();
    s.write_all(&bytes).unwrap();
    let mut head = [0u8; 6];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x02, "A-ASSOCIATE-AC expected");
    let len = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let mut rest = vec![0u8; len];
    s.read_exact(&mut rest).unwrap();
    s
}

/// Sends a C-STORE-RQ and then a P-DATA PDU that announces `declared` data
/// bytes but carries only `sent`.
fn send_store_start(s: &mut TcpStream, declared: u32, sent: usize) {
    let rq = Command {
        field: dimse::C_STORE_RQ,
        message_id: 1,
        sop_class_uid: CR.into(),
        sop_instance_uid: "1.2.3.4".into(),
        data_set_present: true,
        ..Command::default()
    };
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: 1,
            value_type: PDataValueType::Command,
            is_last: true,
            data: rq.encode(),
        }],
    };
    let mut bytes = Vec::new();
    dicom_ul::write_pdu(&mut bytes, &pdu).unwrap();
    // P-DATA-TF: type 4, length; one PDV item: length, context 1, data fragment, not last.
    bytes.extend_from_slice(&[0x04, 0x00]);
    bytes.extend_from_slice(&(declared + 6).to_be_bytes());
    bytes.extend_from_slice(&(declared + 2).to_be_bytes());
    bytes.extend_from_slice(&[0x01, 0x00]);
    bytes.extend(std::iter::repeat_n(0x42u8, sent));
    s.write_all(&bytes).unwrap();
}

/// Reads until the node closes the connection (an A-ABORT may come first).
fn drain(s: &mut TcpStream, limit: Duration) {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("the node did not close the connection within {limit:?}: {e}"),
        }
    }
}

#[test]
fn bad_dicom_settings_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, says) in [
        ("CARINA_DICOM_PEERS", "ORTHANC@localhost", "port"),
        ("CARINA_DICOM_AE", "NAME_LONGER_THAN_16", "16 characters"),
        ("CARINA_DICOM_BIND", "11112", "host:port"),
    ] {
        let out = Process::new(env!("CARGO_BIN_EXE_carina"))
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .env(var, value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}={value} started");
        assert!(
            err.contains(var) && err.contains(says),
            "{var}={value}: {err}"
        );
    }
}
