//! `GET /api/v1/studies`: images grouped by study pseudonym, the status
//! rolled up, search and paging, blind reading; and the backfill of the
//! DICOM identifiers of images stored before they were recorded.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(studies_group_images, identifiers_are_backfilled);

async fn set_status(app: &TestApp, rad: &Session, id: &Value, status: &str) {
    let r = app
        .req(Method::PATCH, &format!("/api/v1/images/{id}"), Some(rad))
        .json(&json!({ "status": status }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn study_of<'a>(list: &'a Value, image_id: &Value) -> &'a Value {
    list["studies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["image_ids"].as_array().unwrap().contains(image_id))
        .unwrap_or_else(|| panic!("no study holds image {image_id}: {list}"))
}

async fn studies_group_images(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let pa = app
        .upload_ok(&rad, "a.dcm", sample("dicom/RG1_UNCR.dcm"))
        .await;
    let second = app
        .upload_ok(&rad, "b.dcm", sample("dicom/RG1_J2KR.dcm"))
        .await;
    let other = app
        .upload_ok(&rad, "c.dcm", sample("dicom/siim_cr_jpeg_baseline.dcm"))
        .await;
    // A PNG has no study: it is not listed.
    app.upload_ok(&rad, "plain.png", png(32, 32, 9)).await;

    let (status, list) = app.get_json("/api/v1/studies", &viewer).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 2, "{list}");
    let rg1 = study_of(&list, &pa["id"]);
    assert_eq!(rg1["image_ids"], json!([pa["id"], second["id"]]));
    assert_eq!(rg1["study_pseudonym"], pa["study_pseudonym"]);
    assert_eq!(rg1["patient_pseudonym"], pa["patient_pseudonym"]);
    assert_eq!(rg1["modalities"], json!(["CR"]));
    assert_eq!(rg1["status"], "new");
    // De-identification empties the study date: no offset.
    assert!(rg1.get("study_date_offset").is_none(), "{rg1}");
    // The study with the newest image comes first.
    assert_eq!(list["studies"][0]["image_ids"], json!([other["id"]]));
    // No name or identifier of the originals.
    let text = list.to_string();
    assert!(
        !text.contains("CompressedSamples") && !text.contains("9RG1"),
        "{text}"
    );

    set_status(&app, &rad, &pa["id"], "done").await;
    let (_, list) = app.get_json("/api/v1/studies", &viewer).await;
    assert_eq!(study_of(&list, &pa["id"])["status"], "in_review");
    set_status(&app, &rad, &second["id"], "done").await;
    let (_, list) = app.get_json("/api/v1/studies", &viewer).await;
    assert_eq!(study_of(&list, &pa["id"])["status"], "done");

    // Search by pseudonym; paging.
    let p = pa["patient_pseudonym"].as_str().unwrap();
    let (_, found) = app
        .get_json(&format!("/api/v1/studies?q={}", &p[..8]), &viewer)
        .await;
    assert_eq!(found["total"], 1, "{found}");
    let (_, none) = app
        .get_json("/api/v1/studies?q=nothing-like-it", &viewer)
        .await;
    assert_eq!(none["total"], 0);
    assert_eq!(none["studies"], json!([]));
    let (_, page) = app
        .get_json("/api/v1/studies?per_page=1&page=2", &viewer)
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["studies"].as_array().unwrap().len(), 1);
    assert_eq!(page["studies"][0]["image_ids"][0], pa["id"]);
    let (status, _) = app.get_json("/api/v1/studies?page=x", &viewer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A blind reader of one of the study's images does not learn its status.
    let reader = app.user("reader", "radiologist", Some(&admin)).await;
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{}/assignments", second["id"]),
            Some(&admin),
        )
        .json(&json!({"readers": ["reader"], "reviewer": "rad"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, blind) = app.get_json("/api/v1/studies", &reader).await;
    let s = study_of(&blind, &pa["id"]);
    assert_eq!(s["status"], Value::Null, "{s}");
    assert_eq!(s["blind"], true);
    assert_eq!(study_of(&blind, &other["id"])["status"], "new");
    let (_, seen) = app.get_json("/api/v1/studies", &rad).await;
    assert_eq!(study_of(&seen, &pa["id"])["status"], "done");
    assert!(study_of(&seen, &pa["id"]).get("blind").is_none());
}

async fn identifiers_are_backfilled(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app
        .upload_ok(&rad, "a.dcm", sample("dicom/RG1_UNCR.dcm"))
        .await;
    let id = img["id"].as_i64().unwrap();
    let db = &app.state.store.db;
    let stored = db.image_dicom_ids(id).await.unwrap().unwrap();
    let sop = stored.sop_instance_uid.clone().unwrap();
    assert!(sop.starts_with("2.25."), "{sop}");
    assert_eq!(
        stored.sop_class_uid.as_deref(),
        Some("1.2.840.10008.5.1.4.1.1.1")
    );
    assert_eq!(
        stored.study_date, None,
        "de-identification empties the date"
    );
    // As a row stored before the columns existed.
    db.set_dicom_ids(id, &carina_store::DicomIds::default())
        .await
        .unwrap();
    let (_, found) = app.get_json("/dicom-web/studies", &viewer).await;
    assert_eq!(found, json!([]), "not listed without its identifiers");
    let filled = carina_server::dicom_ids::backfill(&app.state)
        .await
        .unwrap();
    assert_eq!(filled, 1);
    assert_eq!(db.image_dicom_ids(id).await.unwrap().unwrap(), stored);
    let (_, found) = app.get_json("/dicom-web/studies", &viewer).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    // Nothing left to fill.
    assert_eq!(
        carina_server::dicom_ids::backfill(&app.state)
            .await
            .unwrap(),
        0
    );
}
