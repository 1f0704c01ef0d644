//! The suggestion loop: the job queue (exclusive claims, a dead worker's
//! lease expiring, retries with back-off), predictions end to end with the
//! real detector (the bundled demo model, trained on synthetic radiographs),
//! proposals reviewed through the ordinary save, and preferences.

use crate::both_backends_with;
use crate::helpers::*;
use carina_server::{AppState, Config, WorkerMode};
use carina_store::{Completion, JobKind, JobStatus, NewJob, PredictionResult, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

fn queue_only(c: &mut Config) {
    c.worker = WorkerMode::Off;
}
fn with_model(c: &mut Config) {
    c.bundled_model = true;
}
fn with_model_no_worker(c: &mut Config) {
    c.bundled_model = true;
    c.worker = WorkerMode::Off;
}
fn predict_on_upload(c: &mut Config) {
    c.bundled_model = true;
    c.predict_on_upload = true;
}

both_backends_with!(concurrent_claimers_never_share_a_job, super::queue_only);
both_backends_with!(
    a_dead_workers_job_is_retried_once,
    super::with_model_no_worker
);
both_backends_with!(failing_job_backs_off_then_fails_visibly, super::with_model);
both_backends_with!(predictions_end_to_end, super::predict_on_upload);
both_backends_with!(proposals_are_reviewed_through_the_save, super::with_model);
both_backends_with!(preferences_round_trip, super::queue_only);

/// Polls a job until it is done or failed.
pub async fn wait_job(app: &TestApp, s: &Session, id: i64) -> Value {
    for _ in 0..2400 {
        let (status, job) = app.get_json(&format!("/api/v1/jobs/{id}"), s).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

async fn predict(app: &TestApp, s: &Session, image: i64) -> Value {
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{image}/predictions"),
            Some(s),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    r.json::<Value>().await.unwrap()["job"].clone()
}

fn model_boxes(annotations: &Value) -> Vec<Value> {
    annotations["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["source"]["kind"] == "model")
        .cloned()
        .collect()
}

async fn concurrent_claimers_never_share_a_job(app: TestApp) {
    let db = &app.state.store.db;
    let n = 30;
    for i in 0..n {
        db.enqueue_job(&NewJob {
            kind: JobKind::Predict,
            payload: json!({"n": i}),
            image_id: None,
            model_id: None,
            max_attempts: 3,
            created_by: "test".into(),
        })
        .await
        .unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let lease = Timestamp::now().plus(Duration::from_secs(60));
            while let Some(job) = db.claim_job(&format!("w{w}"), lease).await.unwrap() {
                assert_eq!(job.status, JobStatus::Running);
                assert_eq!(job.locked_by.as_deref(), Some(format!("w{w}").as_str()));
                got.push(job.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), n, "every job claimed once: {all:?}");
    assert_eq!(unique.len(), n, "no job claimed twice: {all:?}");
    // Nothing is left to claim while the leases hold.
    let lease = Timestamp::now().plus(Duration::from_secs(60));
    assert!(db.claim_job("late", lease).await.unwrap().is_none());
}

fn start_worker(state: &AppState, name: &str) -> tokio::sync::watch::Sender<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(carina_server::worker::run(state.clone(), name.into(), rx));
    tx
}

async fn a_dead_workers_job_is_retried_once(app: TestApp) {
    let (_admin, rad, _viewer) = app.team().await;
    let img = app.upload_ok(&rad, "a.png", png(200, 160, 1)).await;
    let id = img["id"].as_i64().unwrap();
    let job = predict(&app, &rad, id).await;
    assert_eq!(job["status"], "queued");
    let db = &app.state.store.db;
    // A worker claims the job and dies: its lease runs out in 300 ms.
    let dead = db
        .claim_job("dead", Timestamp::now().plus(Duration::from_millis(300)))
        .await
        .unwrap()
        .expect("the queued job");
    assert_eq!(dead.id, job["id"].as_i64().unwrap());
    let (_, running) = app
        .get_json(&format!("/api/v1/jobs/{}", dead.id), &rad)
        .await;
    assert_eq!(running["status"], "running");
    assert_eq!(running["locked_by"], "dead");
    // A live worker takes it once the lease has passed.
    let stop = start_worker(&app.state, "alive");
    let done = wait_job(&app, &rad, dead.id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["attempts"], 2);
    assert!(
        done["last_error"]
            .as_str()
            .unwrap()
            .contains("lease expired"),
        "{done}"
    );
    let added = done["result"]["added"].as_u64().unwrap();
    assert!(added > 0, "the fixture model proposes boxes: {done}");
    // The dead worker comes back with a result: it no longer holds the job.
    let stale = PredictionResult {
        image_id: id,
        model_id: dead.model_id.unwrap(),
        model_name: "m".into(),
        model_version: "v".into(),
        detections: vec![],
        proposals: vec![],
        elapsed_ms: 1,
    };
    assert_eq!(
        db.complete_prediction(dead.id, "dead", &stale)
            .await
            .unwrap(),
        Completion::LostLease
    );
    // Running the same model again stores nothing new.
    let again = predict(&app, &rad, id).await;
    let again = wait_job(&app, &rad, again["id"].as_i64().unwrap()).await;
    assert_eq!(again["status"], "done");
    assert_eq!(again["result"]["added"], 0);
    assert_eq!(
        again["result"]["prediction_id"],
        done["result"]["prediction_id"]
    );
    let _ = stop.send(true);
    // Exactly one set of proposals, one stored output, one `predict` history entry.
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    let boxes = model_boxes(&ann);
    assert_eq!(boxes.len() as u64, added);
    let pid = done["result"]["prediction_id"].clone();
    assert!(
        boxes
            .iter()
            .all(|b| b["prediction_id"] == pid && b["status"] == "proposed")
    );
    let (_, preds) = app
        .get_json(&format!("/api/v1/images/{id}/predictions"), &rad)
        .await;
    assert_eq!(preds["predictions"].as_array().unwrap().len(), 1);
    let (_, hist) = app
        .get_json(&format!("/api/v1/images/{id}/history"), &rad)
        .await;
    let predicts = hist["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "predict")
        .count();
    assert_eq!(predicts, 1);
}

async fn failing_job_backs_off_then_fails_visibly(app: TestApp) {
    let (_admin, rad, _viewer) = app.team().await;
    let img = app.upload_ok(&rad, "a.png", png(120, 100, 2)).await;
    let id = img["id"].as_i64().unwrap();
    // The stored file disappears: every attempt fails to read it.
    let image = app.state.store.db.image(id).await.unwrap().unwrap();
    app.state
        .store
        .objects
        .delete(&image.object_key)
        .await
        .unwrap();
    let job = predict(&app, &rad, id).await;
    let jid = job["id"].as_i64().unwrap();
    // Watch the attempts: each retry waits at least the doubled back-off (50, 100 ms).
    let mut seen = Vec::new();
    let done = loop {
        let (_, j) = app.get_json(&format!("/api/v1/jobs/{jid}"), &rad).await;
        if j["status"] == "queued" && j["attempts"].as_i64().unwrap() > 0 {
            let key = j["attempts"].as_i64().unwrap();
            if !seen.iter().any(|(k, _)| *k == key) {
                seen.push((key, j.clone()));
            }
        }
        if j["status"] == "failed" {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(done["attempts"], 3, "{done}");
    assert!(done["finished_at"].is_string());
    let err = done["last_error"].as_str().unwrap();
    assert!(err.contains("object store"), "{err}");
    assert!(
        !seen.is_empty(),
        "a failed attempt is queued again before the last one"
    );
    for (attempts, j) in &seen {
        assert!(j["last_error"].is_string());
        let run_at = humantime::parse_rfc3339(j["run_at"].as_str().unwrap()).unwrap();
        let started = humantime::parse_rfc3339(j["started_at"].as_str().unwrap()).unwrap();
        let wait = run_at.duration_since(started).unwrap().as_millis();
        let base = 50u128 << (attempts - 1);
        assert!(
            wait >= base,
            "attempt {attempts}: retried after {wait} ms, back-off {base} ms"
        );
    }
    // The image shows the failed job.
    let (_, shown) = app.get_json(&format!("/api/v1/images/{id}"), &rad).await;
    assert_eq!(shown["prediction_status"], "failed");
    assert_eq!(shown["prediction_job_id"], jid);
    let (_, listed) = app
        .get_json(&format!("/api/v1/jobs?image_id={id}&status=failed"), &rad)
        .await;
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 1);
    // ?wait=true reports the failure as an error.
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/predictions?wait=true"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await,
        "job_failed"
    );
}

async fn predictions_end_to_end(app: TestApp) {
    let (_admin, rad, viewer) = app.team().await;
    let (_, models) = app.get_json("/api/v1/models", &rad).await;
    let deployed = models["models"][0].clone();
    assert_eq!(deployed["deployed"], true);
    assert_eq!(deployed["source"], "bundled");
    assert_eq!(deployed["synthetic"], true);
    // Upload queues a prediction; the image shows the job.
    let sample = sample("png/00000001_000.png");
    let img = app.upload_ok(&rad, "cxr.png", sample).await;
    let id = img["id"].as_i64().unwrap();
    let jid = img["prediction_job_id"]
        .as_i64()
        .expect("upload queued a job");
    assert!(matches!(
        img["prediction_status"].as_str(),
        Some("queued" | "running" | "done")
    ));
    let job = wait_job(&app, &rad, jid).await;
    assert_eq!(job["status"], "done", "{job}");
    let (_, preds) = app
        .get_json(&format!("/api/v1/images/{id}/predictions"), &viewer)
        .await;
    let p = &preds["predictions"][0];
    assert_eq!(p["model_id"], deployed["id"]);
    let raw = p["detections"].as_array().unwrap();
    assert!(!raw.is_empty());
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    let boxes = model_boxes(&ann);
    let (w, h) = (
        img["width"].as_f64().unwrap(),
        img["height"].as_f64().unwrap(),
    );
    // Raw boxes may reach outside the image; proposals are clipped, and a
    // box with less than a pixel left inside is not proposed.
    let expected = raw
        .iter()
        .filter(|d| d["score"].as_f64().unwrap() >= 0.05)
        .filter(|d| {
            let b: Vec<f64> = d["bbox"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let (x0, y0) = (b[0].clamp(0.0, w), b[1].clamp(0.0, h));
            b[2].clamp(x0, w) - x0 >= 1.0 && b[3].clamp(y0, h) - y0 >= 1.0
        })
        .count();
    assert_eq!(
        boxes.len(),
        expected,
        "raw boxes above the floor are the proposals"
    );
    assert!(boxes.len() > 10, "the fixture model proposes many boxes");
    for b in &boxes {
        assert_eq!(b["status"], "proposed");
        assert_eq!(b["source"]["model"], deployed["name"]);
        assert_eq!(b["source"]["version"], deployed["version"]);
        assert_eq!(b["prediction_id"], p["id"]);
        let bb: Vec<f64> = b["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            bb[0] >= 0.0 && bb[1] >= 0.0 && bb[2] <= w && bb[3] <= h,
            "{bb:?}"
        );
    }
    // ?wait=true for scripts: the same model again adds nothing.
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/predictions?wait=true"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["job"]["result"]["added"], 0);
    assert_eq!(model_boxes(&body["annotations"]).len(), boxes.len());
    // Viewers may look but not run the model.
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/predictions"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(Method::POST, "/api/v1/images/9999/predictions", Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    let r = app
        .req(Method::GET, "/api/v1/jobs?status=maybe", Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // One proposal accepted, then the file replaced: the old file's raw
    // output and unreviewed proposals go, the decision stays, and the new
    // file gets its own prediction.
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    let mut body: Vec<Value> = ann["boxes"].as_array().unwrap().clone();
    let accepted_id = model_boxes(&ann)[0]["id"].clone();
    for b in &mut body {
        if b["id"] == accepted_id {
            b["status"] = json!("accepted");
        }
    }
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", ann["version"].to_string())
        .json(&json!({"boxes": body}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(crate::helpers::sample("png/00027426_000.png"))
            .file_name("other.png"),
    );
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/file?force=true"),
            Some(&rad),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let replaced: Value = r.json().await.unwrap();
    let new_job = replaced["prediction_job_id"]
        .as_i64()
        .expect("the new file is predicted");
    assert_ne!(new_job, jid);
    let job = wait_job(&app, &rad, new_job).await;
    assert_eq!(job["status"], "done", "{job}");
    let (_, preds) = app
        .get_json(&format!("/api/v1/images/{id}/predictions"), &rad)
        .await;
    let preds = preds["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 1, "only the new file's output");
    assert_ne!(preds[0]["id"], p["id"]);
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    let kept: Vec<Value> = model_boxes(&ann)
        .into_iter()
        .filter(|b| b["status"] != "proposed")
        .collect();
    assert_eq!(kept.len(), 1, "the decision stays");
    assert_eq!(kept[0]["id"], accepted_id);
    assert_eq!(kept[0]["prediction_id"], Value::Null);
    let fresh: Vec<Value> = model_boxes(&ann)
        .into_iter()
        .filter(|b| b["status"] == "proposed")
        .collect();
    assert!(!fresh.is_empty());
    assert!(fresh.iter().all(|b| b["prediction_id"] == preds[0]["id"]));
}

async fn proposals_are_reviewed_through_the_save(app: TestApp) {
    let (_admin, rad, _viewer) = app.team().await;
    let img = app
        .upload_ok(&rad, "cxr.png", sample("png/00000001_000.png"))
        .await;
    let id = img["id"].as_i64().unwrap();
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/predictions?wait=true"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ann: Value = r.json::<Value>().await.unwrap()["annotations"].clone();
    let model_id = app.get_json("/api/v1/models", &rad).await.1["models"][0]["id"].clone();
    let boxes = model_boxes(&ann);
    assert!(boxes.len() >= 3);
    // Accept the first, reject the second, move the third, leave the rest; draw one.
    let mut edit: Vec<Value> = Vec::new();
    for (i, b) in boxes.iter().enumerate() {
        let mut bbox = b["bbox"].clone();
        let status = match i {
            0 => "accepted",
            1 => "rejected",
            2 => {
                let v: Vec<f64> = bbox
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                bbox = json!([v[0] + 1.0, v[1] + 1.0, v[2] - 1.0, v[3] - 1.0]);
                "accepted"
            }
            _ => "proposed",
        };
        edit.push(
            json!({"id": b["id"], "class_id": b["class_id"], "bbox": bbox, "status": status}),
        );
    }
    edit.push(json!({"class_id": 4, "bbox": [10, 10, 60, 60]}));
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", ann["version"].to_string())
        .json(&json!({"boxes": edit}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    let by_id = |bid: &Value| {
        saved["boxes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| &b["id"] == bid)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&boxes[0]["id"])["status"], "accepted");
    assert_eq!(by_id(&boxes[1]["id"])["status"], "rejected");
    let moved = by_id(&boxes[2]["id"]);
    assert_eq!(moved["status"], "edited");
    assert_eq!(moved["original_bbox"], boxes[2]["bbox"]);
    assert_eq!(moved["prediction_id"], boxes[2]["prediction_id"]);
    // The model's statistics count the decisions per class as proposed.
    let (status, stats) = app
        .get_json(&format!("/api/v1/models/{model_id}/stats"), &rad)
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let t = &stats["total"];
    assert_eq!(t["accepted"], 1);
    assert_eq!(t["edited"], 1);
    assert_eq!(t["rejected"], 1);
    assert_eq!(t["proposed"].as_u64().unwrap() as usize, boxes.len() - 3);
    assert!((t["acceptance_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let per_class: i64 = stats["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["accepted"].as_i64().unwrap()
                + c["edited"].as_i64().unwrap()
                + c["rejected"].as_i64().unwrap()
                + c["proposed"].as_i64().unwrap()
        })
        .sum();
    assert_eq!(per_class as usize, boxes.len());
}

async fn preferences_round_trip(app: TestApp) {
    let (_admin, rad, viewer) = app.team().await;
    let (_, p) = app.get_json("/api/v1/me/preferences", &rad).await;
    assert_eq!(p["proposal_threshold"], 0.3);
    let r = app
        .req(Method::PUT, "/api/v1/me/preferences", Some(&rad))
        .json(&json!({"proposal_threshold": 0.55}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get_json("/api/v1/me/preferences", &rad).await.1["proposal_threshold"],
        0.55
    );
    // Each user has their own.
    assert_eq!(
        app.get_json("/api/v1/me/preferences", &viewer).await.1["proposal_threshold"],
        0.3
    );
    for bad in [
        json!({"proposal_threshold": 1.5}),
        json!({"proposal_threshold": "high"}),
        json!({"other": 1}),
    ] {
        let r = app
            .req(Method::PUT, "/api/v1/me/preferences", Some(&rad))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }
    assert_eq!(
        app.get_json("/api/v1/me/preferences", &rad).await.1["proposal_threshold"],
        0.55
    );
}
