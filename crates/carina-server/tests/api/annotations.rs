//! Saving and reloading boxes: ETag/If-Match, conflicts, validation,
//! concurrent saves, model boxes' provenance, and the history.

use crate::helpers::*;
use crate::{both_backends, both_backends_with};
use carina_core::BBox;
use carina_store::ModelBox;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

both_backends!(
    save_and_reload,
    stale_and_missing_if_match,
    invalid_boxes_change_nothing,
    concurrent_saves_one_wins,
    model_boxes_keep_provenance,
    history_records_every_change
);
both_backends_with!(
    a_save_carries_at_most_max_boxes,
    |c: &mut carina_server::Config| { c.max_boxes = 3 }
);

async fn put(
    app: &TestApp,
    s: &Session,
    id: &Value,
    if_match: Option<&str>,
    body: Value,
) -> Response {
    let mut r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(s),
        )
        .json(&body);
    if let Some(v) = if_match {
        r = r.header("If-Match", v);
    }
    r.send().await.unwrap()
}

async fn image(app: &TestApp, s: &Session) -> Value {
    app.upload_ok(s, "chest.png", png(200, 100, 5)).await["id"].clone()
}

async fn save_and_reload(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let id = image(&app, &rad).await;
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"0\"");
    let empty: Value = r.json().await.unwrap();
    assert_eq!(
        empty,
        json!({"version": 0, "no_finding": false, "boxes": []})
    );

    let body = json!({"no_finding": false, "boxes": [
        {"class_id": 4, "bbox": [10, 20, 50, 60], "status": "manual"},
        {"class_id": 8, "bbox": [100.5, 0, 200, 100]}
    ]});
    let r = put(&app, &rad, &id, Some("\"0\""), body).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["version"], 1);
    let (_, reloaded) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &viewer)
        .await;
    assert_eq!(reloaded, saved);
    let b = &reloaded["boxes"][0];
    assert_eq!(b["bbox"], json!([10.0, 20.0, 50.0, 60.0]));
    assert_eq!(b["source"], json!({"kind": "radiologist", "user": "rad"}));
    assert_eq!(b["status"], "manual");
    assert_eq!(b["score"], Value::Null);
    assert_eq!(b["updated_by"], "rad");
    // The library shows who touched it and how many boxes it has.
    let (_, img) = app.get_json(&format!("/api/v1/images/{id}"), &viewer).await;
    assert_eq!(img["box_count"], 2);
    assert_eq!(img["status"], "in_review");
    assert_eq!(img["updated_by"], "rad");

    // Edit one box by id, drop the other, flag no finding; quotes are optional.
    let first = reloaded["boxes"][0]["id"].clone();
    let r = put(&app, &rad, &id, Some("1"), json!({"no_finding": true, "boxes": [{"id": first, "class_id": 1, "bbox": [11, 21, 51, 61]}]})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, now) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &viewer)
        .await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["no_finding"], true);
    assert_eq!(now["boxes"].as_array().unwrap().len(), 1);
    assert_eq!(now["boxes"][0]["id"], first);
    assert_eq!(now["boxes"][0]["class_id"], 1);
    // Viewers cannot save.
    let r = put(&app, &viewer, &id, Some("2"), json!({"boxes": []})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = put(&app, &rad, &json!(9999), Some("0"), json!({"boxes": []})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn stale_and_missing_if_match(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    let id = image(&app, &rad).await;
    assert_eq!(
        put(
            &app,
            &rad,
            &id,
            Some("0"),
            json!({"boxes": [{"class_id": 0, "bbox": [1, 1, 5, 5]}]})
        )
        .await
        .status(),
        StatusCode::OK
    );
    // The admin loaded version 0 too and saves later.
    let r = put(&app, &admin, &id, Some("\"0\""), json!({"boxes": []})).await;
    let code = error_code(r, StatusCode::CONFLICT).await;
    assert_eq!(code, "version_conflict");
    let r = put(&app, &admin, &id, None, json!({"boxes": []})).await;
    assert_eq!(
        error_code(r, StatusCode::PRECONDITION_REQUIRED).await,
        "if_match_required"
    );
    let r = put(&app, &admin, &id, Some("\"abc\""), json!({"boxes": []})).await;
    assert_eq!(
        error_code(r, StatusCode::PRECONDITION_FAILED).await,
        "version_conflict"
    );
    let (_, now) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(now["version"], 1);
    assert_eq!(
        now["boxes"].as_array().unwrap().len(),
        1,
        "the refused saves changed nothing"
    );
}

async fn invalid_boxes_change_nothing(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    let id = image(&app, &rad).await; // 200 x 100
    let bad = [
        json!({"boxes": [{"class_id": 0, "bbox": [150, 50, 201, 60]}]}),
        json!({"boxes": [{"class_id": 0, "bbox": [-1, 0, 10, 10]}]}),
        json!({"boxes": [{"class_id": 0, "bbox": [50, 10, 40, 20]}]}),
        json!({"boxes": [{"class_id": 42, "bbox": [1, 1, 2, 2]}]}),
        json!({"boxes": [{"class_id": 0, "bbox": [1, 1, 2]}]}),
        json!({"boxes": [{"class_id": 0, "bbox": [1, 1, 2, 2], "status": "maybe"}]}),
        json!({"boxes": [{"id": 12345, "class_id": 0, "bbox": [1, 1, 2, 2]}]}),
    ];
    for body in bad {
        let r = put(&app, &rad, &id, Some("0"), body.clone()).await;
        let status = r.status();
        let err: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {err}");
        assert!(err["error"]["message"].as_str().unwrap().len() > 5);
    }
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", "0")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A retired label cannot be used for new boxes; an existing box keeps it.
    assert_eq!(
        put(
            &app,
            &rad,
            &id,
            Some("0"),
            json!({"boxes": [{"class_id": 3, "bbox": [1, 1, 9, 9]}]})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let r = app
        .req(Method::PATCH, "/api/v1/labels/3", Some(&admin))
        .json(&json!({"retired": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    let kept = ann["boxes"][0].clone();
    let r = put(
        &app,
        &rad,
        &id,
        Some("1"),
        json!({"boxes": [kept.clone(), {"class_id": 3, "bbox": [2, 2, 9, 9]}]}),
    )
    .await;
    assert_eq!(
        error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await,
        "invalid"
    );
    let r = put(&app, &rad, &id, Some("1"), json!({"boxes": [kept]})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, history) = app
        .get_json(&format!("/api/v1/images/{id}/history"), &rad)
        .await;
    assert_eq!(
        history["entries"].as_array().unwrap().len(),
        2,
        "only the accepted saves are recorded"
    );
}

async fn concurrent_saves_one_wins(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let id = image(&app, &rad).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = app.clone();
        let rad = rad.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            put(
                &app,
                &rad,
                &id,
                Some("0"),
                json!({"boxes": [{"class_id": 0, "bbox": [i, i, i + 10, i + 10]}]}),
            )
            .await
            .status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 7), "{statuses:?}");
    let (_, now) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(now["version"], 1);
    assert_eq!(now["boxes"].as_array().unwrap().len(), 1);
    let (_, history) = app
        .get_json(&format!("/api/v1/images/{id}/history"), &rad)
        .await;
    assert_eq!(history["entries"].as_array().unwrap().len(), 1);
}

async fn model_boxes_keep_provenance(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let id = image(&app, &rad).await;
    let db = &app.state.store.db;
    let proposals = [
        ModelBox {
            class_id: 1,
            bbox: BBox::new(10.0, 10.0, 60.0, 50.0).unwrap(),
            score: 0.9,
        },
        ModelBox {
            class_id: 8,
            bbox: BBox::new(100.0, 10.0, 150.0, 90.0).unwrap(),
            score: 0.4,
        },
    ];
    db.add_model_boxes(id.as_i64().unwrap(), 0, "effdet-d0", "3", &proposals, "rad")
        .await
        .unwrap();
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(ann["version"], 1);
    let (a, b) = (ann["boxes"][0].clone(), ann["boxes"][1].clone());
    assert_eq!(
        a["source"],
        json!({"kind": "model", "model": "effdet-d0", "version": "3"})
    );
    assert_eq!(a["status"], "proposed");
    assert_eq!(a["score"], 0.9);
    // A model box cannot be deleted, only rejected.
    let r = put(&app, &rad, &id, Some("1"), json!({"boxes": [a.clone()]})).await;
    assert_eq!(
        error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await,
        "invalid"
    );
    // Move one (accepted with changes = edited), reject the other.
    let mut moved = a.clone();
    moved["bbox"] = json!([12, 12, 62, 52]);
    moved["status"] = json!("accepted");
    let mut rejected = b.clone();
    rejected["status"] = json!("rejected");
    let r = put(
        &app,
        &rad,
        &id,
        Some("1"),
        json!({"boxes": [moved, rejected]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    let m = &saved["boxes"][0];
    assert_eq!(m["status"], "edited");
    assert_eq!(m["source"]["kind"], "model");
    assert_eq!(m["score"], 0.9);
    assert_eq!(m["original_bbox"], json!([10.0, 10.0, 60.0, 50.0]));
    assert_eq!(m["original_class_id"], 1);
    assert_eq!(saved["boxes"][1]["status"], "rejected");
    let (_, img) = app.get_json(&format!("/api/v1/images/{id}"), &rad).await;
    assert_eq!(img["box_count"], 1, "rejected boxes are not counted");
}

async fn history_records_every_change(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let id = image(&app, &rad).await;
    put(
        &app,
        &rad,
        &id,
        Some("0"),
        json!({"boxes": [{"class_id": 2, "bbox": [1, 2, 3, 4]}]}),
    )
    .await;
    put(
        &app,
        &admin,
        &id,
        Some("1"),
        json!({"no_finding": true, "boxes": []}),
    )
    .await;
    let (status, h) = app
        .get_json(&format!("/api/v1/images/{id}/history"), &viewer)
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = h["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["user"], "rad");
    assert_eq!(entries[0]["action"], "save");
    assert_eq!(entries[0]["version"], 1);
    assert_eq!(entries[0]["before"]["boxes"], json!([]));
    assert_eq!(
        entries[0]["after"]["boxes"][0]["bbox"],
        json!([1.0, 2.0, 3.0, 4.0])
    );
    assert_eq!(entries[1]["user"], "admin");
    assert_eq!(entries[1]["before"], entries[0]["after"]);
    assert_eq!(entries[1]["before"]["no_finding"], false);
    assert_eq!(entries[1]["after"]["no_finding"], true);
    assert!(entries[1]["at"].as_str().unwrap().ends_with('Z'));
    let (status, _) = app.get_json("/api/v1/images/777/history", &viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// `CARINA_MAX_BOXES` (3 here) caps the boxes of one save, annotations and
/// blind readings alike: 422 with the limit, nothing stored.
async fn a_save_carries_at_most_max_boxes(app: TestApp) {
    assert_eq!(carina_server::Config::default().max_boxes, 500);
    let (admin, rad, _) = app.team().await;
    let img = image(&app, &rad).await;
    let id = &img;
    let boxes = |n: u32| -> Value {
        (0..n)
            .map(|i| json!({"class_id": 4, "bbox": [i * 10, 10, i * 10 + 8, 30]}))
            .collect()
    };
    let r = put(&app, &rad, id, Some("0"), json!({ "boxes": boxes(4) })).await;
    let got = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("at most 3 boxes"), "{message}");
    let (_, cur) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(cur["version"], 0);
    assert_eq!(cur["boxes"], json!([]));
    let r = put(&app, &rad, id, Some("0"), json!({ "boxes": boxes(3) })).await;
    assert_eq!(r.status(), StatusCode::OK);

    // A blind reading is capped the same way.
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/assignments"),
            Some(&admin),
        )
        .json(&json!({"readers": ["rad"], "reviewer": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let reading = |n: u32| {
        app.req(
            Method::PUT,
            &format!("/api/v1/images/{id}/readings/me"),
            Some(&rad),
        )
        .header("If-Match", "0")
        .json(&json!({ "boxes": boxes(n) }))
        .send()
    };
    let r = reading(4).await.unwrap();
    assert_eq!(
        error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await,
        "invalid"
    );
    let (_, mine) = app
        .get_json(&format!("/api/v1/images/{id}/readings/me"), &rad)
        .await;
    assert_eq!(mine["version"], 0);
    assert_eq!(reading(3).await.unwrap().status(), StatusCode::OK);
}
