//! `carina eval …`: the reference cases through the binary, and bad input.

use crate::{carina, shared_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn case(name: &str) -> PathBuf {
    shared_dir().join("fixtures/coco-eval").join(name)
}

fn eval_json(gt: &Path, dt: &Path) -> Value {
    let out = carina(&[
        "eval",
        "coco",
        "--gt",
        gt.to_str().unwrap(),
        "--dt",
        dt.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

#[test]
fn coco_json_matches_every_reference_case() {
    for name in ["tiny", "plain", "many", "ties"] {
        let dir = case(name);
        let got = eval_json(&dir.join("gt.json"), &dir.join("dt.json"));
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        for key in [
            "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
        ] {
            let (g, w) = (got[key].as_f64().unwrap(), want[key].as_f64().unwrap());
            assert!((g - w).abs() <= 1e-6, "{name} {key}: {g} vs {w}");
        }
        for section in ["per_class", "auc"] {
            let w = want[section].as_object().unwrap();
            let g = got[section].as_object().unwrap();
            assert_eq!(g.len(), w.len(), "{name} {section}");
            for (class, wv) in w {
                match (g[class].as_f64(), wv.as_f64()) {
                    (Some(a), Some(b)) => {
                        assert!(
                            (a - b).abs() <= 1e-6,
                            "{name} {section} {class}: {a} vs {b}"
                        )
                    }
                    (None, None) => assert!(g[class].is_null()),
                    (a, b) => panic!("{name} {section} {class}: {a:?} vs {b:?}"),
                }
            }
        }
        let op = &got["operating_point"];
        assert_eq!(op["score_thr"].as_f64(), Some(0.5));
        assert!(op["overall"]["f1"].is_number() || op["overall"]["f1"].is_null());
        let cm = got["confusion_matrix"]["counts"].as_array().unwrap();
        assert_eq!(cm.len(), got["per_class"].as_object().unwrap().len() + 1);
    }
}

#[test]
fn coco_table_is_readable() {
    let dir = case("plain");
    let out = carina(&[
        "eval",
        "coco",
        "--gt",
        dir.join("gt.json").to_str().unwrap(),
        "--dt",
        dir.join("dt.json").to_str().unwrap(),
        "--score-thr",
        "0.3",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("AP50"), "{text}");
    assert!(text.contains("Cardiomegaly"), "{text}");
    assert!(text.contains("score >= 0.3"), "{text}");
    assert!(text.contains("Confusion matrix"), "{text}");
}

#[test]
fn coco_writes_a_self_contained_html_report() {
    let dir = case("plain");
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("report.html");
    let out = carina(&[
        "eval",
        "coco",
        "--gt",
        dir.join("gt.json").to_str().unwrap(),
        "--dt",
        dir.join("dt.json").to_str().unwrap(),
        "--json",
        "--html",
        report.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("data:image/png;base64,").count(), 3);
    assert!(html.contains("Pleural Effusion"));
    assert!(!out_dir.path().join("report.html.part").exists());
}

/// Runs `eval coco` on a GT and a DT given as text; returns stderr, asserting failure.
fn refused(gt: &str, dt: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (g, d) = (dir.path().join("gt.json"), dir.path().join("dt.json"));
    std::fs::write(&g, gt).unwrap();
    std::fs::write(&d, dt).unwrap();
    let out = carina(&[
        "eval",
        "coco",
        "--gt",
        g.to_str().unwrap(),
        "--dt",
        d.to_str().unwrap(),
        "--json",
    ]);
    assert!(!out.status.success(), "accepted gt={gt} dt={dt}");
    assert!(out.stdout.is_empty(), "printed numbers for bad input");
    String::from_utf8(out.stderr).unwrap()
}

const GT: &str = r#"{"images": [{"id": 1}, {"id": 2}],
 "categories": [{"id": 1, "name": "Nodule/Mass"}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0}]}"#;
const DT: &str = r#"[{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9}]"#;

#[test]
fn good_small_input_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (g, d) = (dir.path().join("gt.json"), dir.path().join("dt.json"));
    std::fs::write(&g, GT).unwrap();
    std::fs::write(&d, DT).unwrap();
    let v = eval_json(&g, &d);
    // pycocotools' precision is tp / (tp + fp + eps): 1 - 2e-16 for a perfect match.
    assert!((v["AP"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(v["auc"]["Nodule/Mass"].as_f64(), Some(1.0));
}

#[test]
fn bad_input_is_refused_with_file_and_place() {
    let e = refused(
        GT,
        r#"[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5"#,
    );
    assert!(e.contains("dt.json") && e.contains("line 1"), "{e}");

    let e = refused(GT, "");
    assert!(e.contains("dt.json") && e.contains("empty"), "{e}");

    let e = refused(
        GT,
        r#"[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]"#,
    );
    assert!(
        e.contains("missing field `score`") && e.contains("line"),
        "{e}"
    );

    let e = refused(
        GT,
        "[\n{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, -3, 4], \"score\": 0.5}]",
    );
    assert!(e.contains("negative width") && e.contains("line 2"), "{e}");

    let e = refused(
        GT,
        r#"[{"image_id": 1, "category_id": 1, "bbox": [1, 2, NaN, 4], "score": 0.5}]"#,
    );
    assert!(e.contains("NaN"), "{e}");

    let e = refused(
        GT,
        r#"[{"image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]"#,
    );
    assert!(
        e.contains("dt.json") && e.contains("[0]") && e.contains("image_id 7"),
        "{e}"
    );

    let e = refused(
        GT,
        r#"[{"image_id": 1, "category_id": 9, "bbox": [1, 2, 3, 4], "score": 0.5}]"#,
    );
    assert!(e.contains("category_id 9"), "{e}");

    let e = refused(GT, GT);
    assert!(e.contains("instances file"), "{e}");

    let e = refused(DT, DT);
    assert!(e.contains("gt.json") && e.contains("results file"), "{e}");

    let e = refused(&GT.replace(r#""area": 400, "#, ""), DT);
    assert!(
        e.contains("gt.json") && e.contains("missing field `area`"),
        "{e}"
    );

    let e = refused(&GT.replace(r#"{"id": 2}"#, r#"{"id": 1}"#), DT);
    assert!(e.contains("image id 1 appears twice"), "{e}");

    let e = refused(
        &GT.replace(
            r#""image_id": 1, "category_id": 1, "bbox""#,
            r#""image_id": 5, "category_id": 1, "bbox""#,
        ),
        DT,
    );
    assert!(
        e.contains("annotations[0]") && e.contains("image_id 5"),
        "{e}"
    );
}

#[test]
fn missing_file_and_bad_threshold_are_refused() {
    let out = carina(&[
        "eval",
        "coco",
        "--gt",
        "/nonexistent/gt.json",
        "--dt",
        "x.json",
    ]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("/nonexistent/gt.json") && e.contains("cannot read"),
        "{e}"
    );

    let dir = case("tiny");
    let out = carina(&[
        "eval",
        "coco",
        "--gt",
        dir.join("gt.json").to_str().unwrap(),
        "--dt",
        dir.join("dt.json").to_str().unwrap(),
        "--score-thr",
        "NaN",
    ]);
    assert!(!out.status.success());
}
