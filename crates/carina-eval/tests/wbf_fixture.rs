//! Weighted Boxes Fusion against the `ensemble-boxes` reference outputs in `../shared/fixtures/wbf`.

use carina_core::BBox;
use carina_eval::wbf::{FusedBox, WbfBox, WbfParams, weighted_boxes_fusion};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/wbf")
}

/// Rows of a simple CSV file (the fixtures have no quoted fields), header dropped.
fn rows(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect("read fixture");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// image → readers in order of first appearance, each with its boxes.
fn readers() -> BTreeMap<String, Vec<(String, Vec<WbfBox>)>> {
    let mut images: BTreeMap<String, Vec<(String, Vec<WbfBox>)>> = BTreeMap::new();
    for r in rows("readers.csv") {
        let readers = images.entry(r[0].clone()).or_default();
        let idx = match readers.iter().position(|(id, _)| *id == r[3]) {
            Some(i) => i,
            None => {
                readers.push((r[3].clone(), Vec::new()));
                readers.len() - 1
            }
        };
        if r[4].is_empty() {
            continue; // "No finding": the reader counts, without a box.
        }
        let c: Vec<f64> = r[4..8].iter().map(|v| v.parse().unwrap()).collect();
        let bbox = BBox::new(c[0], c[1], c[2], c[3]).unwrap();
        readers[idx]
            .1
            .push(WbfBox::new(r[2].parse().unwrap(), bbox, 1.0));
    }
    images
}

fn check(expected_file: &str, iou_thr: f64) {
    let params = WbfParams {
        iou_thr,
        skip_box_thr: 0.0,
    };
    let mut got: BTreeMap<String, Vec<FusedBox>> = BTreeMap::new();
    for (image, readers) in readers() {
        let models: Vec<Vec<WbfBox>> = readers.into_iter().map(|(_, b)| b).collect();
        got.insert(
            image,
            weighted_boxes_fusion(&models, None, &params).unwrap(),
        );
    }
    let mut expected_count = 0;
    for r in rows(expected_file) {
        expected_count += 1;
        let class: u32 = r[2].parse().unwrap();
        let c: Vec<f64> = r[3..8].iter().map(|v| v.parse().unwrap()).collect();
        let fused = got.get_mut(&r[0]).expect("image in result");
        let pos = fused.iter().position(|f| {
            let b = f.bbox.to_array();
            f.class_id == class
                && (0..4).all(|k| (b[k] - c[k]).abs() <= 0.01)
                && (f.score - c[4]).abs() <= 1e-6
        });
        match pos {
            Some(p) => {
                fused.remove(p);
            }
            None => panic!(
                "{expected_file}: expected row {r:?} not produced; left for the image: {fused:?}"
            ),
        }
    }
    let extra: Vec<_> = got.iter().filter(|(_, v)| !v.is_empty()).collect();
    assert!(
        extra.is_empty(),
        "{expected_file}: unexpected boxes {extra:?}"
    );
    assert!(expected_count > 50, "fixture read");
}

#[test]
fn matches_ensemble_boxes_at_iou_0_6() {
    check("expected_iou0.6.csv", 0.6);
}

#[test]
fn matches_ensemble_boxes_at_iou_0_4() {
    check("expected_iou0.4.csv", 0.4);
}
