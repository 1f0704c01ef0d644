//! Learning from corrections: `POST /models/train` queues a fine-tuning of
//! the deployed model (the bundled demo model) on the reviewed boxes; the
//! training loop runs it with the real trainer; the new model is registered
//! undeployed with the held-out comparison, the copies of the images are
//! gone, and the new model, once deployed, predicts.

use crate::both_backends_with;
use crate::helpers::*;
use crate::review::wait_job;
use carina_server::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn with_model(c: &mut Config) {
    c.bundled_model = true;
}

both_backends_with!(fine_tune_from_corrections, super::with_model);

/// A 160×160 radiograph-like PNG: a dark field with a bright disc at (cx, cy).
fn disc_png(cx: f64, cy: f64, r: f64, seed: u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(160, 160, |x, y| {
        let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
        let base = 40u8.wrapping_add(((x * 3 + y * 5) as u8 ^ seed) % 24);
        image::Luma([if d < r { 220 } else { base }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn train_request(app: &TestApp, s: &Session, body: Value) -> (StatusCode, Value) {
    let r = app
        .req(Method::POST, "/api/v1/models/train", Some(s))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn fine_tune_from_corrections(app: TestApp) {
    let (admin, rad, _viewer) = app.team().await;
    let small = json!({"steps": 4, "batch_size": 2, "held_out": 0.25, "min_images": 6});

    // Refusals, before anything is queued.
    let (status, _) = train_request(&app, &rad, small.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = train_request(&app, &admin, json!({"steps": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("steps"));
    let (status, body) = train_request(&app, &admin, json!({"set": ["no_such_field=1"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = train_request(&app, &admin, json!({"stepz": 3})).await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, body) = train_request(&app, &admin, small.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not enough reviewed images"),
        "{body}"
    );
    let (status, _) = train_request(
        &app,
        &admin,
        json!({"base_model_id": 999_999, "min_images": 6}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Eight reviewed images, each with one manual box around its disc.
    let mut ids = Vec::new();
    for k in 0..8u32 {
        let (cx, cy, r) = (
            40.0 + 10.0 * f64::from(k % 4),
            50.0 + 12.0 * f64::from(k / 4),
            14.0 + f64::from(k % 3) * 3.0,
        );
        let img = app
            .upload_ok(
                &rad,
                &format!("d{k}.png"),
                disc_png(cx, cy, r, k as u8 * 17),
            )
            .await;
        let id = img["id"].as_i64().unwrap();
        let (_, ann) = app
            .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
            .await;
        let r = app
            .req(
                Method::PUT,
                &format!("/api/v1/images/{id}/annotations"),
                Some(&rad),
            )
            .header("If-Match", ann["version"].to_string())
            .json(&json!({"boxes": [{"class_id": 4, "bbox": [cx - r, cy - r, cx + r, cy + r]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        ids.push(id);
    }
    let (_, models) = app.get_json("/api/v1/models", &admin).await;
    let base = models["models"][0].clone();
    assert_eq!(base["deployed"], true);

    let (status, body) = train_request(&app, &admin, small.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job_id = body["job"]["id"].as_i64().unwrap();
    assert_eq!(body["job"]["kind"], "train");
    // One at a time.
    let (status, body) = train_request(&app, &admin, small.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let job = wait_job(&app, &admin, job_id).await;
    assert_eq!(job["status"], "done", "{job}");
    // The job list filters by kind.
    let (_, listed) = app.get_json("/api/v1/jobs?kind=train", &admin).await;
    let listed = listed["jobs"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"].as_i64(), Some(job_id));
    let (status, _) = app.get_json("/api/v1/jobs?kind=nope", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let result = &job["result"];
    assert_eq!(result["base_model_id"], base["id"]);
    let (train_n, held_n) = (
        result["train_images"].as_u64().unwrap(),
        result["held_out_images"].as_u64().unwrap(),
    );
    assert_eq!(train_n + held_n, 8, "{result}");
    assert!(held_n >= 1 && train_n >= 1);
    for who in ["base", "new"] {
        let m = &result["held_out"][who];
        assert_eq!(m["images"].as_u64(), Some(held_n), "{m}");
        assert_eq!(m["boxes"].as_u64(), Some(held_n), "{m}");
        let ap50 = m["ap50"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ap50), "{m}");
    }

    // Registered, not deployed; the deployed model is unchanged.
    let new_id = result["model_id"].as_i64().unwrap();
    let (_, m) = app
        .get_json(&format!("/api/v1/models/{new_id}"), &admin)
        .await;
    assert_eq!(m["source"], "workbench");
    assert_eq!(m["deployed"], false);
    assert_eq!(m["synthetic"], true, "fine-tuned from a synthetic model");
    assert_eq!(
        m["name"],
        format!("{}-workbench", base["name"].as_str().unwrap())
    );
    assert_eq!(m["model_json"]["workbench"]["base_model"]["id"], base["id"]);
    assert!(m["card"].as_str().unwrap().contains("SYNTHETIC"));
    let (_, b) = app
        .get_json(&format!("/api/v1/models/{}", base["id"]), &admin)
        .await;
    assert_eq!(b["deployed"], true);

    // The working folder keeps logs and the comparison, not the images.
    let work = app
        .state
        .config
        .data_dir
        .join("training")
        .join(format!("job-{job_id}"));
    assert!(work.join("run").join("log.csv").is_file());
    assert!(work.join("held_out.json").is_file());
    assert!(!work.join("source").exists());
    assert!(!work.join("data").join("images").exists());

    // Deployed, the new model predicts.
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
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{}/predictions", ids[0]),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let pj: Value = r.json().await.unwrap();
    let pj = wait_job(&app, &rad, pj["job"]["id"].as_i64().unwrap()).await;
    assert_eq!(pj["status"], "done", "{pj}");
    assert_eq!(pj["model_id"].as_i64(), Some(new_id));
}
