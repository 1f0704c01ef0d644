//! Other readers of Carina's SRs over HTTP: dcmtk's `dsrdump` and highdicom
//! (`srread`, `MeasurementReport.from_sequence`) read `GET /images/{id}/sr`
//! and find each box; an SR highdicom writes about a served image imports as
//! a manual box; a signed report's SR (`GET /reports/{id}/sr`) reads in both.
//! Without dcmtk or `CARINA_TEST_HIGHDICOM_PYTHON` the external parts skip
//! with a note, except under CI.

use crate::both_backends;
use crate::helpers::*;
use crate::reports::{ok_json, send};
use crate::sr::{get_sr, image_with_boxes, post_sr, served_ref};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

both_backends!(sr_read_by_dcmtk_and_highdicom, report_sr_route);

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../carina-sr/tests/highdicom_sr.py"
);

fn required() -> bool {
    std::env::var_os("CI").is_some()
}

fn python() -> Option<String> {
    match std::env::var("CARINA_TEST_HIGHDICOM_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(!required(), "CI must set CARINA_TEST_HIGHDICOM_PYTHON");
            eprintln!("note: CARINA_TEST_HIGHDICOM_PYTHON is not set; skipping highdicom");
            None
        }
    }
}

fn highdicom(python: &str, args: &[&Path], mode: &str) -> Value {
    let out = Command::new(python)
        .args(["-W", "ignore", SCRIPT, mode])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "highdicom {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// dsrdump's full dump of `path`, asserting it read without a warning;
/// `None` when dcmtk is not installed.
fn dsrdump(path: &Path) -> Option<String> {
    if Command::new("dsrdump").arg("--version").output().is_err() {
        assert!(!required(), "CI must have dcmtk's dsrdump");
        eprintln!("note: dsrdump (dcmtk) is not installed; skipping");
        return None;
    }
    let out = Command::new("dsrdump")
        .args(["-v", "+Pl", "+Pu", "+Pc"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dsrdump failed:\n{stderr}");
    assert!(
        !stderr
            .lines()
            .chain(stdout.lines())
            // dcmtk's one remark on UTF-8 text (ISO_IR 192), which it reads.
            .filter(|l| !l.contains("does not support this Specific Character Set: ISO_IR 192"))
            .any(|l| l.starts_with("W:") || l.starts_with("E:")),
        "dsrdump warned:\n{stderr}{stdout}"
    );
    Some(stdout)
}

async fn sr_read_by_dcmtk_and_highdicom(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let (id, _) = image_with_boxes(&app, &rad, 5).await;
    let image = served_ref(&app, &rad, id).await;
    let sr = get_sr(&app, &rad, id, "?include=proposals").await;
    let ours = carina_sr::read_measurement_report(&sr).unwrap();
    assert_eq!(ours.boxes.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.sr.dcm");
    std::fs::write(&path, &sr).unwrap();
    if let Some(dump) = dsrdump(&path) {
        assert!(dump.contains("Imaging Measurement Report"), "{dump}");
        assert!(dump.contains(&image.sop_instance_uid));
        for b in &ours.boxes {
            assert!(dump.contains(b.tracking_uid.as_deref().unwrap()), "{dump}");
            assert!(dump.contains(&format!("({},{},", b.finding.value, b.finding.scheme)));
        }
        assert!(dump.contains("=\"rad\""), "person observer: {dump}");
        assert!(dump.contains("=\"effdet-d0\""), "device observer: {dump}");
    }
    let Some(py) = python() else { return };
    let read = highdicom(&py, &[&path], "read");
    let groups = read["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{read}");
    for (g, b) in groups.iter().zip(&ours.boxes) {
        assert_eq!(g["tracking_uid"].as_str(), b.tracking_uid.as_deref());
        assert_eq!(
            g["finding"]["value"].as_str(),
            Some(b.finding.value.as_str())
        );
        assert_eq!(
            g["referenced_sop_instance_uid"],
            image.sop_instance_uid.as_str()
        );
        let data: Vec<f64> = g["graphic_data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        let [x0, y0, x1, y1] = b.bbox.to_array();
        assert_eq!(data, vec![x0, y0, x1, y0, x1, y1, x0, y1, x0, y0]);
    }

    // A viewer's SR (highdicom's API) about the served image: a manual box.
    let file = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/file"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let image_path = dir.path().join("image.dcm");
    std::fs::write(&image_path, &file).unwrap();
    let theirs = dir.path().join("viewer.sr.dcm");
    let wrote = highdicom(&py, &[&image_path, &theirs], "write-on");
    let r = post_sr(&app, &rad, id, std::fs::read(&theirs).unwrap()).await;
    let done = ok_json(r, StatusCode::OK).await;
    assert_eq!(done["added"], 1, "{done}");
    let added = done["annotations"]["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["class_id"] == 6)
        .cloned()
        .unwrap();
    assert_eq!(added["bbox"], wrote["bbox"]);
    assert_eq!(added["status"], "manual");
    assert_eq!(
        added["source"],
        json!({"kind": "radiologist", "user": "rad"})
    );
}

async fn report_sr_route(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let (id, _) = image_with_boxes(&app, &rad, 6).await;
    let image = served_ref(&app, &rad, id).await;
    let text = "Cardiomegaly; a nodule in the left lower zone — follow up.";
    let draft = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{id}/reports"),
            Some(json!({"impression": text})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let rep = draft["id"].as_i64().unwrap();
    let path = format!("/api/v1/reports/{rep}/sr");
    let r = app
        .req(Method::GET, &path, Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/reports/{rep}/sign"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let r = app
        .req(Method::GET, &path, Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/dicom");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains(&format!("carina-report-{rep}-sr.dcm")), "{cd}");
    let sr = r.bytes().await.unwrap().to_vec();
    assert!(carina_server::sr_import::is_sr(&sr));
    let r = app
        .req(Method::GET, "/api/v1/reports/999999/sr", Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("report.sr.dcm");
    std::fs::write(&p, &sr).unwrap();
    if let Some(dump) = dsrdump(&p) {
        assert!(dump.contains("Comprehensive SR"), "{dump}");
        assert!(dump.contains("follow up."), "{dump}");
        assert!(dump.contains("(287272002,SCT,\"Cardiomegaly\")"), "{dump}");
        assert!(dump.contains("(27925004,SCT,\"Nodule\")"), "{dump}");
        assert!(dump.contains(&image.sop_instance_uid));
        assert!(
            dump.contains(", rad, Carina"),
            "verified by the signer: {dump}"
        );
    }
    let Some(py) = python() else { return };
    let v = highdicom(&py, &[&p], "read-report");
    assert_eq!(v["verification"], "VERIFIED");
    assert_eq!(v["verifier"], "rad");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["287272002", "27925004"], "{v}");
    assert!(v["texts"].to_string().contains("follow up."));
    assert!(
        v["image_refs"]
            .to_string()
            .contains(&image.sop_instance_uid)
    );
}
