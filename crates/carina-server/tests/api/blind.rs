//! Blind reading holds by every route: a reader who has not submitted sees
//! nothing of others' work on the image (annotations read or written,
//! history, predictions raw or in a reply, jobs, reports by id, by image and
//! by search, agreement, box counts), and still does their own reading.
//! Each refusal here was a leak on main before the one check
//! (`carina_server::blind`).

use crate::both_backends_with;
use crate::helpers::*;
use crate::reports::{ok_json, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends_with!(
    blind_reader_sees_nothing_of_others_work,
    |c: &mut carina_server::Config| { c.bundled_model = true }
);

/// `who` saves the image's annotations with one more manual box, keeping the others.
async fn add_box(app: &TestApp, who: &Session, id: i64, new_box: Value) {
    let (_, cur) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), who)
        .await;
    let mut boxes: Vec<Value> = cur["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| json!({"id": b["id"], "class_id": b["class_id"], "bbox": b["bbox"], "status": b["status"]}))
        .collect();
    boxes.push(new_box);
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(who),
        )
        .header("If-Match", cur["version"].to_string())
        .json(&json!({ "boxes": boxes }))
        .send()
        .await
        .unwrap();
    ok_json(r, StatusCode::OK).await;
}

/// A word only rad's report holds, to search for.
const SECRET_WORD: &str = "zygomycosis";

async fn blind_reader_sees_nothing_of_others_work(app: TestApp) {
    let (admin, rad, _viewer) = app.team().await;
    let reader = app.user("reader", "radiologist", Some(&admin)).await;
    let bytes = png(200, 160, 77);
    let img = app.upload_ok(&rad, "chest.png", bytes.clone()).await["id"]
        .as_i64()
        .unwrap();
    let other = app.upload_ok(&rad, "other.png", png(200, 160, 78)).await["id"]
        .as_i64()
        .unwrap();
    // The model's proposals on img, and rad's box on both images.
    let ran = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{img}/predictions?wait=true"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let job = ran["job"]["id"].as_i64().unwrap();
    for id in [img, other] {
        add_box(
            &app,
            &rad,
            id,
            json!({"class_id": 4, "bbox": [20, 120, 60, 150]}),
        )
        .await;
    }
    let report = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            Some(json!({"impression": format!("Nodule; {SECRET_WORD} unlikely.")})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let rep = report["id"].as_i64().unwrap();
    assert!(!report["findings"].as_array().unwrap().is_empty());
    ok_json(
        send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/images/{img}/assignments"),
            Some(json!({"readers": ["reader"], "reviewer": "rad"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (_, before) = app
        .get_json(&format!("/api/v1/images/{img}/annotations"), &rad)
        .await;
    let n_before = before["boxes"].as_array().unwrap().len();
    assert!(n_before >= 1);

    // 1. Overwriting the annotations (it deleted rad's box on main): 403, nothing changes.
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{img}/annotations"),
            Some(&reader),
        )
        .header("If-Match", before["version"].to_string())
        .json(&json!({"boxes": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    let (_, after) = app
        .get_json(&format!("/api/v1/images/{img}/annotations"), &rad)
        .await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["boxes"].as_array().unwrap().len(), n_before);

    // 2. Reports: by image 403; by search and in the list, left out; by id
    //    (every rendering and every action) a 404 like a report that does not exist.
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/reports?image_id={img}"),
            Some(&reader),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    for path in [
        format!("/api/v1/reports?q={SECRET_WORD}"),
        "/api/v1/reports".to_string(),
        "/api/v1/reports?status=draft".to_string(),
    ] {
        let (s, list) = app.get_json(&path, &reader).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert_eq!(list["reports"], json!([]), "{path}");
    }
    let (_, seen) = app
        .get_json(&format!("/api/v1/reports?q={SECRET_WORD}"), &rad)
        .await;
    assert_eq!(seen["reports"].as_array().unwrap().len(), 1, "rad finds it");
    let absent = app
        .req(Method::GET, "/api/v1/reports/999999.json", Some(&reader))
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), StatusCode::NOT_FOUND);
    let absent: Value = absent.json().await.unwrap();
    for suffix in ["", ".json", ".pdf", ".fhir.json"] {
        let r = app
            .req(
                Method::GET,
                &format!("/api/v1/reports/{rep}{suffix}"),
                Some(&reader),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{suffix}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, absent, "the same answer as a missing report");
    }
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/reports/{rep}"),
            Some(json!({"impression": "mine"})),
        ),
        (Method::POST, format!("/api/v1/reports/{rep}/sign"), None),
        (Method::POST, format!("/api/v1/reports/{rep}/amend"), None),
    ] {
        let r = send(&app, &reader, method, &path, body).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for body in [
        json!({"image_ids": [img]}),
        json!({"image_ids": [img], "impression": "x"}),
    ] {
        let r = send(&app, &reader, Method::POST, "/api/v1/reports", Some(body)).await;
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    }

    // 3. Predictions: running the model (whose reply held the annotations),
    //    the raw outputs, the job and its result.
    for (method, path) in [
        (
            Method::POST,
            format!("/api/v1/images/{img}/predictions?wait=true"),
        ),
        (Method::GET, format!("/api/v1/images/{img}/predictions")),
        (Method::GET, format!("/api/v1/images/{img}/annotations")),
        (Method::GET, format!("/api/v1/images/{img}/history")),
        (Method::GET, format!("/api/v1/images/{img}/agreement")),
        (Method::GET, format!("/api/v1/images/{img}/readings")),
        (Method::POST, format!("/api/v1/images/{img}/consensus")),
        (Method::POST, format!("/api/v1/images/{img}/reports")),
    ] {
        let r = send(&app, &reader, method, &path, None).await;
        assert_eq!(
            error_code(r, StatusCode::FORBIDDEN).await,
            "blind_reading",
            "{path}"
        );
    }
    let (s, _) = app.get_json(&format!("/api/v1/jobs/{job}"), &reader).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get_json(&format!("/api/v1/jobs/{job}"), &rad).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/api/v1/jobs".to_string(),
        format!("/api/v1/jobs?image_id={img}"),
    ] {
        let (_, jobs) = app.get_json(&path, &reader).await;
        assert!(
            jobs["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["image_id"] != img),
            "{path}: {jobs}"
        );
    }

    // 4. Box counts: the library and the image object keep the image, without others' work.
    let (_, lib) = app.get_json("/api/v1/images", &reader).await;
    let entry = |id: i64| {
        lib["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap()
    };
    let blind_entry = entry(img);
    assert_eq!(blind_entry["blind"], true);
    for field in [
        "status",
        "box_count",
        "reviewed_box_count",
        "proposal_count",
        "proposals_above_threshold",
        "no_finding",
        "annotation_version",
        "prediction_job_id",
        "prediction_status",
        "updated_at",
        "updated_by",
    ] {
        assert_eq!(blind_entry[field], Value::Null, "{field}");
    }
    assert!(entry(other)["box_count"].as_i64().unwrap() >= 1);
    assert_eq!(entry(other)["blind"], Value::Null);
    // Nor does a status filter or the status counts give the status away
    // (rad's save moved both images to in_review).
    let (_, in_review) = app
        .get_json("/api/v1/images?status=in_review", &reader)
        .await;
    let listed: Vec<i64> = in_review["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![other], "{in_review}");
    assert_eq!(lib["counts"]["in_review"], 1, "{lib}");
    assert_eq!(lib["counts"]["blind"], 1, "{lib}");
    let (_, for_rad) = app.get_json("/api/v1/images", &rad).await;
    assert_eq!(for_rad["counts"]["in_review"], 2, "{for_rad}");
    assert_eq!(for_rad["counts"]["blind"], 0);
    let (s, one) = app
        .get_json(&format!("/api/v1/images/{img}"), &reader)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["box_count"], Value::Null);
    // Whatever the others do next, the reader's image object does not change.
    add_box(
        &app,
        &rad,
        img,
        json!({"class_id": 1, "bbox": [30, 30, 90, 90]}),
    )
    .await;
    let (_, unchanged) = app
        .get_json(&format!("/api/v1/images/{img}"), &reader)
        .await;
    assert_eq!(unchanged, one, "the reader saw others' work change");
    // The model's review counts leave the image out for the reader (the
    // model's boxes are only on img here).
    let (_, models) = app.get_json("/api/v1/models", &rad).await;
    let mid = models["models"][0]["id"].as_i64().unwrap();
    let reviewed = |v: &Value| -> i64 {
        ["proposed", "accepted", "edited", "rejected"]
            .iter()
            .map(|k| v["total"][k].as_i64().unwrap())
            .sum()
    };
    let (_, all) = app
        .get_json(&format!("/api/v1/models/{mid}/stats"), &rad)
        .await;
    let (s, seen) = app
        .get_json(&format!("/api/v1/models/{mid}/stats"), &reader)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(reviewed(&all) > 0, "{all}");
    assert_eq!(reviewed(&seen), 0, "{seen}");
    let (_, for_rad) = app.get_json(&format!("/api/v1/images/{img}"), &rad).await;
    assert!(for_rad["box_count"].as_i64().unwrap() >= 1);
    // Uploading the same file again answers with the stored image: redacted too.
    let r = app.upload(&reader, &[("again.png", bytes.clone())]).await;
    let again = ok_json(r, StatusCode::OK).await;
    assert_eq!(again["id"], img);
    assert_eq!(again["box_count"], Value::Null);
    // Changing its status or its file is work on the annotations: refused.
    let r = send(
        &app,
        &reader,
        Method::PATCH,
        &format!("/api/v1/images/{img}"),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    let part = reqwest::multipart::Part::bytes(png(200, 160, 79)).file_name("x.png");
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{img}/file"),
            Some(&reader),
        )
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    // The project's agreement leaves the image out (it has no submitted reading yet anyway).
    let (s, _) = app.get_json("/api/v1/agreement", &reader).await;
    assert_eq!(s, StatusCode::OK);

    // 5. Their own reading and the pixels stay theirs.
    for path in ["file", "render", "thumbnail"] {
        let r = app
            .req(
                Method::GET,
                &format!("/api/v1/images/{img}/{path}"),
                Some(&reader),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{img}/readings/me"),
            Some(&reader),
        )
        .header("If-Match", "0")
        .json(&json!({"boxes": [{"class_id": 4, "bbox": [22, 118, 61, 149]}]}))
        .send()
        .await
        .unwrap();
    ok_json(r, StatusCode::OK).await;
    let (s, mine) = app
        .get_json(&format!("/api/v1/images/{img}/readings/me"), &reader)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(mine["boxes"].as_array().unwrap().len(), 1);
    ok_json(
        send(
            &app,
            &reader,
            Method::POST,
            &format!("/api/v1/images/{img}/readings/me/submit"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;

    // Once submitted, the work on the image is theirs to see.
    let (s, ann) = app
        .get_json(&format!("/api/v1/images/{img}/annotations"), &reader)
        .await;
    assert_eq!(s, StatusCode::OK);
    // rad's boxes and the one rad added while the reader was blind.
    assert_eq!(ann["boxes"].as_array().unwrap().len(), n_before + 1);
    let (_, list) = app
        .get_json(&format!("/api/v1/reports?q={SECRET_WORD}"), &reader)
        .await;
    assert_eq!(list["reports"][0]["id"], rep);
    let (s, _) = app
        .get_json(&format!("/api/v1/reports/{rep}.json"), &reader)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get_json(&format!("/api/v1/jobs/{job}"), &reader).await;
    assert_eq!(s, StatusCode::OK);
    let (_, lib) = app.get_json("/api/v1/images", &reader).await;
    let now = lib["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == img)
        .unwrap()
        .clone();
    assert!(now["box_count"].as_i64().unwrap() >= 1);
}
