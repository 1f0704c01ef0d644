//! Integration tests of the generator: reproducibility, labels, the
//! prepared-dataset files, insert mode on real normal radiographs, errors.

use carina_core::Finding;
use carina_core::coco::CocoDataset;
use carina_core::manifest::{MANIFEST_FORMAT, PreparedManifest};
use carina_synth::insert::{background_from_bytes, estimate_frame};
use carina_synth::{
    Mode, SynthConfig, SynthError, render_insert, render_procedural, write_dataset,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// A folder holding only the labelled-normal JPEGs of ../shared.
fn normal_backgrounds() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = shared().join("data/samples/jpeg");
    let mut n = 0;
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("NORMAL2-") {
            std::fs::copy(&p, dir.path().join(&name)).unwrap();
            n += 1;
        }
    }
    assert!(n >= 4, "the labelled-normal JPEGs are in ../shared");
    dir
}

fn read<T: serde::de::DeserializeOwned>(p: &Path) -> T {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn config(count: usize, seed: u64, size: u32) -> SynthConfig {
    let mut c = SynthConfig::new(count, seed);
    c.size = size;
    c
}

#[test]
fn same_seed_same_image_different_seed_different_image() {
    let f = [Finding::PleuralEffusion, Finding::NoduleMass];
    let a = render_procedural(11, 192, &f);
    let b = render_procedural(11, 192, &f);
    assert_eq!(a.image.data, b.image.data);
    assert_eq!(a.annotations, b.annotations);
    let c = render_procedural(12, 192, &f);
    assert_ne!(a.image.data, c.image.data);
}

#[test]
fn dataset_is_reproducible_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (dir.path().join("x"), dir.path().join("y"));
    let cfg = config(6, 5, 128);
    write_dataset(&cfg, &x, &|| {}).unwrap();
    write_dataset(&cfg, &y, &|| {}).unwrap();
    for f in ["train.json", "val.json", "summary.json"] {
        assert_eq!(
            std::fs::read(x.join(f)).unwrap(),
            std::fs::read(y.join(f)).unwrap(),
            "{f}"
        );
    }
    for i in 1..=6 {
        let f = format!("images/synth_{i:06}.png");
        assert_eq!(
            std::fs::read(x.join(&f)).unwrap(),
            std::fs::read(y.join(&f)).unwrap(),
            "{f}"
        );
    }
}

/// Parses a written dataset back with carina-core's types and checks it
/// is consistent; returns the splits.
fn check_dataset(dir: &Path, count: usize, size: u32, bit_depth: u8) -> Vec<CocoDataset> {
    let m: PreparedManifest = read(&dir.join("manifest.json"));
    assert_eq!(m.format, MANIFEST_FORMAT);
    assert!(m.synthetic);
    assert!(m.description.contains("carina-synth") && m.description.contains("seed"));
    assert_eq!((m.image_size, m.bit_depth), (size, bit_depth));
    let names: Vec<String> = Finding::ALL.iter().map(|f| f.name().to_string()).collect();
    assert_eq!(m.class_names, names);
    let mut splits = Vec::new();
    let mut ids = BTreeSet::new();
    for file in m.splits.values() {
        let coco: CocoDataset = read(&dir.join(file));
        assert_eq!(coco.categories.len(), 9);
        for (i, c) in coco.categories.iter().enumerate() {
            assert_eq!((c.id, c.name.as_str()), (i as i64, Finding::ALL[i].name()));
        }
        let image_ids: BTreeSet<i64> = coco.images.iter().map(|i| i.id).collect();
        for img in &coco.images {
            assert!(ids.insert(img.id), "image {} in two splits", img.id);
            assert_eq!(img.synthetic, Some(true));
            assert_eq!(img.size(), Some((size, size)));
            let png = image::open(dir.join(&m.images_dir).join(&img.file_name)).unwrap();
            assert_eq!((png.width(), png.height()), (size, size));
            let expect16 = bit_depth == 16;
            assert_eq!(matches!(png, image::DynamicImage::ImageLuma16(_)), expect16);
        }
        for a in &coco.annotations {
            assert!(image_ids.contains(&a.image_id));
            assert!((0..9).contains(&a.category_id));
            let [x, y, w, h] = a.bbox;
            assert!(
                x >= 0.0 && y >= 0.0 && x + w <= f64::from(size) && y + h <= f64::from(size),
                "{:?}",
                a.bbox
            );
            assert!(w >= 4.0 && h >= 4.0, "degenerate box {:?}", a.bbox);
            assert!((a.area - w * h).abs() < 1e-6);
        }
        splits.push(coco);
    }
    assert_eq!(ids.len(), count);
    splits
}

#[test]
fn every_class_in_both_splits_over_a_modest_count() {
    let dir = tempfile::tempdir().unwrap().keep();
    let out = dir.join("ds");
    let summary = write_dataset(&config(40, 21, 128), &out, &|| {}).unwrap();
    let splits = check_dataset(&out, 40, 128, 8);
    assert_eq!(splits.len(), 2);
    for coco in &splits {
        let present: BTreeSet<i64> = coco.annotations.iter().map(|a| a.category_id).collect();
        assert_eq!(present.len(), 9, "classes present in a split: {present:?}");
    }
    assert_eq!(
        summary.counts.images["train"] + summary.counts.images["val"],
        40
    );
    assert_eq!(summary.counts.images["val"], 8, "an 80/20 split");
    assert!(
        summary.counts.images_without_boxes.values().sum::<usize>() > 0,
        "some normal images"
    );
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    for (class, per_split) in &summary.counts.per_class {
        assert!(
            per_split["train"].images > 0 && per_split["val"].images > 0,
            "{class}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sixteen_bit_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(3, 2, 96);
    cfg.bit_depth = 16;
    cfg.val_fraction = 0.0;
    write_dataset(&cfg, &dir.path().join("d"), &|| {}).unwrap();
    let splits = check_dataset(&dir.path().join("d"), 3, 96, 16);
    assert_eq!(splits.len(), 1, "no val split when asked for none");
}

#[test]
fn boxes_follow_the_findings() {
    // Pleural effusion boxes lie in the lower chest, pneumothorax boxes
    // touch the upper half, cardiomegaly boxes are wide.
    for seed in 0..6 {
        let r = render_procedural(
            100 + seed,
            256,
            &[
                Finding::PleuralEffusion,
                Finding::Pneumothorax,
                Finding::Cardiomegaly,
            ],
        );
        let h = r.image.h as f64;
        let w = r.image.w as f64;
        for a in &r.annotations {
            let (cx, cy) = a.bbox.center();
            match a.finding {
                Finding::PleuralEffusion => {
                    assert!(a.bbox.y_max() > 0.45 * h, "effusion {:?}", a.bbox)
                }
                Finding::Pneumothorax => {
                    assert!(a.bbox.y_min() < 0.5 * h, "pneumothorax {:?}", a.bbox)
                }
                Finding::Cardiomegaly => {
                    assert!(a.bbox.width() > 0.3 * w, "heart {:?}", a.bbox);
                    assert!((cx - w / 2.0).abs() < 0.2 * w && cy > 0.3 * h);
                }
                _ => unreachable!(),
            }
        }
        assert!(r.annotations.len() >= 2, "seed {seed}: {:?}", r.annotations);
    }
}

#[test]
fn findings_change_the_image_inside_their_box() {
    // The same background with and without a nodule: the change sits in
    // the box.
    let bytes = std::fs::read(shared().join("data/samples/png/00027426_000.png")).unwrap();
    let bg = background_from_bytes(&bytes, 256).unwrap();
    for (seed, f) in [
        (1, Finding::NoduleMass),
        (2, Finding::Consolidation),
        (3, Finding::PleuralEffusion),
    ] {
        let with = render_insert(&bg, seed, 256, &[f]);
        let without = render_insert(&bg, seed, 256, &[]);
        let b = with
            .annotations
            .first()
            .unwrap_or_else(|| panic!("{f:?} boxed"))
            .bbox;
        let (mut inside, mut outside) = (0.0, 0.0);
        for y in 0..with.image.h {
            for x in 0..with.image.w {
                let d = (with.image.at(x, y) - without.image.at(x, y)).abs() as f64;
                let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
                if fx >= b.x_min() && fx < b.x_max() && fy >= b.y_min() && fy < b.y_max() {
                    inside += d;
                } else {
                    outside += d;
                }
            }
        }
        assert!(
            inside > 0.0 && inside > 3.0 * outside,
            "{f:?}: inside {inside}, outside {outside}"
        );
    }
}

#[test]
fn lungs_are_found_on_real_radiographs() {
    for name in ["png/00000001_000.png", "png/00027426_000.png"] {
        let bytes = std::fs::read(shared().join("data/samples").join(name)).unwrap();
        let bg = background_from_bytes(&bytes, 256).unwrap();
        let f = estimate_frame(&bg.image);
        // Midline near the centre, lungs about 30-45 % of the width each
        // side, apices in the upper fifth, domes in the lower middle.
        assert!((f.ox - 128.0).abs() < 20.0, "{name}: midline {}", f.ox);
        assert!((70.0..125.0).contains(&f.su), "{name}: half-width {}", f.su);
        assert!(f.oy < 60.0, "{name}: apex {}", f.oy);
        let dome = f.oy + f.sv;
        assert!((130.0..200.0).contains(&dome), "{name}: dome {dome}");
    }
}

#[test]
fn insert_mode_on_real_normal_radiographs() {
    let bgs = normal_backgrounds();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(12, 9, 192);
    cfg.mode = Mode::Insert;
    cfg.backgrounds = Some(bgs.path().to_path_buf());
    let out = dir.path().join("ins");
    let summary = write_dataset(&cfg, &out, &|| {}).unwrap();
    let splits = check_dataset(&out, 12, 192, 8);
    let boxes: usize = summary.counts.boxes.values().sum();
    assert!(boxes >= 8, "{boxes} boxes");
    for coco in &splits {
        for img in &coco.images {
            assert!(
                img.source
                    .as_deref()
                    .unwrap()
                    .starts_with("synth:insert:background-")
            );
            let lb = img.letterbox.unwrap();
            // The paediatric JPEGs are larger than 192 px and not square.
            assert!(lb.scale < 1.0 && lb.orig_width != lb.orig_height);
        }
    }
    let m: PreparedManifest = read(&out.join("manifest.json"));
    assert!(m.description.contains("real normal radiographs"));
}

#[test]
fn mixed_mode_uses_both_sources() {
    let bgs = normal_backgrounds();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(10, 4, 128);
    cfg.mode = Mode::Mixed;
    cfg.backgrounds = Some(bgs.path().to_path_buf());
    write_dataset(&cfg, &dir.path().join("mix"), &|| {}).unwrap();
    let mut sources = BTreeSet::new();
    for coco in check_dataset(&dir.path().join("mix"), 10, 128, 8) {
        for i in coco.images {
            sources.insert(i.source.unwrap().split(':').nth(1).unwrap().to_string());
        }
    }
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        ["insert", "procedural"]
    );
}

#[test]
fn bad_settings_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let err = write_dataset(&config(0, 1, 128), &out, &|| {}).unwrap_err();
    assert!(matches!(err, SynthError::Config(_)), "{err}");
    let mut c = config(2, 1, 128);
    c.mode = Mode::Insert;
    assert!(matches!(
        write_dataset(&c, &out, &|| {}),
        Err(SynthError::Config(_))
    ));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    c.backgrounds = Some(empty.clone());
    let err = write_dataset(&c, &out, &|| {}).unwrap_err();
    assert!(err.to_string().contains("no PNG or JPEG"), "{err}");
    std::fs::write(empty.join("x.png"), b"not a png").unwrap();
    assert!(matches!(
        write_dataset(&c, &out, &|| {}),
        Err(SynthError::Backgrounds(_))
    ));
    let mut c = config(2, 1, 128);
    c.bit_depth = 12;
    assert!(write_dataset(&c, &out, &|| {}).is_err());
    assert!(!out.exists());
    // A non-empty output folder is never overwritten.
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"x").unwrap();
    let err = write_dataset(&config(1, 1, 96), &full, &|| {}).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    // No temporary folders are left beside the output either.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".carina-synth"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
