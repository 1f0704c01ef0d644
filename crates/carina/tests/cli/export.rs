//! `carina export onnx` and `carina predict --engine`: the exported graph, and the same
//! detections from every engine on a real radiograph.

use crate::{carina, shared_dir};

fn lite0() -> String {
    shared_dir()
        .join("fixtures/effdet/tf_efficientdet_lite0/weights.safetensors")
        .display()
        .to_string()
}

#[test]
fn export_onnx_writes_a_graph() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("lite0.onnx");
    let out = carina(&[
        "export",
        "onnx",
        "--weights",
        &lite0(),
        "-o",
        &out_path.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&out_path).unwrap();
    // The weights are embedded: the file is at least as large as the float32 weights.
    let weights = std::fs::metadata(lite0()).unwrap().len() as usize;
    assert!(bytes.len() > weights * 9 / 10, "{} bytes", bytes.len());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("input [1, 3, 320, 320], 10 outputs"),
        "{text}"
    );
    // Only the output file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // A missing weights file or an output folder: clear errors, nothing written.
    let out = carina(&[
        "export",
        "onnx",
        "--weights",
        "/nonexistent.safetensors",
        "-o",
        "x.onnx",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.safetensors"));
    let out = carina(&[
        "export",
        "onnx",
        "--weights",
        &lite0(),
        "-o",
        &dir.path().display().to_string(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a folder"));
}

fn predict(engine: &str, image: &str) -> (Vec<serde_json::Value>, String) {
    let out = carina(&[
        "predict",
        "--weights",
        &lite0(),
        "--image",
        image,
        "--json",
        "--engine",
        engine,
    ]);
    assert!(
        out.status.success(),
        "{engine}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).expect("a JSON list"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn burn_and_tract_agree_on_a_radiograph() {
    let image = shared_dir()
        .join("data/samples/png/00000001_000.png")
        .display()
        .to_string();
    let (burn, _) = predict("burn", &image);
    let (tract, _) = predict("tract", &image);
    assert!(!burn.is_empty());
    assert_eq!(burn.len(), tract.len());
    for (a, b) in burn.iter().zip(&tract) {
        assert_eq!(a["class_id"], b["class_id"]);
        let (sa, sb) = (a["score"].as_f64().unwrap(), b["score"].as_f64().unwrap());
        assert!((sa - sb).abs() < 1e-4, "{a} {b}");
        for k in 0..4 {
            let (x, y) = (
                a["bbox"][k].as_f64().unwrap(),
                b["bbox"][k].as_f64().unwrap(),
            );
            // Original pixels of a 1024-pixel image: 0.05 px at model scale is ~0.2 px here.
            assert!((x - y).abs() < 0.2, "{a} {b}");
        }
    }
    // ONNX Runtime is not in the default build: it says so and runs tract instead.
    let (ort, note) = predict("ort", &image);
    if !cfg!(feature = "ort") {
        assert!(note.contains("no ONNX Runtime support"), "{note}");
        assert_eq!(ort, tract);
    }
    let out = carina(&[
        "predict",
        "--weights",
        &lite0(),
        "--image",
        &image,
        "--engine",
        "gpu",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use burn, tract or ort"));
}
