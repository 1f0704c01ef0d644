//! A signed report as a Comprehensive SR (TID 2000): what it holds, dcmtk's
//! `dsrdump` and highdicom read it; the image reference read from a DICOM
//! image; telling an SR from an image.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use carina_core::BBox;
use carina_sr::{
    ReportSr, ReportSrFinding, SrError, SrImageRef, image_ref_from_dicom, is_sr,
    read_measurement_report, report_sr_uid, write_measurement_report, write_report_sr,
};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

use crate::*;

fn second_image() -> SrImageRef {
    SrImageRef {
        sop_instance_uid: "2.25.4444".into(),
        series_instance_uid: "2.25.223".into(),
        ..image()
    }
}

fn report() -> ReportSr {
    ReportSr {
        report_id: "carina-report-12".into(),
        amends: Some("carina-report-7".into()),
        images: vec![image(), second_image()],
        findings: vec![
            ReportSrFinding {
                image: 0,
                label: "Pneumothorax".into(),
                bbox: BBox::new(100.5, 200.0, 400.25, 650.0).unwrap(),
                description: Some("right upper zone, found by radiologist ann".into()),
            },
            ReportSrFinding {
                image: 1,
                label: "Rib fracture".into(),
                bbox: BBox::new(10.0, 20.0, 30.0, 40.0).unwrap(),
                description: None,
            },
        ],
        impression: "Small right apical pneumothorax.".into(),
        no_finding: false,
        signer: "ann".into(),
        signed_at: UNIX_EPOCH + Duration::from_secs(1_795_637_703),
        software_version: "0.1.0-test".into(),
    }
}

fn text(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

#[test]
fn report_sr_holds_the_report() {
    let bytes = write_report_sr(&report()).unwrap();
    assert!(is_sr(&bytes));
    let obj = OpenFileOptions::new().from_reader(&bytes[128..]).unwrap();
    assert_eq!(
        text(&obj, tags::SOP_CLASS_UID),
        "1.2.840.10008.5.1.4.1.1.88.33"
    );
    assert_eq!(
        text(&obj, tags::SOP_INSTANCE_UID),
        report_sr_uid("carina-report-12")
    );
    assert_eq!(text(&obj, tags::VERIFICATION_FLAG), "VERIFIED");
    assert_eq!(text(&obj, tags::PATIENT_ID), "PSEUDO-7F3A");
    assert_eq!(text(&obj, tags::STUDY_INSTANCE_UID), "2.25.111");
    // The same report gives the same bytes; another report another UID.
    assert_eq!(write_report_sr(&report()).unwrap(), bytes);
    assert_ne!(
        report_sr_uid("carina-report-12"),
        report_sr_uid("carina-report-7")
    );
    // A report is not a measurement report: import refuses it by template.
    assert!(matches!(
        read_measurement_report(&bytes),
        Err(SrError::WrongTemplate(_))
    ));
    // Refusals: no image, a finding on an image the report does not have.
    let mut r = report();
    r.images.clear();
    assert!(matches!(write_report_sr(&r), Err(SrError::InvalidInput(_))));
    let mut r = report();
    r.findings[0].image = 5;
    let e = write_report_sr(&r).unwrap_err().to_string();
    assert!(e.contains("finding 1"), "{e}");
}

#[test]
fn image_reference_comes_from_the_image_header() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/samples/dicom");
    let Ok(bytes) = std::fs::read(dir.join("RG1_UNCR.dcm")) else {
        assert!(!required(), "the shared sample DICOMs are missing");
        eprintln!("note: ../shared sample DICOMs missing; skipping");
        return;
    };
    let r = image_ref_from_dicom(&bytes).unwrap();
    assert!(carina_sr::is_valid_uid(&r.sop_instance_uid));
    assert!(carina_sr::is_valid_uid(&r.study_instance_uid));
    assert!(!is_sr(&bytes), "an image is not an SR");
    let sr = write_measurement_report(&r, &[], &doc()).unwrap();
    assert!(is_sr(&sr));
    assert!(!is_sr(b"not dicom"));
    assert!(matches!(
        image_ref_from_dicom(b"not dicom"),
        Err(SrError::NotDicom)
    ));
}

fn write_temp(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join("report.dcm");
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn dsrdump_reads_the_report_sr() {
    if Command::new("dsrdump").arg("--version").output().is_err() {
        assert!(!required(), "CI must have dcmtk's dsrdump");
        eprintln!("note: dsrdump (dcmtk) is not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), &write_report_sr(&report()).unwrap());
    let out = Command::new("dsrdump")
        .args(["-v", "+Pl", "+Pu", "+Pc"])
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
    assert!(stdout.contains("Comprehensive SR"), "{stdout}");
    assert!(
        stdout.contains("VERIFIED") && stdout.contains(", ann, Carina"),
        "{stdout}"
    );
    assert!(stdout.contains("Predecessor Docs    : 1"), "{stdout}");
    assert!(
        stdout.contains("Small right apical pneumothorax."),
        "{stdout}"
    );
    assert!(
        stdout.contains("(36118008,SCT,\"Pneumothorax\")"),
        "{stdout}"
    );
    assert!(stdout.contains("Rib fracture"), "{stdout}");
    assert!(stdout.contains(IMAGE_UID) && stdout.contains("2.25.4444"));
}

#[test]
fn highdicom_reads_the_report_sr() {
    let python = match std::env::var("CARINA_TEST_HIGHDICOM_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            assert!(!required(), "CI must set CARINA_TEST_HIGHDICOM_PYTHON");
            eprintln!("note: CARINA_TEST_HIGHDICOM_PYTHON is not set; skipping");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), &write_report_sr(&report()).unwrap());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/highdicom_sr.py");
    let out = Command::new(&python)
        .args(["-W", "ignore", script, "read-report"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sop_class_uid"], "1.2.840.10008.5.1.4.1.1.88.33");
    assert_eq!(v["verification"], "VERIFIED");
    assert_eq!(v["verifier"], "ann");
    assert_eq!(v["findings"][0]["value"], "36118008");
    assert_eq!(v["findings"][1]["scheme"], "99CARINA");
    assert_eq!(v["findings"][1]["meaning"], "Rib fracture");
    let texts = v["texts"].to_string();
    assert!(
        texts.contains("Small right apical pneumothorax."),
        "{texts}"
    );
    let refs = v["image_refs"].to_string();
    assert!(
        refs.contains(IMAGE_UID) && refs.contains("2.25.4444"),
        "{refs}"
    );
}
