//! The model registry: the bundled model, uploads validated by loading them
//! with the detector, deploying (exactly one deployed), and bad files.

use crate::both_backends_with;
use crate::helpers::*;
use carina_server::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn with_model(c: &mut Config) {
    c.bundled_model = true;
}

both_backends_with!(upload_validate_and_deploy, super::with_model);

/// One multipart part: (field name, file name, bytes).
type Part<'a> = (&'a str, &'a str, Vec<u8>);

fn fixture_weights() -> Vec<u8> {
    let p = shared_dir().join("fixtures/effdet/tf_efficientdet_lite0/weights.safetensors");
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn card(num_classes: usize, extra: Value) -> Vec<u8> {
    let names: Vec<String> = carina_core::LabelSet::default().names();
    let mut v = json!({
        "format": "carina-model/1",
        "arch": "tf_efficientdet_lite0",
        "num_classes": num_classes,
        "class_names": names.into_iter().take(num_classes).collect::<Vec<_>>(),
        "input_size": 320,
        "synthetic": false,
        "validation": {"step": 10, "AP50": 0.12},
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::to_vec(&v).unwrap()
}

async fn upload(
    app: &TestApp,
    s: &Session,
    parts: Vec<(&str, &str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (field, file, bytes) in parts {
        let mut part = reqwest::multipart::Part::bytes(bytes);
        if !file.is_empty() {
            part = part.file_name(file.to_string());
        }
        form = form.part(field.to_string(), part);
    }
    app.req(Method::POST, "/api/v1/models", Some(s))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn upload_validate_and_deploy(app: TestApp) {
    let (admin, rad, _viewer) = app.team().await;
    let (_, list) = app.get_json("/api/v1/models", &rad).await;
    let models = list["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "the bundled model is registered once");
    let bundled = models[0].clone();
    assert_eq!(bundled["deployed"], true);
    // The demo model shipped in crates/carina-assets/models/carina-demo/, trained on synthetic data
    // and saying so.
    assert_eq!(bundled["name"], "carina-demo-synthetic");
    assert_eq!(bundled["synthetic"], true);
    let model_card = bundled["card"].as_str().unwrap();
    assert!(
        model_card.contains("SYNTHETIC") && model_card.contains("clinical use"),
        "{model_card}"
    );

    let good = || {
        vec![
            ("file", "model.safetensors", fixture_weights()),
            (
                "file",
                "model.json",
                card(9, json!({"name": "lite0-test", "version": "1"})),
            ),
            ("file", "MODEL_CARD.md", b"# test model\n".to_vec()),
        ]
    };
    // Only admins upload. (A small body: the refusal comes before the body is
    // read, and a client still writing 13 MB of weights would see a broken pipe.)
    let r = upload(
        &app,
        &rad,
        vec![("file", "model.json", card(9, json!({"name": "x"})))],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(&app, &admin, good()).await;
    let status = r.status();
    let m: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["name"], "lite0-test");
    assert_eq!(m["version"], "1");
    assert_eq!(m["arch"], "tf_efficientdet_lite0");
    assert_eq!(m["num_classes"], 9);
    assert_eq!(m["input_size"], 320);
    assert_eq!(m["synthetic"], false);
    assert_eq!(m["source"], "upload");
    assert_eq!(m["deployed"], false);
    assert_eq!(m["metrics"]["AP50"], 0.12);
    assert_eq!(m["card"], "# test model\n");
    // The same name and version again is a conflict.
    let r = upload(&app, &admin, good()).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");

    // Bad folders: each is refused with a message and stores nothing.
    let bad: Vec<(&str, Vec<Part>, &str)> = vec![
        (
            "not safetensors",
            vec![
                (
                    "file",
                    "model.safetensors",
                    b"definitely not weights".to_vec(),
                ),
                ("file", "model.json", card(9, json!({"version": "2"}))),
            ],
            "does not load",
        ),
        (
            "class count disagrees",
            vec![
                ("file", "model.safetensors", fixture_weights()),
                ("file", "model.json", card(5, json!({"version": "3"}))),
            ],
            "does not load",
        ),
        (
            "no model.json",
            vec![("file", "model.safetensors", fixture_weights())],
            "model.json",
        ),
        (
            "model.json not JSON",
            vec![
                ("file", "model.safetensors", fixture_weights()),
                ("file", "model.json", b"{arch".to_vec()),
            ],
            "not JSON",
        ),
        (
            "unknown architecture",
            vec![
                ("file", "model.safetensors", fixture_weights()),
                (
                    "file",
                    "model.json",
                    card(9, json!({"arch": "resnet50", "version": "4"})),
                ),
            ],
            "does not load",
        ),
    ];
    for (what, parts, needle) in bad {
        let r = upload(&app, &admin, parts).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{what}: {msg}");
    }
    let (_, list) = app.get_json("/api/v1/models", &rad).await;
    assert_eq!(list["models"].as_array().unwrap().len(), 2);

    // Deploying moves the flag; the previous model stays available.
    let new_id = m["id"].as_i64().unwrap();
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/models/{new_id}/deploy"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/models/{new_id}/deploy"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, list) = app.get_json("/api/v1/models", &rad).await;
    let deployed: Vec<&Value> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["deployed"] == true)
        .collect();
    assert_eq!(deployed.len(), 1);
    assert_eq!(deployed[0]["id"], new_id);
    let (status, old) = app
        .get_json(&format!("/api/v1/models/{}", bundled["id"]), &rad)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(old["deployed"], false);
    let r = app
        .req(Method::POST, "/api/v1/models/9999/deploy", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");

    // Predictions now come from the deployed model.
    let img = app.upload_ok(&rad, "a.png", png(300, 240, 9)).await;
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{}/predictions?wait=true", img["id"]),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["job"]["model_id"], new_id);
    let first = body["annotations"]["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["source"]["kind"] == "model")
        .cloned()
        .expect("the fixture model proposes boxes");
    assert_eq!(first["source"]["model"], "lite0-test");
    assert_eq!(first["source"]["version"], "1");
    let (status, stats) = app
        .get_json(&format!("/api/v1/models/{new_id}/stats"), &rad)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["total"]["accepted"], 0);
    assert!(stats["total"]["acceptance_rate"].is_null());
    assert!(stats["total"]["proposed"].as_i64().unwrap() > 0);
}
