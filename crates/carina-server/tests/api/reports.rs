//! Reports: drafting from reviewed boxes, editing, signing, immutability,
//! amendments (both versions kept), study reports, HTML escaping, PDF text,
//! FHIR validity, listing and search.

use crate::both_backends;
use crate::helpers::*;
use carina_store::Database;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

both_backends!(
    draft_sign_amend,
    signed_reports_are_immutable_in_the_store,
    study_reports_and_bad_input
);

pub async fn send(
    app: &TestApp,
    s: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut r = app.req(method, path, Some(s));
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

pub async fn ok_json(r: Response, status: StatusCode) -> Value {
    let got = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "body: {v}");
    v
}

/// Uploads a PNG and saves one manual Nodule/Mass box on it.
pub async fn image_with_box(app: &TestApp, rad: &Session, seed: u8) -> i64 {
    let id = app.upload_ok(rad, "chest.png", png(200, 160, seed)).await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(rad),
        )
        .header("If-Match", "0")
        .json(&json!({"boxes": [{"class_id": 4, "bbox": [20, 120, 60, 150]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    id
}

async fn draft_sign_amend(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = image_with_box(&app, &rad, 1).await;
    let path = format!("/api/v1/images/{img}/reports");
    // Viewers read reports but do not write them.
    let r = send(&app, &viewer, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
    let draft = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &path,
            Some(json!({"impression": "first words"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["version"], 1);
    assert_eq!(draft["image_ids"], json!([img]));
    assert_eq!(draft["author"], "rad");
    let f = &draft["findings"][0];
    assert_eq!(draft["findings"].as_array().unwrap().len(), 1);
    assert_eq!(f["class_name"], "Nodule/Mass");
    assert_eq!(f["bbox"], json!([20.0, 120.0, 60.0, 150.0]));
    // Image left half is the patient's right; y 120..150 of 160 is the lower zone.
    assert_eq!(
        f["location"].as_str().unwrap().split(',').next().unwrap(),
        "right lower zone"
    );
    assert_eq!(f["found_by"], json!({"kind": "radiologist", "user": "rad"}));
    assert_eq!(f["confidence"], Value::Null);

    // Amending a draft is refused: it is edited instead.
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/reports/{id}/amend"),
        None,
    )
    .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    let edited = ok_json(
        send(
            &app,
            &rad,
            Method::PATCH,
            &format!("/api/v1/reports/{id}"),
            Some(json!({"impression": "Solitary nodule, right lower zone."})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["impression"], "Solitary nodule, right lower zone.");
    let r = send(
        &app,
        &viewer,
        Method::POST,
        &format!("/api/v1/reports/{id}/sign"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let signed = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/reports/{id}/sign"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["signed_by"], "rad");
    assert!(signed["signed_at"].as_str().unwrap().ends_with('Z'));
    // Sign twice, edit after signing: 409, nothing changes.
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/reports/{id}/sign"),
        None,
    )
    .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    let r = send(
        &app,
        &rad,
        Method::PATCH,
        &format!("/api/v1/reports/{id}"),
        Some(json!({"impression": "changed"})),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");

    // Amend: a new draft, version 2, the signed one untouched.
    let v2 = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/reports/{id}/amend"),
            None,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id2 = v2["id"].as_i64().unwrap();
    assert_ne!(id2, id);
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["status"], "draft");
    assert_eq!(v2["supersedes"], id);
    assert_eq!(v2["impression"], "Solitary nodule, right lower zone.");
    // Only one amendment of a version at a time.
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/reports/{id}/amend"),
        None,
    )
    .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    ok_json(
        send(
            &app,
            &rad,
            Method::PATCH,
            &format!("/api/v1/reports/{id2}"),
            Some(json!({"impression": "Nodule, right lower zone; follow-up CT advised."})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let v2s = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/reports/{id2}/sign"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(v2s["status"], "amended");

    // Both versions are kept; the first is superseded with its text intact.
    let (s, v1) = app
        .get_json(&format!("/api/v1/reports/{id}.json"), &viewer)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v1["status"], "superseded");
    assert_eq!(v1["superseded_by"], id2);
    assert_eq!(v1["impression"], "Solitary nodule, right lower zone.");
    assert_eq!(v1["signed_by"], "rad");
    // Accept: application/json on the plain path gives the same JSON.
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/reports/{id2}"),
            Some(&viewer),
        )
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let v2_json: Value = ok_json(r, StatusCode::OK).await;
    assert_eq!(
        v2_json["impression"],
        "Nodule, right lower zone; follow-up CT advised."
    );
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/reports/{id}/amend"),
        None,
    )
    .await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");

    // The list: by image, by status, by text.
    let (_, all) = app
        .get_json(&format!("/api/v1/reports?image_id={img}"), &viewer)
        .await;
    assert_eq!(all["reports"].as_array().unwrap().len(), 2);
    let (_, sup) = app
        .get_json("/api/v1/reports?status=superseded", &viewer)
        .await;
    let ids: Vec<i64> = sup["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    let (_, found) = app.get_json("/api/v1/reports?q=FOLLOW-UP", &viewer).await;
    let ids: Vec<i64> = found["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id2]);
    let (_, none) = app
        .get_json("/api/v1/reports?q=pneumothorax", &viewer)
        .await;
    assert_eq!(none["reports"], json!([]));
    let (s, _) = app.get_json("/api/v1/reports?status=maybe", &viewer).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// The triggers refuse changes to a signed version even from SQL.
async fn signed_reports_are_immutable_in_the_store(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let img = image_with_box(&app, &rad, 2).await;
    let draft = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            Some(json!({"impression": "kept as signed"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = draft["id"].as_i64().unwrap();
    ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/reports/{id}/sign"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let statements = [
        "UPDATE reports SET impression = 'forged' WHERE id = $1",
        "UPDATE reports SET status = 'draft', signed_by = NULL, signed_at = NULL WHERE id = $1",
        "DELETE FROM reports WHERE id = $1",
        "DELETE FROM report_images WHERE report_id = $1",
    ];
    for sql in statements {
        let result = match &app.state.store.db {
            Database::Sqlite(p) => sqlx::query(sql).bind(id).execute(p).await.map(|_| ()),
            Database::Postgres(p) => sqlx::query(sql).bind(id).execute(p).await.map(|_| ()),
        };
        assert!(result.is_err(), "{sql} should be refused");
    }
    let stored = app.state.store.db.report(id).await.unwrap().unwrap();
    assert_eq!(stored.impression, "kept as signed");
    assert_eq!(stored.image_ids, vec![img]);
    assert_eq!(stored.signed_by.as_deref(), Some("rad"));
}

async fn study_reports_and_bad_input(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let a = app
        .upload_ok(&rad, "a.dcm", sample("dicom/siim_cr_jpeg_baseline.dcm"))
        .await;
    let b = app
        .upload_ok(&rad, "b.dcm", sample("dicom/siim_cr_monochrome1.dcm"))
        .await;
    assert_eq!(
        a["study_pseudonym"], b["study_pseudonym"],
        "the samples share one study"
    );
    let png_img = image_with_box(&app, &rad, 4).await;
    let study = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            "/api/v1/reports",
            Some(json!({"image_ids": [a["id"], b["id"]], "impression": "Two views."})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(study["image_ids"], json!([a["id"], b["id"]]));
    assert_eq!(study["study_pseudonym"], a["study_pseudonym"]);
    let (s, _) = app
        .get_json(&format!("/api/v1/reports/{}.pdf", study["id"]), &rad)
        .await;
    assert_eq!(s, StatusCode::OK);

    for (body, status) in [
        (
            json!({"image_ids": [a["id"], png_img]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"image_ids": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"image_ids": [a["id"], a["id"]]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"image_ids": [987654]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"image_ids": "1"}), StatusCode::BAD_REQUEST),
    ] {
        let r = send(
            &app,
            &rad,
            Method::POST,
            "/api/v1/reports",
            Some(body.clone()),
        )
        .await;
        error_code(r, status).await;
    }
    let r = send(
        &app,
        &rad,
        Method::POST,
        "/api/v1/images/987654/reports",
        None,
    )
    .await;
    error_code(r, StatusCode::NOT_FOUND).await;
    for path in [
        "/api/v1/reports/987654",
        "/api/v1/reports/987654.pdf",
        "/api/v1/reports/abc",
        "/api/v1/reports/1.exe",
    ] {
        let (s, body) = app.get_json(path, &rad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    // Signing needs an impression (or "no finding").
    let empty = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{png_img}/reports"),
            None,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/reports/{}/sign", empty["id"]),
        None,
    )
    .await;
    error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let r = send(
        &app,
        &rad,
        Method::PATCH,
        &format!("/api/v1/reports/{}", empty["id"]),
        Some(json!({"colour": "red"})),
    )
    .await;
    error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let long = "x".repeat(20_001);
    let r = send(
        &app,
        &rad,
        Method::PATCH,
        &format!("/api/v1/reports/{}", empty["id"]),
        Some(json!({"impression": long})),
    )
    .await;
    error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    // refresh_findings takes the current boxes again.
    app.req(
        Method::PUT,
        &format!("/api/v1/images/{png_img}/annotations"),
        Some(&rad),
    )
    .header("If-Match", "1")
    .json(&json!({"boxes": [{"class_id": 8, "bbox": [120, 100, 190, 150]}]}))
    .send()
    .await
    .unwrap();
    let refreshed = ok_json(
        send(
            &app,
            &rad,
            Method::PATCH,
            &format!("/api/v1/reports/{}", empty["id"]),
            Some(json!({"refresh_findings": true})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = refreshed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["class_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Pleural Effusion"]);
}
