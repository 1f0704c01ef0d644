//! Other readers and writers: dcmtk's `dsrdump` and highdicom read Carina's
//! SR; Carina reads an SR highdicom made.
//!
//! `dsrdump` comes from Debian's `dcmtk`; highdicom from a virtual
//! environment whose python `CARINA_TEST_HIGHDICOM_PYTHON` names (both
//! installed by scripts/test.sh). Without them the tests skip with a note,
//! except under CI, where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use carina_core::BoxStatus;
use carina_sr::{read_measurement_report, tracking_uid, write_measurement_report};
use serde_json::Value;

use crate::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/highdicom_sr.py");

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn highdicom_python() -> Option<String> {
    match std::env::var("CARINA_TEST_HIGHDICOM_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                !required(),
                "CI must set CARINA_TEST_HIGHDICOM_PYTHON (scripts/test.sh does)"
            );
            eprintln!(
                "note: CARINA_TEST_HIGHDICOM_PYTHON is not set; skipping the highdicom test (scripts/test.sh sets it)"
            );
            None
        }
    }
}

fn run_script(python: &str, mode: &str, path: &Path) -> Value {
    let out = Command::new(python)
        .args(["-W", "ignore", SCRIPT, mode])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "highdicom {mode} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn dsrdump_reads_carina_sr_without_warnings() {
    let Ok(version) = Command::new("dsrdump").arg("--version").output() else {
        assert!(
            !required(),
            "CI must have dcmtk's dsrdump (scripts/test.sh installs it)"
        );
        eprintln!("note: dsrdump (dcmtk) is not installed; skipping");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let boxes = nine_boxes();
    let sr = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let path = write_temp(dir.path(), "carina.dcm", &sr);
    // Long values, referenced instance UIDs, all codes, template ids.
    let out = Command::new("dsrdump")
        .args(["+Pl", "+Pu", "+Pc", "+Pt", "-ll", "info"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dsrdump failed:\n{stderr}");
    assert!(
        !stderr
            .lines()
            .chain(stdout.lines())
            .any(|l| l.starts_with("W:") || l.starts_with("E:")),
        "dsrdump warned:\n{stderr}{stdout}"
    );
    assert!(stdout.contains("Comprehensive 3D SR"), "{stdout}");
    assert!(stdout.contains("Imaging Measurement Report"), "{stdout}");
    assert!(stdout.contains("TID 1500"), "{stdout}");
    for b in &boxes {
        assert!(
            stdout.contains(&tracking_uid(IMAGE_UID, &b.box_id)),
            "tracking UID of {}",
            b.box_id
        );
        let (code, _) = carina_sr::code_for_label(&b.label);
        assert!(
            stdout.contains(&format!(
                "({},{},\"{}\")",
                code.value, code.scheme, code.meaning
            )),
            "{code}"
        );
    }
    assert!(stdout.contains(IMAGE_UID));
    assert!(stdout.contains("=\"ann\""), "person observer");
    assert!(stdout.contains("=\"carina-demo\""), "device observer");
    // The same under its strictest reading: no relationship constraint
    // ignored, no invalid value accepted (the defaults), full check output.
    let out = Command::new("dsrdump")
        .args(["-v"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("W:") && !stderr.contains("E:"),
        "{stderr}"
    );

    // Non-ASCII names make the SR UTF-8 (ISO_IR 192): dsrdump reads it, and
    // its only remark is that its VR checker cannot check UTF-8.
    let boxes = [sr_box(
        "ü1",
        "Débris",
        [1.0, 2.0, 3.0, 4.0],
        radiologist("zoë"),
        BoxStatus::Manual,
    )];
    let sr = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let path = write_temp(dir.path(), "utf8.dcm", &sr);
    let out = Command::new("dsrdump")
        .args(["+U8"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("=\"zoë\"") && stdout.contains("\"Débris\""),
        "{stdout}"
    );
    let remarks: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("W:") || l.starts_with("E:"))
        .collect();
    assert!(
        remarks
            .iter()
            .all(|l| l.contains("does not support this Specific Character Set: ISO_IR 192")),
        "{stderr}"
    );
}

#[test]
fn highdicom_reads_carina_sr() {
    let Some(python) = highdicom_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let boxes = nine_boxes();
    let sr = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let path = write_temp(dir.path(), "carina.dcm", &sr);
    let got = run_script(&python, "read", &path);
    assert_eq!(got["sop_class_uid"], carina_sr::COMPREHENSIVE_3D_SR);
    let groups = got["groups"].as_array().unwrap();
    assert_eq!(groups.len(), boxes.len());
    for (b, g) in boxes.iter().zip(groups) {
        assert_eq!(g["tracking_uid"], tracking_uid(IMAGE_UID, &b.box_id));
        assert_eq!(g["tracking_id"], b.box_id.as_str());
        let (code, _) = carina_sr::code_for_label(&b.label);
        assert_eq!(g["finding"]["value"], code.value.as_str());
        assert_eq!(g["finding"]["scheme"], code.scheme.as_str());
        assert_eq!(g["graphic_type"], "POLYLINE");
        assert_eq!(g["referenced_sop_instance_uid"], IMAGE_UID);
        let [x0, y0, x1, y1] = b.bbox.to_array();
        let want = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
        let pts = g["graphic_data"].as_array().unwrap();
        assert_eq!(pts.len(), 5);
        for (w, p) in want.iter().zip(pts) {
            for k in 0..2 {
                let v = p[k].as_f64().unwrap();
                assert!((v - w[k]).abs() <= 0.01, "{}: {v} vs {}", b.box_id, w[k]);
            }
        }
    }
    let observers = got["observers"].as_array().unwrap();
    assert!(
        observers.iter().any(|o| o["type"]["value"] == "121007"),
        "{observers:?}"
    );
}

#[test]
fn carina_reads_an_sr_made_by_highdicom() {
    let Some(python) = highdicom_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("viewer.dcm");
    let wrote = run_script(&python, "write", &path);
    let report = read_measurement_report(&std::fs::read(&path).unwrap()).unwrap();
    assert!(!report.made_by_carina);
    assert_eq!(report.manufacturer.as_deref(), Some("Some Viewer"));
    assert_eq!(
        report.observers,
        [carina_sr::Observer::Person {
            name: "Viewer^User".into()
        }]
    );
    let want = wrote["boxes"].as_array().unwrap();
    assert_eq!(report.boxes.len(), want.len());
    for (b, w) in report.boxes.iter().zip(want) {
        assert_eq!(b.label, w["label"].as_str().unwrap());
        assert_eq!(b.graphic_type, w["graphic_type"].as_str().unwrap());
        assert_eq!(
            b.referenced_sop_instance_uid,
            wrote["image_sop_instance_uid"].as_str().unwrap()
        );
        let bbox: Vec<f64> = w["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(b.bbox.to_array().to_vec(), bbox);
        // Another tool's box: no Carina provenance or status.
        assert_eq!(b.provenance, None);
        assert_eq!(b.status, None);
        assert!(b.tracking_uid.is_some());
    }
    // The whole-image group has no region to import.
    assert_eq!(report.skipped, ["measurement group 3: no image region"]);
}
