//! `CARINA_DICOM_SEND_ON_SIGN`: signing a report queues one send job that
//! C-STOREs the report's SR (TID 2000) and its PDF as an Encapsulated PDF
//! to dcmtk's `storescp` (a real SCP, writing into a temporary folder). The
//! PDF inside is byte for byte `GET /reports/{id}.pdf`, `dcm2pdf` reads it
//! back, `dsrdump` reads the SR. Without dcmtk it skips with a note, except
//! under CI.

use crate::helpers::*;
use crate::send::wait;
use crate::sr::served_ref;
use carina_server::dicom::peers::DicomPeers;
use dicom_dictionary_std::tags;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// dcmtk's storescp on a free loopback port; killed when dropped.
struct StoreScp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for StoreScp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StoreScp {
    fn start() -> Option<StoreScp> {
        if Command::new("storescp").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have dcmtk's storescp"
            );
            eprintln!("note: storescp (dcmtk) is not installed; skipping");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("storescp")
            .args(["--aetitle", "STORESCP", "--output-directory"])
            .arg(dir.path())
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let scp = StoreScp { child, port, dir };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "storescp did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(scp)
    }

    /// The files storescp wrote, by SOP class.
    fn received(&self) -> Vec<(String, PathBuf)> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let class = carina_sr::media_storage_sop_class(&std::fs::read(&p).unwrap())
                    .unwrap_or_default();
                (class, p)
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    on_sign(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    on_sign(Backend::Postgres).await
}

async fn on_sign(backend: Backend) {
    let Some(scp) = StoreScp::start() else {
        return;
    };
    let peers = format!("STORESCP@127.0.0.1:{}", scp.port);
    let tweak = move |c: &mut carina_server::Config| {
        c.dicom_peers = DicomPeers::parse(&peers).unwrap();
        c.dicom_send_on_sign = Some("STORESCP".into());
    };
    let scp = std::sync::Arc::new(scp);
    run_with(backend, tweak, move |app| scenario(app, scp)).await
}

async fn scenario(app: TestApp, scp: std::sync::Arc<StoreScp>) {
    let (_admin, rad, _viewer) = app.team().await;
    let (_, peers) = app.get_json("/api/v1/dicom/peers", &rad).await;
    assert_eq!(peers["send_on_sign"], "STORESCP");
    let image = app
        .upload_ok(&rad, "cr.dcm", sample("dicom/siim_cr_jpeg_baseline.dcm"))
        .await;
    let id = image["id"].as_i64().unwrap();
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", "0")
        .json(&json!({"boxes": [{"class_id": 0, "bbox": [10.5, 20.0, 110.25, 70.0]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/reports"),
            Some(&rad),
        )
        .json(&json!({"impression": "Nodule, right lower zone."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let report_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (_, jobs) = app.get_json("/api/v1/jobs?kind=send", &rad).await;
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        0,
        "a draft is not sent"
    );
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/reports/{report_id}/sign"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    // One job: the report, on its image.
    let (_, jobs) = app.get_json("/api/v1/jobs?kind=send", &rad).await;
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0]["payload"],
        json!({"destination": "STORESCP", "what": "report", "report_id": report_id})
    );
    let job = wait(&app, &rad, jobs[0]["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["report_id"], report_id);
    let sent: Vec<&str> = job["result"]["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["what"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["report_sr", "report_pdf"]);
    let (_, shown) = app.get_json(&format!("/api/v1/images/{id}"), &rad).await;
    assert_eq!(shown["send_status"], "done");

    let received = scp.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let find = |class: &str| {
        received
            .iter()
            .find(|(c, _)| c == class)
            .unwrap_or_else(|| panic!("no {class} received: {received:?}"))
            .1
            .clone()
    };
    let served = served_ref(&app, &rad, id).await;
    report_sr_arrived(&find(carina_sr::COMPREHENSIVE_SR), &served);
    let pdf = app
        .req(
            Method::GET,
            &format!("/api/v1/reports/{report_id}.pdf"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    let pdf = pdf.bytes().await.unwrap().to_vec();
    encapsulated_pdf_arrived(&find(carina_sr::ENCAPSULATED_PDF), &pdf, &served);
}

/// dsrdump reads the report SR: the impression, the finding, the image.
fn report_sr_arrived(path: &Path, served: &carina_sr::SrImageRef) {
    let out = Command::new("dsrdump")
        .arg("+Pu")
        .arg(path)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dsrdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dump.contains("Diagnostic imaging report"), "{dump}");
    assert!(dump.contains("Nodule, right lower zone."), "{dump}");
    assert!(dump.contains("\"Atelectasis\""), "{dump}");
    assert!(dump.contains("(POLYLINE,10.5/20,"), "{dump}");
    assert!(dump.contains(&served.sop_instance_uid), "{dump}");
}

/// The Encapsulated PDF: patient and study of the served file, the PDF byte
/// for byte (dcm2pdf gives it back, with 3.6.7 the padding NUL after it).
fn encapsulated_pdf_arrived(path: &Path, pdf: &[u8], served: &carina_sr::SrImageRef) {
    let obj = dicom_object::open_file(path).unwrap();
    let text = |tag| {
        obj.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(['\0', ' '])
            .to_string()
    };
    assert_eq!(text(tags::PATIENT_ID), served.patient_id);
    assert_eq!(text(tags::STUDY_INSTANCE_UID), served.study_instance_uid);
    assert_eq!(
        text(tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT),
        "application/pdf"
    );
    assert_eq!(text(tags::BURNED_IN_ANNOTATION), "YES");
    let len = obj
        .element(tags::ENCAPSULATED_DOCUMENT_LENGTH)
        .unwrap()
        .to_int::<u32>()
        .unwrap() as usize;
    let doc = obj
        .element(tags::ENCAPSULATED_DOCUMENT)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(len, pdf.len());
    assert_eq!(
        &doc[..len],
        pdf,
        "the PDF inside is GET /reports/{{id}}.pdf"
    );
    let out_pdf = path.with_extension("extracted.pdf");
    let out = Command::new("dcm2pdf")
        .arg(path)
        .arg(&out_pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dcm2pdf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = std::fs::read(&out_pdf).unwrap();
    assert_eq!(&back[..pdf.len()], pdf);
    assert!(back[pdf.len()..].iter().all(|&b| b == 0) && back.len() <= pdf.len() + 1);
}
