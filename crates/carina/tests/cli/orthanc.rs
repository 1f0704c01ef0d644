//! Carina's DICOM node with a real PACS (Debian's Orthanc, started by
//! carina-testkit on loopback ports): Orthanc pushes an instance to Carina
//! (`POST /modalities/carina/store`), and Carina sends an image's SR to
//! Orthanc, which then holds it; with Orthanc's DICOMweb plugin, Orthanc
//! stores into Carina by STOW-RS, searches it by QIDO-RS and retrieves the
//! de-identified study by WADO-RS.

use crate::dicom::{sample, start};
use carina_testkit::orthanc::Orthanc;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const COMPREHENSIVE_3D_SR: &str = "1.2.840.10008.5.1.4.1.1.88.34";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orthanc_pushes_to_carina_and_holds_the_sr_carina_sends() {
    let Some(ports) = Orthanc::ports() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let peers = format!("ORTHANC@127.0.0.1:{}", ports.1);
    let node = start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        &[("CARINA_DICOM_PEERS", &peers)],
    )
    .await;
    let orthanc = Orthanc::start(ports, &[("carina", "CARINA", "127.0.0.1", node.port)]);

    // Orthanc receives a radiograph over its REST API and pushes it to Carina.
    let file = std::fs::read(sample("siim_cr_jpeg_baseline.dcm")).unwrap();
    let (status, added) = orthanc.post("/instances", &file);
    assert_eq!(status, 200, "{added}");
    let instance = added["ID"].as_str().unwrap().to_string();
    let body = json!({"Resources": [instance], "Synchronous": true}).to_string();
    let (status, pushed) = orthanc.post("/modalities/carina/store", body.as_bytes());
    assert_eq!(status, 200, "{pushed}\n{}", orthanc.log());
    let images = node.images().await;
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0]["created_by"], "dicom:ORTHANC");
    let id = images[0]["id"].as_i64().unwrap();

    // A reviewed box, then its SR sent back to Orthanc.
    let r = node
        .req(Method::PUT, &format!("/api/v1/images/{id}/annotations"))
        .header("If-Match", images[0]["annotation_version"].to_string())
        .json(&json!({"boxes": [{"class_id": 0, "bbox": [40, 50, 200, 180]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = node
        .req(Method::POST, &format!("/api/v1/images/{id}/send"))
        .json(&json!({"destination": "ORTHANC", "what": "sr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let job_id = job["job"]["id"].as_i64().unwrap();
    let start = Instant::now();
    let job = loop {
        let j: Value = node
            .get(&format!("/api/v1/jobs/{job_id}"))
            .await
            .json()
            .await
            .unwrap();
        if j["status"] == "done" || j["status"] == "failed" {
            break j;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["status"], "done", "{job}\n{}", orthanc.log());
    let sr_uid = job["result"]["sent"][0]["sop_instance_uid"]
        .as_str()
        .unwrap()
        .to_string();

    // Orthanc holds the SR: a Comprehensive 3D SR with that SOP Instance UID.
    let (status, ids) = orthanc.get("/instances");
    assert_eq!(status, 200);
    let held: Vec<Value> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            orthanc
                .get(&format!(
                    "/instances/{}/simplified-tags",
                    i.as_str().unwrap()
                ))
                .1
        })
        .filter(|tags| tags["SOPClassUID"] == COMPREHENSIVE_3D_SR)
        .collect();
    assert_eq!(held.len(), 1, "{ids}");
    assert_eq!(held[0]["SOPInstanceUID"], sr_uid.as_str());
    assert_eq!(held[0]["Modality"], "SR");
    let (_, stats) = orthanc.get("/statistics");
    assert_eq!(stats["CountInstances"], 2, "the radiograph and the SR");
}

/// Orthanc's DICOMweb plugin (`orthanc-dicomweb`) as a client of Carina's
/// `/dicom-web`, with a Bearer token: STOW-RS of an instance Orthanc holds,
/// QIDO-RS of the studies, WADO-RS of the study back into Orthanc, which then
/// holds Carina's de-identified copy beside the original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orthancs_dicomweb_plugin_stores_searches_and_retrieves() {
    let Some(ports) = Orthanc::ports() else {
        return;
    };
    if Orthanc::dicomweb_plugin().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = start(&dir.path().join("data"), &dir.path().join("serve.log"), &[]).await;
    let servers = json!({"carina": {
        "Url": format!("{}/dicom-web/", node.proc.base),
        "HttpHeaders": {"Authorization": format!("Bearer {}", node.token())},
    }});
    let orthanc = Orthanc::start_with(ports, &[], servers);

    // STOW-RS: Orthanc sends an instance it holds to Carina.
    let file = std::fs::read(sample("siim_cr_jpeg_baseline.dcm")).unwrap();
    let (status, added) = orthanc.post("/instances", &file);
    assert_eq!(status, 200, "{added}");
    let original = added["ID"].as_str().unwrap().to_string();
    let (_, tags) = orthanc.get(&format!("/instances/{original}/simplified-tags"));
    let body = json!({"Resources": [original]}).to_string();
    let (status, stowed) = orthanc.post("/dicom-web/servers/carina/stow", body.as_bytes());
    let serve_log = || std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    assert_eq!(status, 200, "{stowed}\n{}\n{}", orthanc.log(), serve_log());
    let images = node.images().await;
    assert_eq!(images.len(), 1, "{images:?}");

    // QIDO-RS: the study Carina lists is the de-identified one.
    let body = json!({"Uri": "/studies"}).to_string();
    let (status, studies) = orthanc.post("/dicom-web/servers/carina/get", body.as_bytes());
    assert_eq!(status, 200, "{studies}\n{}", orthanc.log());
    let studies = studies
        .as_array()
        .expect("a QIDO-RS answer is a JSON array");
    assert_eq!(studies.len(), 1, "{studies:?}");
    let uid = studies[0]["0020000D"]["Value"][0]
        .as_str()
        .expect("StudyInstanceUID")
        .to_string();
    assert_ne!(
        uid,
        tags["StudyInstanceUID"].as_str().unwrap(),
        "pseudonymised"
    );

    // WADO-RS: Orthanc retrieves that study and now holds both copies.
    let body = json!({"Resources": [{"Study": uid}]}).to_string();
    let (status, got) = orthanc.post("/dicom-web/servers/carina/retrieve", body.as_bytes());
    assert_eq!(status, 200, "{got}\n{}", orthanc.log());
    let (_, stats) = orthanc.get("/statistics");
    assert_eq!(stats["CountInstances"], 2, "the original and Carina's copy");
    let (_, ids) = orthanc.get("/instances");
    let copy: Vec<Value> = ids
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i.as_str() != Some(original.as_str()))
        .map(|i| {
            let path = format!("/instances/{}/simplified-tags", i.as_str().unwrap());
            orthanc.get(&path).1
        })
        .collect();
    assert_eq!(copy.len(), 1);
    assert_eq!(copy[0]["StudyInstanceUID"], uid.as_str());
    assert_ne!(
        copy[0]["PatientName"], tags["PatientName"],
        "no original name"
    );
    assert_ne!(copy[0]["SOPInstanceUID"], tags["SOPInstanceUID"]);
}
