//! NIH ChestX-ray14 box list: the real file and bad variants of it.

use crate::common::shared_dir;
use carina_dataset::IssueKind;
use carina_dataset::classes::SourceFormat;
use carina_dataset::import::{ImportOptions, import};

#[test]
fn real_nih_box_list() {
    let path = shared_dir().join("data/nih/BBox_List_2017.csv");
    let (ds, report) = import(SourceFormat::Nih, &path, &ImportOptions::default()).unwrap();
    assert_eq!(report.rows, 984);
    assert_eq!(report.boxes_read, 984);
    assert_eq!(report.images_seen, 880);
    assert!(report.issues.is_empty(), "{:?}", report.issues.first());
    let pneumonia = &report.per_class["Pneumonia"];
    assert_eq!(pneumonia.kept, 0);
    assert_eq!(pneumonia.dropped_not_in_label_set, 120);
    assert_eq!(report.boxes_kept, 984 - 120);
    assert_eq!(ds.box_count(), 864);
    assert_eq!(
        report.per_class["Mass"].mapped_to.as_deref(),
        Some("Nodule/Mass")
    );
    // Nodule (79) and Mass (85) both become Nodule/Mass (class 4).
    let nm = ds
        .images
        .iter()
        .flat_map(|i| &i.annotations)
        .filter(|a| a.class_id == 4)
        .count();
    assert_eq!(nm, 79 + 85);
    assert!(ds.images.iter().all(|i| i.size == Some((1024, 1024))));
    // First row: 00013118_008.png Atelectasis x=225.08 y=547.02 w=86.78 h=79.19.
    let first = ds
        .images
        .iter()
        .find(|i| i.id == "00013118_008.png")
        .unwrap();
    let b = first.annotations[0].bbox;
    assert!((b.x_min() - 225.084745762712).abs() < 1e-9);
    assert!((b.y_max() - (547.019216763771 + 79.1864406779661)).abs() < 1e-9);
}

#[test]
fn nih_bad_rows_are_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bbox.csv");
    std::fs::write(
        &p,
        "Image Index,Finding Label,Bbox [x,y,w,h],,,\n\
         a.png,Atelectasis,10,10,20,20\n\
         a.png,Effusion,10,10,-5,20\n\
         b.png,Mass,1000,1000,50,50\n\
         b.png,Hernia,10,10,5,5\n\
         c.png,Nodule,10,10,nan,5\n\
         c.png,Nodule,10,10,5\n\
         d.png,Infiltrate,1,2,3,4,,\n",
    )
    .unwrap();
    let (ds, report) = import(SourceFormat::Nih, &p, &ImportOptions::default()).unwrap();
    let got: Vec<(u64, IssueKind)> = report
        .issues
        .iter()
        .map(|i| (i.line.unwrap(), i.kind))
        .collect();
    assert_eq!(
        got,
        [
            (3, IssueKind::InvalidBox),
            (5, IssueKind::UnknownClass),
            (6, IssueKind::InvalidBox),
            (7, IssueKind::MalformedRow),
            (4, IssueKind::OutsideImage),
        ]
    );
    assert_eq!(report.boxes_kept, 2);
    assert_eq!(ds.box_count(), 2);
}

#[test]
fn nih_wrong_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bbox.csv");
    std::fs::write(
        &p,
        "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n",
    )
    .unwrap();
    let e = import(SourceFormat::Nih, &p, &ImportOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("line 1") && e.to_string().contains("Image Index"),
        "{e}"
    );
}
