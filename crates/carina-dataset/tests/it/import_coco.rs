//! COCO import and the COCO round trip of the normalised dataset.

use crate::common::write_vindr;
use carina_dataset::classes::SourceFormat;
use carina_dataset::cocoext::to_coco;
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::{DatasetError, IssueKind};

#[test]
fn normalised_dataset_round_trips_through_coco() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let opts = ImportOptions {
        images: Some(images),
        ..Default::default()
    };
    let (ds, _) = import(SourceFormat::Vindr, &csv, &opts).unwrap();
    let json = dir.path().join("out.json");
    std::fs::write(&json, serde_json::to_vec(&to_coco(&ds)).unwrap()).unwrap();
    // A plain COCO reader accepts it.
    let plain: carina_core::coco::CocoDataset =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(plain.images.len(), 3);
    assert_eq!(plain.annotations.len(), 5);
    let (back, report) = import(SourceFormat::Coco, &json, &opts).unwrap();
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(back.images.len(), ds.images.len());
    for (a, b) in ds.images.iter().zip(&back.images) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.size, b.size);
        assert_eq!(a.readers, b.readers);
        assert_eq!(a.annotations, b.annotations);
    }
}

#[test]
fn coco_bad_references_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    let json = serde_json::json!({
        "images": [
            {"id": 1, "file_name": "a.png", "width": 100, "height": 100, "synthetic": true},
            {"id": 1, "file_name": "b.png", "width": 100, "height": 100},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 10, 20, 20]},
            {"id": 2, "image_id": 9, "category_id": 7, "bbox": [10, 10, 20, 20]},
            {"id": 3, "image_id": 1, "category_id": 3, "bbox": [10, 10, 20, 20]},
            {"id": 4, "image_id": 1, "category_id": 7, "bbox": [10, 10, -2, 20]},
            {"id": 5, "image_id": 1, "category_id": 7, "bbox": [90, 90, 20, 20]},
            {"id": 6, "image_id": 1, "category_id": 8, "bbox": [1, 1, 2, 2]},
        ],
        "categories": [{"id": 7, "name": "Effusion"}, {"id": 8, "name": "Lung Opacity"}],
    });
    std::fs::write(&p, json.to_string()).unwrap();
    let (ds, report) = import(SourceFormat::Coco, &p, &ImportOptions::default()).unwrap();
    let kinds: Vec<IssueKind> = report.issues.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            IssueKind::DuplicateId,
            IssueKind::UnknownImageId,
            IssueKind::UnknownClass,
            IssueKind::InvalidBox,
            IssueKind::OutsideImage,
        ]
    );
    assert_eq!(ds.box_count(), 1);
    assert!(ds.synthetic, "the images' synthetic flag is kept");
    assert_eq!(ds.images[0].annotations[0].class_id, 8);
    assert_eq!(report.per_class["Lung Opacity"].dropped_not_in_label_set, 1);
}

#[test]
fn coco_malformed_json_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    std::fs::write(&p, "{\"images\": [\n  {\"id\": 1,, }\n]}").unwrap();
    let e = import(SourceFormat::Coco, &p, &ImportOptions::default()).unwrap_err();
    match &e {
        DatasetError::Json { line, .. } => assert_eq!(*line, 2),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("bad.json"));
    std::fs::write(&p, "  \n").unwrap();
    let e = import(SourceFormat::Coco, &p, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, DatasetError::Empty { .. }));
}
