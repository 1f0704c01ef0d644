//! `carina train`: argument and input errors, and a short real run that writes a model folder.

use crate::{carina, shared_dir};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn train_refuses_a_folder_that_is_not_a_prepared_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = carina(&[
        "train",
        "--data",
        tmp.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("manifest.json"), "{}", stderr(&o));
}

#[test]
fn train_refuses_bad_overrides_and_resume_without_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let o = carina(&["train", "--data", d, "--out", d, "--set", "optim.nope=1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown config key"), "{}", stderr(&o));
    let o = carina(&["train", "--data", d, "--out", d, "--set", "batch_size=0"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("batch_size"), "{}", stderr(&o));
    let o = carina(&["train", "--data", d, "--out", d, "--init", "somewhere"]);
    assert!(!o.status.success());
    let o = carina(&["train", "--data", d, "--out", d, "--resume"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    // A recipe that does not exist names the ones that do; a recipe is not a --config.
    let o = carina(&["train", "--data", d, "--out", d, "--recipe", "vindr"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("vindr-d0"), "{}", stderr(&o));
    let o = carina(&[
        "train", "--data", d, "--out", d, "--recipe", "vindr-d0", "--config", d,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--config"), "{}", stderr(&o));
    // A real recipe gets as far as the data.
    let o = carina(&["train", "--data", d, "--out", d, "--recipe", "vindr-d0"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("manifest.json"), "{}", stderr(&o));
}

#[test]
fn train_runs_a_few_steps_and_writes_the_model_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_dataset(&data);
    let out = tmp.path().join("run");
    let weights = shared_dir().join("weights/efficientnet-lite0-imagenet.safetensors");
    let init = format!("imagenet-lite0:{}", weights.display());
    let o = carina(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--arch",
        "tf_efficientdet_lite0",
        "--init",
        &init,
        "--set",
        "image_size=128",
        "--set",
        "steps=3",
        "--set",
        "batch_size=2",
        "--set",
        "val.every_steps=0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("model written to"), "{stdout}");
    for f in [
        "model.safetensors",
        "model.json",
        "config.toml",
        "log.csv",
        "loss.png",
    ] {
        assert!(out.join("model").join(f).exists(), "{f} missing");
    }
    let saved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(saved.contains("steps = 3"), "{saved}");
}

/// Four 128-px images with one bright square each, in the prepared layout.
fn write_tiny_dataset(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut images = Vec::new();
    let mut annotations = Vec::new();
    for i in 0..4u32 {
        let mut img = image::GrayImage::from_pixel(128, 128, image::Luma([20]));
        let (x, y) = (10 + 20 * i, 30 + 10 * i);
        for yy in y..y + 30 {
            for xx in x..x + 30 {
                img.put_pixel(xx, yy, image::Luma([230]));
            }
        }
        let name = format!("img{i}.png");
        img.save(dir.join("images").join(&name)).unwrap();
        images.push(serde_json::json!({"id": i, "file_name": name, "width": 128, "height": 128}));
        annotations.push(serde_json::json!({
            "id": i + 1, "image_id": i, "category_id": 0, "bbox": [x, y, 30, 30], "area": 900, "iscrowd": 0
        }));
    }
    let coco = serde_json::json!({
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 0, "name": "Nodule/Mass"}]
    });
    std::fs::write(dir.join("train.json"), coco.to_string()).unwrap();
    let manifest = serde_json::json!({
        "format": "carina-prepared/1", "synthetic": true, "description": "cli test squares",
        "image_size": 128, "bit_depth": 8, "class_names": ["Nodule/Mass"],
        "splits": {"train": "train.json", "val": "train.json"}, "images_dir": "images",
        "created": "2026-01-01T00:00:00Z", "sources": ["test"]
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}
