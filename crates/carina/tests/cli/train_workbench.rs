//! `carina train --from-workbench` on a workbench database made by the
//! server's own code path (see `export_db`).

use crate::export_db::{Client, carina_env, ok};
use carina_server::{Application, Config};
use serde_json::json;
use std::path::Path;

/// A bright disc on a dark field, 160 × 160, and its box.
fn disc(k: u32) -> (Vec<u8>, [f64; 4]) {
    let (cx, cy, r) = (
        40.0 + 10.0 * f64::from(k % 4),
        50.0 + 12.0 * f64::from(k / 4),
        14.0 + 3.0 * f64::from(k % 3),
    );
    let img = image::GrayImage::from_fn(160, 160, |x, y| {
        let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
        image::Luma([if d < r {
            220
        } else {
            40 + ((x * 3 + y * 5 + k * 7) % 24) as u8
        }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    (out.into_inner(), [cx - r, cy - r, cx + r, cy + r])
}

/// `carina train --from-workbench`: refuses a workbench without reviews,
/// then fine-tunes the bundled model on eight reviewed images, registers the
/// result undeployed, and refuses to reuse a working folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_from_workbench() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("wb");
    let config = Config {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        predict_on_upload: false,
        bundled_model: true,
        ..Config::default()
    };
    let app = Application::build(config).await.expect("build the app");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let c = Client::new(base).await;
    let dd = data_dir.display().to_string();
    let work = dir.path().join("work");
    let args = |out: &Path| -> Vec<String> {
        [
            "train",
            "--from-workbench",
            "--data-dir",
            &dd,
            "--out",
            &out.display().to_string(),
            "--steps",
            "3",
            "--held-out",
            "0.25",
            "--min-images",
            "6",
            "--set",
            "batch_size=2",
        ]
        .map(String::from)
        .to_vec()
    };

    // Nothing reviewed yet.
    let o = carina_env(args(&work), None).await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not enough reviewed images"), "{err}");

    for k in 0..8 {
        let (png, bbox) = disc(k);
        let img = c.upload(&format!("d{k}.png"), png).await;
        let id = img["id"].as_i64().unwrap();
        let v = c.annotations(id).await["version"].as_i64().unwrap();
        c.save(id, v, json!({"boxes": [{"class_id": 4, "bbox": bbox}]}))
            .await;
    }
    let before = state.store.db.models().await.unwrap();
    assert_eq!(before.len(), 1);

    let out = ok(&carina_env(args(&work), None).await);
    assert!(out.contains("registered model"), "{out}");
    assert!(out.contains("not deployed"), "{out}");
    let models = state.store.db.models().await.unwrap();
    assert_eq!(models.len(), 2);
    let new = models
        .iter()
        .find(|m| m.source == carina_store::ModelSource::Workbench)
        .expect("the fine-tuned model is registered");
    assert!(!new.deployed);
    assert!(new.synthetic);
    assert!(new.created_by.starts_with("cli:"));
    assert!(work.join("run/model/model.safetensors").is_file());
    assert!(work.join("run/loss.png").is_file() || work.join("run/model/loss.png").is_file());
    assert!(!work.join("source").exists());

    // The working folder is not reused; bad arguments are refused.
    let o = carina_env(args(&work), None).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    let mut bad = args(&dir.path().join("w2"));
    bad[9] = "0.9".into(); // --held-out
    let o = carina_env(bad, None).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("held_out"));
    let o = carina_env(
        vec![
            "train".into(),
            "--from-workbench".into(),
            "--data-dir".into(),
            dir.path().join("nowhere").display().to_string(),
            "--out".into(),
            dir.path().join("w3").display().to_string(),
        ],
        None,
    )
    .await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no workbench database"));
    assert_eq!(state.store.db.models().await.unwrap().len(), 2);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
