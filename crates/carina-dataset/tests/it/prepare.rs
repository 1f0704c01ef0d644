//! `prepare` on generated PNG datasets and on the real DICOM samples.

use crate::common::{shared_dir, write_png, write_vindr};
use carina_core::BBox;
use carina_core::coco::CocoDataset;
use carina_core::manifest::PreparedManifest;
use carina_dataset::classes::SourceFormat;
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::merge::fuse_dataset;
use carina_dataset::prepare::{PrepareOptions, prepare};
use carina_eval::wbf::WbfParams;
use std::collections::BTreeSet;
use std::path::Path;

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> T {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn splits(out: &Path) -> (CocoDataset, CocoDataset) {
    (
        read_json(&out.join("train.json")),
        read_json(&out.join("val.json")),
    )
}

#[test]
fn prepared_boxes_map_back_to_the_fused_originals() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let opts = ImportOptions {
        images: Some(images),
        ..Default::default()
    };
    let (ds, _) = import(SourceFormat::Vindr, &csv, &opts).unwrap();
    let out = dir.path().join("prepared");
    let popts = PrepareOptions {
        size: 64,
        ..Default::default()
    };
    let summary = prepare(&ds, &out, &popts, &|| {}).unwrap();
    let manifest: PreparedManifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest.format, "carina-prepared/1");
    assert!(!manifest.synthetic);
    assert_eq!(manifest.image_size, 64);
    assert_eq!(manifest.class_names.len(), 9);
    assert_eq!(manifest.splits["train"], "train.json");

    let fused = fuse_dataset(&ds, &WbfParams::default()).unwrap();
    let (train, val) = splits(&out);
    assert_eq!(train.images.len() + val.images.len(), 3);
    assert_eq!(
        summary.counts.images["train"] + summary.counts.images["val"],
        3
    );
    let mut checked = 0;
    for coco in [&train, &val] {
        for im in &coco.images {
            let lb = im.letterbox.unwrap();
            let src = fused
                .images
                .iter()
                .find(|i| Some(&i.id) == im.source.as_ref())
                .unwrap();
            assert_eq!((lb.orig_width, lb.orig_height), src.size.unwrap());
            let decoded = image::open(out.join("images").join(&im.file_name)).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (64, 64));
            let anns: Vec<_> = coco
                .annotations
                .iter()
                .filter(|a| a.image_id == im.id)
                .collect();
            assert_eq!(anns.len(), src.annotations.len());
            for (a, orig) in anns.iter().zip(&src.annotations) {
                let [x, y, w, h] = a.bbox;
                let back = lb.to_original(&BBox::new(x, y, x + w, y + h).unwrap());
                for (p, q) in back.to_array().iter().zip(orig.bbox.to_array()) {
                    assert!((p - q).abs() < 1e-9, "{back:?} vs {:?}", orig.bbox);
                }
                assert_eq!(a.category_id, i64::from(orig.class_id));
                checked += 1;
            }
        }
    }
    // img_a: two Cardiomegaly readers fused into one, plus one effusion;
    // img_c: nodule and thickening.
    assert_eq!(checked, 4);
}

#[test]
fn prepared_pixels_are_the_letterboxed_original() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let (ds, _) = import(
        SourceFormat::Vindr,
        &csv,
        &ImportOptions {
            images: Some(images.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let out = dir.path().join("p16");
    let popts = PrepareOptions {
        size: 100,
        bit_depth: 16,
        ..Default::default()
    };
    prepare(&ds, &out, &popts, &|| {}).unwrap();
    let (train, val) = splits(&out);
    // img_b is 120x160: scale 100/160, scaled 75x100, padding right of x=75.
    let im = train
        .images
        .iter()
        .chain(&val.images)
        .find(|i| i.source.as_deref() == Some("img_b"))
        .unwrap();
    assert_eq!(im.letterbox.unwrap().scaled_size(), (75, 100));
    let png = image::open(out.join("images").join(&im.file_name))
        .unwrap()
        .into_luma16();
    assert_eq!(png.dimensions(), (100, 100));
    assert!(
        (75..100).all(|x| png.get_pixel(x, 50)[0] == 0),
        "padding is black"
    );
    // 16-bit keeps values: the 8-bit gradient stays within 0..=255, and a
    // pixel inside matches the original near the mapped spot.
    let orig = image::open(images.join("img_b.png")).unwrap().into_luma8();
    let (mx, my) = (40u32, 40u32);
    let (ox, oy) = (
        (f64::from(mx) + 0.5) * 1.6 - 0.5,
        (f64::from(my) + 0.5) * 1.6 - 0.5,
    );
    let near = orig.get_pixel(ox.round() as u32, oy.round() as u32)[0] as i32;
    let got = png.get_pixel(mx, my)[0] as i32;
    assert!(got <= 255);
    assert!((got - near).abs() <= 12, "got {got}, original near {near}");
}

/// 40 generated images with classes of very different frequency.
fn many_images(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n");
    let classes = [
        "Cardiomegaly",
        "Pleural effusion",
        "Nodule/Mass",
        "Pneumothorax",
        "Atelectasis",
    ];
    for i in 0..40u32 {
        let id = format!("im{i:02}");
        write_png(&images.join(format!("{id}.png")), 48 + i % 5, 40);
        // Class k on images where i % (k*4+2) == 0: class 4 on 4 images.
        let mut any = false;
        for (k, c) in classes.iter().enumerate() {
            if i % (k as u32 * 4 + 2) == 0 {
                csv += &format!("{id},{c},0,R1,{},{},{},{}\n", 2 + k, 3, 20 + k, 30);
                csv += &format!("{id},{c},0,R2,{},{},{},{}\n", 3 + k, 4, 21 + k, 31);
                any = true;
            }
        }
        if !any {
            csv += &format!("{id},No finding,14,R1,,,,\n");
        }
    }
    let p = dir.join("train.csv");
    std::fs::write(&p, csv).unwrap();
    (p, images)
}

#[test]
fn split_is_stratified_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = many_images(dir.path());
    let (ds, report) = import(
        SourceFormat::Vindr,
        &csv,
        &ImportOptions {
            images: Some(images),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(report.issues.is_empty());
    let popts = PrepareOptions {
        size: 32,
        ..Default::default()
    };
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let c = dir.path().join("c");
    let sa = prepare(&ds, &a, &popts, &|| {}).unwrap();
    prepare(&ds, &b, &popts, &|| {}).unwrap();
    prepare(
        &ds,
        &c,
        &PrepareOptions {
            seed: 7,
            ..popts.clone()
        },
        &|| {},
    )
    .unwrap();
    assert_eq!(
        (sa.counts.images["train"], sa.counts.images["val"]),
        (32, 8)
    );
    assert!(sa.warnings.is_empty(), "{:?}", sa.warnings);
    for name in [
        "Cardiomegaly",
        "Pleural Effusion",
        "Nodule/Mass",
        "Pneumothorax",
        "Atelectasis",
    ] {
        let c = &sa.counts.per_class[name];
        assert!(
            c["train"].images > 0 && c["val"].images > 0,
            "{name}: {c:?}"
        );
    }
    for f in ["train.json", "val.json", "summary.json"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    for e in std::fs::read_dir(a.join("images")).unwrap() {
        let e = e.unwrap();
        let other = std::fs::read(b.join("images").join(e.file_name())).unwrap();
        assert_eq!(std::fs::read(e.path()).unwrap(), other);
    }
    let ids = |p: &Path| -> BTreeSet<String> {
        let v: CocoDataset = read_json(&p.join("val.json"));
        v.images.into_iter().map(|i| i.source.unwrap()).collect()
    };
    assert_ne!(ids(&a), ids(&c), "another seed gives another split");
}

#[test]
fn refuses_non_empty_output_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let (ds, _) = import(SourceFormat::Vindr, &csv, &ImportOptions::default()).unwrap();
    let out = dir.path().join("out");
    let e = prepare(&ds, &out, &PrepareOptions::default(), &|| {}).unwrap_err();
    assert!(e.to_string().contains("--images"), "{e}");
    assert!(!out.exists());

    let (ds, _) = import(
        SourceFormat::Vindr,
        &csv,
        &ImportOptions {
            images: Some(images.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let e = prepare(&ds, &images, &PrepareOptions::default(), &|| {}).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");

    // An image that turns unreadable after import: the error names it and
    // no manifest (nor folder) is left.
    std::fs::write(images.join("img_c.png"), b"not a png").unwrap();
    let e = prepare(&ds, &out, &PrepareOptions::default(), &|| {}).unwrap_err();
    assert!(e.to_string().contains("img_c"), "{e}");
    assert!(!out.join("manifest.json").exists());
    assert!(!out.exists());
    // Nor a temporary folder beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".carina-prepare"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_empty_output_folder_is_replaced_by_the_prepared_one() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let opts = ImportOptions {
        images: Some(images),
        ..Default::default()
    };
    let (ds, _) = import(SourceFormat::Vindr, &csv, &opts).unwrap();
    let out = dir.path().join("empty");
    std::fs::create_dir(&out).unwrap();
    let popts = PrepareOptions {
        size: 32,
        ..Default::default()
    };
    prepare(&ds, &out, &popts, &|| {}).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "images",
            "manifest.json",
            "summary.json",
            "train.json",
            "val.json"
        ]
    );
    assert_eq!(std::fs::read_dir(out.join("images")).unwrap().count(), 3);
    let e = prepare(&ds, &out, &popts, &|| {}).unwrap_err();
    assert!(
        e.to_string().ends_with("already exists and is not empty"),
        "{e}"
    );
}

#[test]
fn real_dicom_samples_are_prepared() {
    let dicom = shared_dir().join("data/samples/dicom");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("train.csv");
    // Boxes invented for the test (the samples have no expert boxes).
    std::fs::write(
        &csv,
        "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n\
         RG1_UNCR,Nodule/Mass,8,R1,600,500,800,700\n\
         RG1_UNCR,Nodule/Mass,8,R2,610,505,805,690\n\
         siim_cr_jpeg_baseline,Cardiomegaly,3,R1,300,500,700,800\n\
         siim_cr_monochrome1,No finding,14,R1,,,,\n",
    )
    .unwrap();
    let (ds, report) = import(
        SourceFormat::Vindr,
        &csv,
        &ImportOptions {
            images: Some(dicom),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    let rg1 = ds.images.iter().find(|i| i.id == "RG1_UNCR").unwrap();
    let (w, h) = rg1.size.unwrap();
    assert_eq!(w.max(h), 1955);
    let out = dir.path().join("out");
    let popts = PrepareOptions {
        size: 256,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let summary = prepare(&ds, &out, &popts, &|| {}).unwrap();
    eprintln!("prepared 3 DICOM images in {:?}", t.elapsed());
    assert_eq!(
        summary.counts.images["train"] + summary.counts.images["val"],
        3
    );
    let (train, val) = splits(&out);
    for im in train.images.iter().chain(&val.images) {
        let lb = im.letterbox.unwrap();
        assert_eq!(lb.size, 256);
        let jpg = image::open(out.join("images").join(&im.file_name))
            .unwrap()
            .into_luma8();
        assert_eq!(jpg.dimensions(), (256, 256));
        // Windowed, not blank: the lung field has both dark and bright pixels.
        let (min, max) = jpg
            .pixels()
            .fold((255u8, 0u8), |(a, b), p| (a.min(p[0]), b.max(p[0])));
        assert!(max - min > 100, "{}: range {min}..{max}", im.file_name);
    }
    let all: Vec<_> = train.annotations.iter().chain(&val.annotations).collect();
    assert_eq!(all.len(), 2, "two RG1 readers fuse into one box");
}
