//! Export to COCO / VinDr CSV / YOLO after filtering by source and status.

use carina_core::{BBox, BoxStatus, LabelSet, Provenance};
use carina_dataset::classes::SourceFormat;
use carina_dataset::export::{ExportFormat, export};
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::{Annotation, Dataset, Filter, ImageRecord, SourceKind};

/// Two images: one with a radiologist box, an accepted and a rejected model
/// box and a fused box; one without boxes (a "No finding" image).
fn workbench_like() -> Dataset {
    let b = |x0, y0, x1, y1| BBox::new(x0, y0, x1, y1).unwrap();
    let model = |class_id, bbox, status, score| Annotation {
        class_id,
        bbox,
        provenance: Provenance::Model {
            model: "effdet-d0".into(),
            version: "3".into(),
        },
        status,
        score: Some(score),
        fused_from: vec![],
    };
    let mut fused = Annotation::radiologist(4, b(10.0, 10.0, 30.0, 40.0), "R1+R2");
    fused.fused_from = vec!["R1".into(), "R2".into()];
    fused.score = Some(1.0);
    let mut ds = Dataset::new(LabelSet::default());
    ds.images.push(ImageRecord {
        id: "cxr-1.png".into(),
        path: None,
        size: Some((200, 100)),
        readers: vec!["R1".into(), "R2".into()],
        annotations: vec![
            Annotation::radiologist(1, b(50.0, 20.0, 150.0, 80.0), "R1"),
            model(8, b(0.0, 50.0, 40.0, 100.0), BoxStatus::Accepted, 0.9),
            model(6, b(100.0, 0.0, 120.0, 10.0), BoxStatus::Rejected, 0.3),
            fused,
        ],
    });
    ds.images.push(ImageRecord {
        id: "cxr-2.png".into(),
        path: None,
        size: Some((64, 64)),
        readers: vec!["R3".into()],
        annotations: vec![],
    });
    ds
}

#[test]
fn filters_by_source_and_status() {
    let ds = workbench_like();
    let count = |f: Filter| ds.filtered(&f).box_count();
    assert_eq!(count(Filter::default()), 4);
    let src = |s: &[SourceKind]| Filter {
        sources: s.to_vec(),
        statuses: vec![],
    };
    assert_eq!(count(src(&[SourceKind::Radiologist])), 1);
    assert_eq!(count(src(&[SourceKind::Model])), 2);
    assert_eq!(count(src(&[SourceKind::Fused])), 1);
    let confirmed = Filter {
        sources: vec![],
        statuses: vec![BoxStatus::Accepted, BoxStatus::Edited, BoxStatus::Manual],
    };
    assert_eq!(count(confirmed), 3);
}

#[test]
fn yolo_lines_are_normalised_centres() {
    let dir = tempfile::tempdir().unwrap();
    let ds = workbench_like().filtered(&Filter {
        sources: vec![SourceKind::Radiologist, SourceKind::Model],
        statuses: vec![BoxStatus::Manual, BoxStatus::Accepted],
    });
    let out = dir.path().join("yolo");
    let s = export(&ds, ExportFormat::Yolo, &out).unwrap();
    assert_eq!(s.files, 3);
    let classes = std::fs::read_to_string(out.join("classes.txt")).unwrap();
    assert_eq!(classes.lines().nth(4), Some("Nodule/Mass"));
    let one = std::fs::read_to_string(out.join("cxr-1.txt")).unwrap();
    assert_eq!(
        one.lines().collect::<Vec<_>>(),
        [
            "1 0.500000 0.500000 0.500000 0.600000",
            "8 0.100000 0.750000 0.200000 0.500000"
        ]
    );
    assert_eq!(std::fs::read_to_string(out.join("cxr-2.txt")).unwrap(), "");
    // A second export into the same folder is refused.
    assert!(export(&ds, ExportFormat::Yolo, &out).is_err());
}

#[test]
fn vindr_csv_and_coco_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let ds = workbench_like();
    let csv = dir.path().join("out.csv");
    export(&ds, ExportFormat::Vindr, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains("cxr-1.png,Cardiomegaly,1,R1,50,20,150,80\n"),
        "{text}"
    );
    assert!(text.contains("cxr-1.png,Nodule/Mass,4,R1+R2,10,10,30,40\n"));
    assert!(text.contains("cxr-2.png,No finding,14,R3,,,,\n"));
    let (back, report) = import(SourceFormat::Vindr, &csv, &ImportOptions::default()).unwrap();
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(back.box_count(), 4);
    assert_eq!(back.images[1].readers, ["R3"]);

    let json = dir.path().join("out.json");
    export(&ds, ExportFormat::Coco, &json).unwrap();
    let (back, report) = import(SourceFormat::Coco, &json, &ImportOptions::default()).unwrap();
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(back.images[0].annotations, ds.images[0].annotations);
    assert_eq!(back.images[1].readers, ["R3"]);
}
