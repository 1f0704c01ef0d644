//! Writing and reading back: boxes, codes, tracking UIDs, observers.

use carina_core::{BoxStatus, Finding, Provenance};
use carina_sr::codes::{self, Code};
use carina_sr::{
    COMPREHENSIVE_3D_SR, SrError, label_for_code, read_measurement_report, tracking_uid,
    write_measurement_report,
};
use dicom_dictionary_std::tags;

use crate::*;

fn text(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

#[test]
fn nine_findings_round_trip_to_a_hundredth_of_a_pixel() {
    let boxes = nine_boxes();
    let bytes = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let report = read_measurement_report(&bytes).unwrap();
    assert_eq!(report.boxes.len(), 9);
    assert!(report.made_by_carina);
    assert_eq!(report.sop_class_uid, COMPREHENSIVE_3D_SR);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    for (b, got) in boxes.iter().zip(&report.boxes) {
        assert_eq!(got.label, b.label, "{}", b.box_id);
        let (want, site) = carina_sr::code_for_label(&b.label);
        assert_eq!(got.finding, want);
        assert_eq!(got.finding_site, site);
        for (w, g) in b.bbox.to_array().iter().zip(got.bbox.to_array()) {
            assert!((w - g).abs() <= 0.01, "{}: wrote {w}, read {g}", b.box_id);
        }
        assert_eq!(got.graphic_type, "POLYLINE");
        assert_eq!(got.referenced_sop_instance_uid, IMAGE_UID);
        assert_eq!(got.referenced_sop_class_uid, image().sop_class_uid);
        assert_eq!(got.tracking_id.as_deref(), Some(b.box_id.as_str()));
        assert_eq!(
            got.tracking_uid.as_deref(),
            Some(tracking_uid(IMAGE_UID, &b.box_id).as_str())
        );
        assert_eq!(got.status, Some(b.status));
        assert_eq!(got.provenance.as_ref(), Some(&b.provenance));
    }
    // Half pixels and exact integers survive 32-bit floats exactly.
    assert_eq!(report.boxes[0].bbox.to_array(), [0.5, 0.5, 10.5, 20.5]);
    assert_eq!(report.boxes[1].bbox.to_array(), [0.0, 0.0, WIDTH, HEIGHT]);
    assert_eq!(
        report.boxes[3].bbox.to_array(),
        [9999.5, 9998.25, 10000.0, 10000.0]
    );
}

#[test]
fn model_boxes_name_model_and_version() {
    let boxes = nine_boxes();
    let bytes = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let report = read_measurement_report(&bytes).unwrap();
    let b = &report.boxes[1];
    assert_eq!(
        b.algorithm,
        Some(("carina-demo".to_string(), "3".to_string()))
    );
    match &b.observers[..] {
        [
            carina_sr::Observer::Device {
                uid,
                name,
                manufacturer,
                model_name,
            },
        ] => {
            assert!(carina_sr::is_valid_uid(uid));
            assert_eq!(name.as_deref(), Some("carina-demo"));
            assert_eq!(manufacturer.as_deref(), Some("Carina"));
            assert_eq!(model_name.as_deref(), Some("carina-demo"));
        }
        other => panic!("{other:?}"),
    }
    // The document's own observer is Carina, the device.
    assert!(matches!(&report.observers[..],
        [carina_sr::Observer::Device { manufacturer: Some(m), .. }] if m == "Carina"));
    assert_eq!(
        report.boxes[2].observers,
        ["rev", "ann", "bob"].map(|n| carina_sr::Observer::Person { name: n.into() })
    );
}

#[test]
fn custom_labels_round_trip() {
    let boxes = vec![
        sr_box(
            "c1",
            "Rib fracture",
            [1.0, 2.0, 3.0, 4.0],
            radiologist("ann"),
            BoxStatus::Manual,
        ),
        sr_box(
            "c2",
            "Débris / ÉTAT",
            [5.0, 6.0, 7.0, 8.0],
            radiologist("zoë"),
            BoxStatus::Manual,
        ),
    ];
    let bytes = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let report = read_measurement_report(&bytes).unwrap();
    assert_eq!(report.boxes[0].label, "Rib fracture");
    assert_eq!(report.boxes[0].finding.scheme, "99CARINA");
    assert_eq!(report.boxes[1].label, "Débris / ÉTAT");
    assert_eq!(report.boxes[1].provenance, Some(radiologist("zoë")));
}

#[test]
fn tracking_uids_are_stable_per_box() {
    let boxes = nine_boxes();
    let a = read_measurement_report(&write_measurement_report(&image(), &boxes, &doc()).unwrap())
        .unwrap();
    // A later SR of the same image: other creation time, a box moved, one
    // box fewer. The remaining boxes keep their tracking UIDs.
    let mut later = doc();
    later.created += std::time::Duration::from_secs(3600);
    let mut moved = boxes[1..].to_vec();
    moved[0].bbox = carina_core::BBox::new(1.0, 1.0, 2.0, 2.0).unwrap();
    let b = read_measurement_report(&write_measurement_report(&image(), &moved, &later).unwrap())
        .unwrap();
    for (x, y) in a.boxes[1..].iter().zip(&b.boxes) {
        assert_eq!(x.tracking_uid, y.tracking_uid);
    }
    let uids: std::collections::HashSet<_> = a
        .boxes
        .iter()
        .map(|b| b.tracking_uid.clone().unwrap())
        .collect();
    assert_eq!(uids.len(), 9);
    // The same box id on another image is another box.
    assert_ne!(
        tracking_uid("2.25.9", "box-1"),
        tracking_uid(IMAGE_UID, "box-1")
    );
    // The SR itself gets a new SOP Instance UID when its content changes.
    assert_ne!(a.sop_instance_uid, b.sop_instance_uid);
}

#[test]
fn writing_is_deterministic() {
    let boxes = nine_boxes();
    let a = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    assert_eq!(
        a,
        write_measurement_report(&image(), &boxes, &doc()).unwrap()
    );
}

#[test]
fn every_table_code_reads_as_its_label() {
    for row in &carina_sr::FINDING_CODES {
        let name = row.finding.name();
        let written = Code::new(row.written.0, row.written.1, row.written.2);
        assert_eq!(label_for_code(&written).as_deref(), Some(name), "{written}");
        for c in row.also_read {
            assert_eq!(
                label_for_code(&Code::new(c.0, c.1, c.2)).as_deref(),
                Some(name),
                "{c:?}"
            );
        }
        assert_eq!(carina_sr::code_for_label(name).0, written);
        assert_eq!(codes::finding_code(row.finding).finding, row.finding);
    }
    // Each of the nine has its own written code.
    let written: std::collections::HashSet<_> = Finding::ALL
        .iter()
        .map(|f| carina_sr::code_for_label(f.name()).0)
        .collect();
    assert_eq!(written.len(), 9);
}

#[test]
fn document_copies_patient_and_study_and_references_the_image() {
    let bytes = write_measurement_report(&image(), &nine_boxes(), &doc()).unwrap();
    assert_eq!(&bytes[128..132], b"DICM");
    let obj = open(&bytes);
    assert_eq!(
        obj.meta().media_storage_sop_class_uid(),
        COMPREHENSIVE_3D_SR
    );
    assert_eq!(text(&obj, tags::SOP_CLASS_UID), COMPREHENSIVE_3D_SR);
    assert_eq!(text(&obj, tags::MODALITY), "SR");
    assert_eq!(text(&obj, tags::PATIENT_ID), "PSEUDO-7F3A");
    assert_eq!(text(&obj, tags::PATIENT_NAME), "PSEUDO-7F3A");
    assert_eq!(text(&obj, tags::STUDY_INSTANCE_UID), "2.25.111");
    assert_eq!(text(&obj, tags::STUDY_DATE), "20200102");
    assert_eq!(text(&obj, tags::STUDY_ID), "S1");
    assert_eq!(text(&obj, tags::CONTENT_DATE), "20261125");
    assert_eq!(text(&obj, tags::CONTENT_TIME), "201503");
    assert_eq!(text(&obj, tags::MANUFACTURER), "Carina");
    assert_eq!(text(&obj, tags::SOFTWARE_VERSIONS), "0.1.0-test");
    let ev = &obj
        .get(tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    let series = &ev
        .get(tags::REFERENCED_SERIES_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    let sop = &series
        .get(tags::REFERENCED_SOP_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    assert_eq!(
        sop.get(tags::REFERENCED_SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0'),
        IMAGE_UID
    );
    // The SR series is one per study, not the image's.
    assert_ne!(text(&obj, tags::SERIES_INSTANCE_UID), "2.25.222");
}

#[test]
fn an_empty_report_reads_as_no_boxes() {
    let bytes = write_measurement_report(&image(), &[], &doc()).unwrap();
    let report = read_measurement_report(&bytes).unwrap();
    assert!(report.boxes.is_empty());
}

type Change = fn(&mut carina_sr::SrImageRef);

fn case(
    change: Change,
    boxes: Vec<carina_sr::SrBox>,
    want: &str,
) -> (Change, Vec<carina_sr::SrBox>, &str) {
    (change, boxes, want)
}

#[test]
fn writer_refuses_what_dicom_cannot_carry() {
    let ok = nine_boxes();
    let one = |b: carina_sr::SrBox| vec![b];
    let model = Provenance::Model {
        model: "m".into(),
        version: String::new(),
    };
    let cases = vec![
        case(
            |i| i.sop_instance_uid = "1.02.3".into(),
            ok.clone(),
            "SOP Instance UID is not a valid UID",
        ),
        case(
            |i| i.study_instance_uid = String::new(),
            ok.clone(),
            "Study Instance UID",
        ),
        case(
            |i| i.study_id = Some("X".repeat(17)),
            ok.clone(),
            "Study ID",
        ),
        case(
            |i| i.study_date = Some("2020-01-02".into()),
            ok.clone(),
            "Study Date",
        ),
        case(|i| i.patient_id = "a\\b".into(), ok.clone(), "Patient ID"),
        case(
            |_| {},
            one(sr_box(
                "",
                "Mass",
                [0.0; 4],
                radiologist("a"),
                BoxStatus::Manual,
            )),
            "box 1: the box id",
        ),
        case(
            |_| {},
            one(sr_box(
                "1",
                " ",
                [0.0; 4],
                radiologist("a"),
                BoxStatus::Manual,
            )),
            "box 1: the label is empty",
        ),
        case(
            |_| {},
            one(sr_box(
                "1",
                "Mass",
                [0.0; 4],
                radiologist("a\\b"),
                BoxStatus::Manual,
            )),
            "person observer's name",
        ),
        case(
            |_| {},
            one(sr_box("1", "Mass", [0.0; 4], model, BoxStatus::Proposed)),
            "model's name and version",
        ),
        case(
            |_| {},
            one(sr_box(
                "1",
                "Mass",
                [0.0, 0.0, 2e7, 1.0],
                radiologist("a"),
                BoxStatus::Manual,
            )),
            "10^7",
        ),
        case(
            |_| {},
            vec![ok[0].clone(); carina_sr::MAX_BOXES + 1],
            "2001 boxes, more than the 2000",
        ),
    ];
    for (change, boxes, want) in cases {
        let mut img = image();
        change(&mut img);
        match write_measurement_report(&img, &boxes, &doc()) {
            Err(SrError::InvalidInput(m)) => assert!(m.contains(want), "{m} (wanted {want})"),
            other => panic!("wanted an error about {want}, got {other:?}"),
        }
    }
}
