//! `carina eval model`: a model trained here on synthetic data, evaluated on a
//! synthetic prepared split; its numbers checked against `carina eval coco`
//! and `carina predict` run independently, and bad input refused.

use crate::{carina, shared_dir};
use carina_core::coco::CocoDataset;
use serde_json::{Value, json};
use std::path::Path;

fn ok(o: &std::process::Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn err(o: &std::process::Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 12-image synthetic dataset at 128 px and a model trained on it for 2 steps.
fn synth_and_train(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    ok(&carina(&[
        "dataset",
        "synth",
        "--count",
        "12",
        "--out",
        s(&data),
        "--seed",
        "5",
        "--size",
        "128",
    ]));
    let run = dir.join("run");
    let init = format!(
        "imagenet-lite0:{}",
        shared_dir()
            .join("weights/efficientnet-lite0-imagenet.safetensors")
            .display()
    );
    ok(&carina(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--arch",
        "tf_efficientdet_lite0",
        "--init",
        &init,
        "--set",
        "image_size=128",
        "--set",
        "steps=2",
        "--set",
        "batch_size=2",
        "--set",
        "val.every_steps=0",
    ]));
    (data, run.join("model"))
}

/// The synthetic images scaled ×3 (nearest) as 384-px "originals" with a
/// VinDr CSV of their boxes (one reader), prepared back to 128 px by
/// `carina dataset prepare`: every letterbox then has scale 1/3.
fn prepared_from_synth(synth: &Path, dir: &Path) -> std::path::PathBuf {
    let originals = dir.join("originals");
    std::fs::create_dir_all(&originals).unwrap();
    let mut csv = String::from("image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n");
    for split in ["train", "val"] {
        let coco: CocoDataset =
            serde_json::from_slice(&std::fs::read(synth.join(format!("{split}.json"))).unwrap())
                .unwrap();
        for im in &coco.images {
            let small = image::open(synth.join("images").join(&im.file_name))
                .unwrap()
                .into_luma8();
            let big =
                image::imageops::resize(&small, 384, 384, image::imageops::FilterType::Nearest);
            let id = format!("{split}_{}", im.id);
            big.save(originals.join(format!("{id}.png"))).unwrap();
            let boxes: Vec<_> = coco
                .annotations
                .iter()
                .filter(|a| a.image_id == im.id)
                .collect();
            if boxes.is_empty() {
                csv += &format!("{id},No finding,14,R1,,,,\n");
            }
            for a in boxes {
                let [x, y, w, h] = a.bbox.map(|v| v * 3.0);
                let name = &coco.categories[a.category_id as usize].name;
                csv += &format!("{id},{name},0,R1,{x},{y},{},{}\n", x + w, y + h);
            }
        }
    }
    let csv_path = dir.join("train.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let out = dir.join("prepared");
    ok(&carina(&[
        "dataset",
        "prepare",
        "--format",
        "vindr",
        s(&csv_path),
        "--images",
        s(&originals),
        "--out",
        s(&out),
        "--size",
        "128",
        "--seed",
        "2",
        "--no-fuse",
        "--strict",
    ]));
    let boxes = |d: &Path| -> usize {
        ["train", "val"]
            .iter()
            .map(|sp| {
                let c: CocoDataset =
                    serde_json::from_slice(&std::fs::read(d.join(format!("{sp}.json"))).unwrap())
                        .unwrap();
                c.annotations.len()
            })
            .sum()
    };
    assert_eq!(
        boxes(&out),
        boxes(synth),
        "every synthetic box was prepared"
    );
    out
}

/// The split's ground truth mapped to original pixels by this test's own
/// arithmetic: x_orig = (x - pad) / scale, clipped to the original image.
fn original_gt(split: &CocoDataset) -> Value {
    let lb = |id: i64| {
        split
            .images
            .iter()
            .find(|i| i.id == id)
            .unwrap()
            .letterbox
            .unwrap()
    };
    let anns: Vec<Value> = split
        .annotations
        .iter()
        .map(|a| {
            let t = lb(a.image_id);
            let [x, y, w, h] = a.bbox;
            let (ow, oh) = (f64::from(t.orig_width), f64::from(t.orig_height));
            let x0 = ((x - t.pad_x) / t.scale).clamp(0.0, ow);
            let y0 = ((y - t.pad_y) / t.scale).clamp(0.0, oh);
            let x1 = ((x + w - t.pad_x) / t.scale).clamp(0.0, ow);
            let y1 = ((y + h - t.pad_y) / t.scale).clamp(0.0, oh);
            json!({"id": a.id, "image_id": a.image_id, "category_id": a.category_id,
                   "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
        })
        .collect();
    let images: Vec<Value> = split
        .images
        .iter()
        .map(|i| {
            let t = i.letterbox.unwrap();
            json!({"id": i.id, "width": t.orig_width, "height": t.orig_height})
        })
        .collect();
    json!({"images": images, "annotations": anns, "categories": split.categories})
}

fn close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9, "{path}: {x} vs {y}");
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (k, v) in x {
                close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                close(p, q, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn eval_model_agrees_with_eval_coco_and_predict_in_original_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let (synth, model) = synth_and_train(tmp.path());
    let data = prepared_from_synth(&synth, tmp.path());
    let out = tmp.path().join("eval.json");
    let html = tmp.path().join("report.html");
    let dt = tmp.path().join("dt.json");
    let log = model.join("log.csv");
    let o = carina(&[
        "eval",
        "model",
        "--weights",
        s(&model),
        "--data",
        s(&data),
        "--split",
        "val",
        "--score-thr",
        "0.3",
        "--json",
        s(&out),
        "--html",
        s(&html),
        "--predictions",
        s(&dt),
        "--train-log",
        s(&log),
    ]);
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Inference: "), "{stdout}");
    let got: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();

    // The same numbers from `carina eval coco` on the detections it wrote and
    // the ground truth mapped to original pixels here.
    let split: CocoDataset =
        serde_json::from_slice(&std::fs::read(data.join("val.json")).unwrap()).unwrap();
    let n_val = split.images.len();
    assert!(n_val >= 2);
    for i in &split.images {
        let t = i.letterbox.unwrap();
        assert!(
            (t.scale - 1.0 / 3.0).abs() < 1e-12 && t.orig_width == 384,
            "{t:?}"
        );
    }
    let gt_path = tmp.path().join("gt_orig.json");
    std::fs::write(&gt_path, original_gt(&split).to_string()).unwrap();
    let o = carina(&[
        "eval",
        "coco",
        "--gt",
        s(&gt_path),
        "--dt",
        s(&dt),
        "--json",
        "--score-thr",
        "0.3",
    ]);
    ok(&o);
    let coco: Value = serde_json::from_slice(&o.stdout).unwrap();
    for (k, v) in coco.as_object().unwrap() {
        close(&got[k], v, k);
    }
    let rows = serde_json::from_slice::<Vec<Value>>(&std::fs::read(&dt).unwrap()).unwrap();
    assert!(!rows.is_empty(), "the model kept some detections");

    // `carina predict` on the prepared images gives the same boxes in
    // prepared pixels; mapped by hand they are the rows of dt.json.
    let only_val = tmp.path().join("val_images");
    std::fs::create_dir(&only_val).unwrap();
    for i in &split.images {
        std::fs::copy(
            data.join("images").join(&i.file_name),
            only_val.join(&i.file_name),
        )
        .unwrap();
    }
    let o = carina(&[
        "predict",
        "--weights",
        s(&model),
        "--dir",
        s(&only_val),
        "--json",
        "--score-thr",
        "0.001",
    ]);
    ok(&o);
    let mut matched = 0;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let im = split
            .images
            .iter()
            .find(|i| i.file_name == v["file"].as_str().unwrap())
            .unwrap();
        let t = im.letterbox.unwrap();
        let mine: Vec<&Value> = rows.iter().filter(|r| r["image_id"] == im.id).collect();
        let theirs = v["detections"].as_array().unwrap();
        assert_eq!(mine.len(), theirs.len(), "{}", im.file_name);
        for (a, b) in mine.iter().zip(theirs) {
            let bb: Vec<f64> = b["bbox"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let (ow, oh) = (f64::from(t.orig_width), f64::from(t.orig_height));
            let x0 = ((bb[0] - t.pad_x) / t.scale).clamp(0.0, ow);
            let y0 = ((bb[1] - t.pad_y) / t.scale).clamp(0.0, oh);
            let x1 = ((bb[2] - t.pad_x) / t.scale).clamp(0.0, ow);
            let y1 = ((bb[3] - t.pad_y) / t.scale).clamp(0.0, oh);
            let want = [x0, y0, x1 - x0, y1 - y0];
            for (g, w) in a["bbox"].as_array().unwrap().iter().zip(want) {
                assert!((g.as_f64().unwrap() - w).abs() < 1e-6, "{a} vs {want:?}");
            }
            let sa = a["score"].as_f64().unwrap();
            assert!((sa - b["score"].as_f64().unwrap()).abs() < 1e-6);
            assert_eq!(a["category_id"], b["class_id"]);
            matched += 1;
        }
    }
    assert_eq!(matched, rows.len());

    // Timing, provenance and the synthetic labels.
    let inf = &got["inference"];
    assert_eq!(inf["images"], n_val);
    let (med, p95) = (
        inf["median_ms"].as_f64().unwrap(),
        inf["p95_ms"].as_f64().unwrap(),
    );
    assert!(med > 0.0 && p95 >= med, "{inf}");
    assert_eq!(got["model"]["trained_on_synthetic"], true);
    assert_eq!(got["data"]["synthetic"], false, "prepared from plain PNGs");
    assert_eq!(got["coordinates"], "original image pixels");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("trained on synthetic radiographs"),
        "synthetic label"
    );
    assert!(!page.contains("Evaluated on synthetic radiographs"));
    assert!(page.contains("Inference time"));
    for alt in [
        "precision-recall curves",
        "ROC curves",
        "confusion matrix",
        "loss curves",
    ] {
        assert!(
            page.contains(&format!("<img alt=\"{alt}\" src=\"data:image/png;base64,")),
            "{alt}"
        );
    }
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );

    // On the synthetic split itself, the data is labelled synthetic too.
    let out2 = tmp.path().join("eval_synth.json");
    let html2 = tmp.path().join("synth.html");
    ok(&carina(&[
        "eval",
        "model",
        "--weights",
        s(&model),
        "--data",
        s(&synth),
        "--json",
        s(&out2),
        "--html",
        s(&html2),
    ]));
    let got2: Value = serde_json::from_slice(&std::fs::read(&out2).unwrap()).unwrap();
    assert_eq!(got2["data"]["synthetic"], true);
    let page2 = std::fs::read_to_string(&html2).unwrap();
    assert!(page2.contains("Evaluated on synthetic radiographs"));
    assert!(page2.contains("trained on synthetic radiographs"));
}

#[test]
fn eval_model_refuses_bad_input_with_the_place() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&carina(&[
        "dataset",
        "synth",
        "--count",
        "5",
        "--out",
        s(&data),
        "--seed",
        "1",
        "--size",
        "64",
    ]));
    let weights = shared_dir().join("fixtures/effdet/tf_efficientdet_lite0/weights.safetensors");
    let run = |extra: &[&str]| {
        let mut a = vec![
            "eval",
            "model",
            "--weights",
            s(&weights),
            "--data",
            s(&data),
        ];
        a.extend_from_slice(extra);
        carina(&a)
    };
    let e = err(&run(&["--split", "test"]));
    assert!(
        e.contains("manifest.json") && e.contains("no split \"test\""),
        "{e}"
    );
    let bad_log = tmp.path().join("log.csv");
    std::fs::write(&bad_log, "step,total_loss\n1,0.5\n2,oops\n").unwrap();
    let e = err(&run(&["--train-log", s(&bad_log)]));
    assert!(e.contains("log.csv: line 3") && e.contains("oops"), "{e}");
    let e = err(&run(&["--min-score", "2"]));
    assert!(e.contains("--min-score"), "{e}");
    // A split whose ground truth names an image that is not listed.
    let val = data.join("val.json");
    let mut coco: Value = serde_json::from_slice(&std::fs::read(&val).unwrap()).unwrap();
    coco["annotations"] = json!([{"id": 1, "image_id": 999, "category_id": 0,
        "bbox": [1, 1, 5, 5], "area": 25}]);
    std::fs::write(&val, coco.to_string()).unwrap();
    let e = err(&run(&[]));
    assert!(
        e.contains("val.json: annotations[0]") && e.contains("999"),
        "{e}"
    );
    let e = err(&carina(&[
        "eval",
        "model",
        "--weights",
        s(tmp.path()),
        "--data",
        s(tmp.path()),
    ]));
    assert!(e.contains("manifest.json"), "{e}");
}
