//! VinDr-CXR import on a generated train.csv with images and bad rows.

use crate::common::{VINDR_IMAGES, write_vindr};
use carina_dataset::classes::SourceFormat;
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::{DatasetError, IssueKind};

#[test]
fn vindr_with_images_reports_every_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let opts = ImportOptions {
        images: Some(images),
        ..Default::default()
    };
    let (ds, report) = import(SourceFormat::Vindr, &csv, &opts).unwrap();
    let lines = |kind: IssueKind| -> Vec<u64> {
        report
            .issues
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.line.unwrap())
            .collect()
    };
    assert_eq!(lines(IssueKind::InvalidBox), vec![10, 11]); // NaN, inverted
    assert_eq!(lines(IssueKind::MalformedRow), vec![14, 16]); // 6 fields, "x"
    assert_eq!(lines(IssueKind::OutsideImage), vec![12]);
    assert_eq!(lines(IssueKind::UnknownClass), vec![13]);
    assert_eq!(lines(IssueKind::MissingImage), vec![15]);
    assert_eq!(report.issues.len(), 7);
    assert_eq!(report.rows, 15);
    assert_eq!(report.rows_rejected, 4);
    assert_eq!(report.no_finding_rows, 2);

    // img_missing is dropped, img_d had only a bad row: the rest keep order.
    let ids: Vec<&str> = ds.images.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["img_a", "img_b", "img_c"]);
    for (img, (_, w, h)) in ds.images.iter().zip(VINDR_IMAGES) {
        assert_eq!(img.size, Some((w, h)));
        assert!(img.path.as_ref().unwrap().exists());
    }
    let a = &ds.images[0];
    assert_eq!(a.readers, ["R1", "R2", "R3"]);
    let classes: Vec<u32> = a.annotations.iter().map(|b| b.class_id).collect();
    assert_eq!(classes, [1, 1, 8]); // Aortic enlargement dropped
    assert_eq!(ds.images[1].readers, ["R1", "R2"]);
    assert!(ds.images[1].annotations.is_empty());
    let c: Vec<(u32, String)> = ds.images[2]
        .annotations
        .iter()
        .map(|b| (b.class_id, b.reader()))
        .collect();
    assert_eq!(c, [(4, "R2".to_string()), (5, "R1".to_string())]);
    assert_eq!(report.boxes_kept, 5);
    assert_eq!(report.boxes_read, 9);
    let aortic = &report.per_class["Aortic enlargement"];
    assert_eq!((aortic.kept, aortic.dropped_not_in_label_set), (0, 1));
    let pneumo = &report.per_class["Pneumothorax"];
    assert_eq!((pneumo.kept, pneumo.dropped_with_issue), (0, 1));
    assert_eq!(report.per_class["Cardiomegaly"].kept, 2);
    assert_eq!(report.per_class["Cardiomegaly"].dropped_with_issue, 1);
    // Rows refused while parsing still count against their class.
    assert_eq!(report.per_class["Nodule/Mass"].dropped_with_issue, 1);
    assert_eq!(report.per_class["Atelectasis"].dropped_with_issue, 2);
    assert_eq!(report.per_class["Infiltration"].dropped_with_issue, 1);
    assert_eq!(
        report.per_class["Pleural effusion"].mapped_to.as_deref(),
        Some("Pleural Effusion")
    );
}

#[test]
fn vindr_without_images_keeps_boxes_it_cannot_check() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = write_vindr(dir.path());
    let (ds, report) = import(SourceFormat::Vindr, &csv, &ImportOptions::default()).unwrap();
    // Without sizes the 200-px-wide Pneumothorax box cannot be judged, and
    // img_missing cannot be missed; the note says so.
    assert_eq!(report.boxes_kept, 7);
    assert!(ds.images.iter().all(|i| i.size.is_none()));
    assert!(!report.notes.is_empty());
    assert!(
        report
            .issues
            .iter()
            .all(|i| i.kind != IssueKind::MissingImage)
    );
}

#[test]
fn vindr_bad_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("train.csv");
    let opts = ImportOptions::default();

    std::fs::write(&p, "").unwrap();
    let e = import(SourceFormat::Vindr, &p, &opts).unwrap_err();
    assert!(matches!(e, DatasetError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("train.csv"));

    std::fs::write(&p, "image_id,class_name,x_min\na,b,1\n").unwrap();
    let e = import(SourceFormat::Vindr, &p, &opts).unwrap_err();
    assert!(
        e.to_string().contains("line 1") && e.to_string().contains("rad_id"),
        "{e}"
    );

    std::fs::write(
        &p,
        "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n",
    )
    .unwrap();
    let e = import(SourceFormat::Vindr, &p, &opts).unwrap_err();
    assert!(e.to_string().contains("no data rows"), "{e}");

    let e = import(SourceFormat::Vindr, &dir.path().join("nope.csv"), &opts).unwrap_err();
    assert!(matches!(e, DatasetError::Io { .. }));
}

/// Image sizes come from the headers (`carina_imaging::probe`): the real
/// DICOM samples (JPEG 2000, JPEG baseline, uncompressed) and PNG/JPEG report
/// exactly the size a full decode gives.
#[test]
fn vindr_image_sizes_from_headers_equal_the_decoded_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let samples = crate::common::shared_dir().join("data/samples");
    let files = [
        ("rg1_j2kr", "dicom/RG1_J2KR.dcm", "dcm"),
        ("rg1_uncr", "dicom/RG1_UNCR.dcm", "dicom"),
        ("siim", "dicom/siim_cr_jpeg_baseline.dcm", "dcm"),
        ("nih", "png/00000001_000.png", "png"),
        ("kid", "jpeg/person1946_bacteria_4874.jpeg", "jpeg"),
    ];
    let mut csv = String::from("image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n");
    for (id, rel, ext) in files {
        std::fs::copy(samples.join(rel), images.join(format!("{id}.{ext}"))).unwrap();
        csv += &format!("{id},Nodule/Mass,8,R1,1,1,5,5\n");
    }
    let csv_path = dir.path().join("train.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let opts = ImportOptions {
        images: Some(images),
        ..Default::default()
    };
    let (ds, report) = import(SourceFormat::Vindr, &csv_path, &opts).unwrap();
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(ds.images.len(), files.len());
    for ((id, rel, _), img) in files.iter().zip(&ds.images) {
        assert_eq!(img.id, *id);
        let bytes = std::fs::read(samples.join(rel)).unwrap();
        let d = carina_imaging::decode(&bytes, &carina_imaging::Limits::default()).unwrap();
        assert_eq!(img.size, Some((d.image.width, d.image.height)), "{rel}");
    }
}
