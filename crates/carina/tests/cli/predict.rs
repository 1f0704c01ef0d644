//! `carina predict`: the fixture detector on the real sample radiographs, and bad input.

use crate::{carina, shared_dir};

fn weights(arch: &str) -> String {
    shared_dir()
        .join("fixtures/effdet")
        .join(arch)
        .join("weights.safetensors")
        .display()
        .to_string()
}

/// Every row has the product's fields, a known class, a score in range and a box inside the image.
fn check_rows(rows: &[serde_json::Value], max_det: usize, score_thr: f64) {
    assert!(rows.len() <= max_det);
    let mut last = f64::INFINITY;
    for r in rows {
        let id = r["class_id"].as_u64().expect("class_id");
        assert!(id < 9);
        assert!(r["class_name"].as_str().is_some_and(|s| !s.is_empty()));
        let score = r["score"].as_f64().expect("score");
        assert!((score_thr..=1.0).contains(&score));
        assert!(score <= last, "best first");
        last = score;
        let b: Vec<f64> = r["bbox"]
            .as_array()
            .expect("bbox")
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(b.len(), 4);
        assert!(b[0] >= 0.0 && b[1] >= 0.0 && b[0] <= b[2] && b[1] <= b[3]);
    }
}

#[test]
fn every_sample_runs_with_lite0() {
    let out = carina(&[
        "predict",
        "--weights",
        &weights("tf_efficientdet_lite0"),
        "--dir",
        &shared_dir().join("data/samples").display().to_string(),
        "--json",
        "--max-det",
        "20",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    // 5 DICOM, 2 PNG and 8 JPEG samples.
    assert_eq!(lines.len(), 15, "{text}");
    for l in &lines {
        assert!(l["error"].is_null(), "{l}");
        check_rows(l["detections"].as_array().expect("detections"), 20, 0.05);
    }
}

#[test]
fn one_dicom_with_d0_in_original_pixels() {
    let image = shared_dir().join("data/samples/dicom/siim_cr_monochrome1.dcm");
    let out = carina(&[
        "predict",
        "--weights",
        &weights("tf_efficientdet_d0"),
        "--image",
        &image.display().to_string(),
        "--json",
        "--score-thr",
        "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    // 5000 candidates always leave more than 100 boxes after NMS.
    assert_eq!(rows.len(), 100);
    check_rows(&rows, 100, 0.0);
    // Boxes spread over the whole model input must reach beyond x = 512 in the (larger)
    // original image, showing they were mapped back to its pixels.
    let max_x = rows
        .iter()
        .map(|r| r["bbox"][2].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(max_x > 512.0, "max x {max_x}");
}

#[test]
fn clear_errors() {
    let png = shared_dir()
        .join("data/samples/png/00000001_000.png")
        .display()
        .to_string();
    // Not an image.
    let licence = shared_dir().join("data/samples/LICENSE.torchxrayvision-tests.txt");
    let out = carina(&[
        "predict",
        "--weights",
        &weights("tf_efficientdet_lite0"),
        "--image",
        &licence.display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a readable image"));
    // Wrong architecture or class count asked for.
    let out = carina(&[
        "predict",
        "--weights",
        &weights("tf_efficientdet_lite0"),
        "--image",
        &png,
        "--arch",
        "tf_efficientdet_d0",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tf_efficientdet_lite0"));
    let out = carina(&[
        "predict",
        "--weights",
        &weights("tf_efficientdet_lite0"),
        "--image",
        &png,
        "--num-classes",
        "14",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("9 classes"));
    // A weights file that is not one.
    let out = carina(&["predict", "--weights", &png, "--image", &png]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a readable weights file"));
}
