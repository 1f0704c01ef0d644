//! COCO evaluation and per-class AUC against the pycocotools / scikit-learn
//! reference answers in `../shared/fixtures/coco-eval`.

use carina_eval::auc::{image_scores, roc_auc};
use carina_eval::input::detections_from_file;
use carina_eval::{CocoStats, GroundTruth, evaluate};
use serde_json::Value;
use std::path::PathBuf;

const TOL: f64 = 1e-6;

fn case_dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/coco-eval")
        .join(case)
}

fn check_case(case: &str) {
    let dir = case_dir(case);
    let gt = GroundTruth::from_file(&dir.join("gt.json")).unwrap();
    let dt = detections_from_file(&dir.join("dt.json")).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let ev = evaluate(&gt, &dt).unwrap();

    for (name, got) in CocoStats::NAMES.iter().zip(ev.stats.to_array()) {
        let want = expected[name].as_f64().unwrap();
        assert!(
            (got - want).abs() <= TOL,
            "{case}: {name} = {got}, pycocotools says {want}"
        );
        // Same operations in the same order as numpy: equal to the last bit.
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{case}: {name} {got} vs {want}"
        );
    }
    let per_class = expected["per_class"].as_object().unwrap();
    assert_eq!(per_class.len(), ev.categories.len(), "{case}: class count");
    for (c, got) in ev.categories.iter().zip(&ev.per_class_ap) {
        let want = per_class[&c.name].as_f64().unwrap();
        assert!(
            (got - want).abs() <= TOL,
            "{case}: AP of {} = {got}, reference {want}",
            c.name
        );
    }
    let auc = expected["auc"].as_object().unwrap();
    for (c, s) in ev.categories.iter().zip(image_scores(&gt, &dt)) {
        let got = roc_auc(&s.scores, &s.labels);
        match (got, auc[&c.name].as_f64()) {
            (Some(g), Some(w)) => assert!(
                (g - w).abs() <= TOL,
                "{case}: AUC of {} = {g}, scikit-learn {w}",
                c.name
            ),
            (None, None) => {}
            (g, w) => panic!("{case}: AUC of {}: got {g:?}, expected {w:?}", c.name),
        }
    }
}

#[test]
fn tiny_crowds() {
    check_case("tiny");
}

#[test]
fn plain_all_areas() {
    check_case("plain");
}

#[test]
fn many_detections_per_image() {
    check_case("many");
}

#[test]
fn tied_scores() {
    check_case("ties");
}
