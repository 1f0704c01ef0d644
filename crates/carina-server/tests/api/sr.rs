//! Boxes as a DICOM SR over HTTP: `GET /images/{id}/sr` (reviewed boxes,
//! `include=proposals`, observers, stable tracking UIDs, the served image's
//! SOP Instance UID), `POST /images/{id}/sr` (Carina's own SR restores the
//! boxes to 0.01 px; refusals with messages), blind reading, and the import
//! function the DICOM node and STOW-RS call.

use crate::both_backends;
use crate::helpers::*;
use crate::reports::ok_json;
use bytes::Bytes;
use carina_core::{BBox, BoxStatus, Provenance};
use carina_sr::{ParsedReport, SrBox, SrDocument, read_measurement_report};
use carina_store::ModelBox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    sr_round_trip_restores_boxes,
    sr_custom_labels_and_codes,
    sr_refusals,
    sr_blind_reader_and_roles
);

/// A PNG image with two model proposals (Cardiomegaly, Pleural Effusion),
/// the first accepted, and a manual Nodule/Mass box at awkward coordinates.
pub async fn image_with_boxes(app: &TestApp, rad: &Session, seed: u8) -> (i64, Value) {
    let id = app.upload_ok(rad, "chest.png", png(200, 160, seed)).await["id"]
        .as_i64()
        .unwrap();
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
    let db = &app.state.store.db;
    let state = db
        .add_model_boxes(id, 0, "effdet-d0", "3", &proposals, "rad")
        .await
        .unwrap();
    let (m1, m2) = (state.boxes[0].id, state.boxes[1].id);
    let saved = put_boxes(
        app,
        rad,
        id,
        state.version,
        json!([
            {"id": m1, "class_id": 1, "bbox": [10, 10, 60, 50], "status": "accepted"},
            {"id": m2, "class_id": 8, "bbox": [100, 10, 150, 90], "status": "proposed"},
            {"class_id": 4, "bbox": [20.25, 120.5, 60.125, 150.75]},
        ]),
    )
    .await;
    (id, saved)
}

pub async fn put_boxes(app: &TestApp, s: &Session, id: i64, version: i64, boxes: Value) -> Value {
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(s),
        )
        .header("If-Match", version.to_string())
        .json(&json!({ "boxes": boxes }))
        .send()
        .await
        .unwrap();
    ok_json(r, StatusCode::OK).await
}

/// `GET /images/{id}/sr` as `s`: the bytes, after checking the headers.
pub async fn get_sr(app: &TestApp, s: &Session, id: i64, query: &str) -> Vec<u8> {
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/sr{query}"),
            Some(s),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/dicom");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains(&format!("carina-image-{id}-sr.dcm")), "{cd}");
    r.bytes().await.unwrap().to_vec()
}

pub async fn post_sr(app: &TestApp, s: &Session, id: i64, sr: Vec<u8>) -> reqwest::Response {
    app.req(Method::POST, &format!("/api/v1/images/{id}/sr"), Some(s))
        .header("content-type", "application/dicom")
        .body(sr)
        .send()
        .await
        .unwrap()
}

/// The SOP Instance UID of the file Carina serves for image `id`.
pub async fn served_ref(app: &TestApp, s: &Session, id: i64) -> carina_sr::SrImageRef {
    let r = app
        .req(Method::GET, &format!("/api/v1/images/{id}/file"), Some(s))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    carina_sr::image_ref_from_dicom(&r.bytes().await.unwrap()).unwrap()
}

pub fn near(b: &Value, want: [f64; 4]) -> bool {
    let got: Vec<f64> = b["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 0.01)
}

fn parse(bytes: &[u8]) -> ParsedReport {
    read_measurement_report(bytes).unwrap()
}

async fn sr_round_trip_restores_boxes(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let (id, saved) = image_with_boxes(&app, &rad, 1).await;
    let image = served_ref(&app, &viewer, id).await;

    // Reviewed boxes only: the accepted model box and the manual box.
    let sr = get_sr(&app, &viewer, id, "").await;
    let report = parse(&sr);
    assert!(report.made_by_carina);
    assert_eq!(report.boxes.len(), 2, "{report:?}");
    for b in &report.boxes {
        assert_eq!(b.referenced_sop_instance_uid, image.sop_instance_uid);
    }
    let model = &report.boxes[0];
    assert_eq!(model.label, "Cardiomegaly");
    assert_eq!(model.status, Some(BoxStatus::Accepted));
    assert_eq!(
        model.provenance,
        Some(Provenance::Model {
            model: "effdet-d0".into(),
            version: "3".into()
        })
    );
    assert_eq!(model.algorithm, Some(("effdet-d0".into(), "3".into())));
    let manual = &report.boxes[1];
    assert_eq!(manual.label, "Nodule/Mass");
    assert_eq!(manual.finding.value, "27925004");
    assert_eq!(
        manual.provenance,
        Some(Provenance::Radiologist { user: "rad".into() })
    );
    assert_eq!(manual.bbox.to_array(), [20.25, 120.5, 60.125, 150.75]);

    // Tracking UIDs are stable across calls; include=proposals adds the proposal.
    let again = parse(&get_sr(&app, &viewer, id, "").await);
    let uids = |r: &ParsedReport| -> Vec<Option<String>> {
        r.boxes.iter().map(|b| b.tracking_uid.clone()).collect()
    };
    assert_eq!(uids(&again), uids(&report));
    let all = parse(&get_sr(&app, &viewer, id, "?include=proposals").await);
    assert_eq!(all.boxes.len(), 3);
    assert_eq!(all.boxes[1].status, Some(BoxStatus::Proposed));
    assert_eq!(all.boxes[1].label, "Pleural Effusion");
    assert_eq!(uids(&all)[0], uids(&report)[0]);
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/sr?include=rejected"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "bad_request");

    // Change the boxes: move the model box, delete the manual one.
    let b = &saved["boxes"];
    let changed = put_boxes(
        &app,
        &rad,
        id,
        saved["version"].as_i64().unwrap(),
        json!([
            {"id": b[0]["id"], "class_id": 1, "bbox": [12, 14, 70, 55], "status": "accepted"},
            {"id": b[1]["id"], "class_id": 8, "bbox": [100, 10, 150, 90], "status": "proposed"},
        ]),
    )
    .await;
    // The first SR put back: the model box where it was (still the model's),
    // the deleted box again, as a manual box of the importer.
    let r = post_sr(&app, &rad, id, sr.clone()).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let done = ok_json(r, StatusCode::OK).await;
    assert_eq!(
        (done["restored"].as_u64(), done["added"].as_u64()),
        (Some(1), Some(1)),
        "{done}"
    );
    let version = done["version"].as_i64().unwrap();
    assert_eq!(version, changed["version"].as_i64().unwrap() + 1);
    assert_eq!(etag, format!("\"{version}\""));
    let (_, now) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(now, done["annotations"]);
    let boxes = now["boxes"].as_array().unwrap();
    assert_eq!(boxes.len(), 3);
    let model_box = boxes.iter().find(|x| x["id"] == b[0]["id"]).unwrap();
    assert!(near(model_box, [10.0, 10.0, 60.0, 50.0]), "{model_box}");
    assert_eq!(model_box["source"]["kind"], "model");
    let readded = boxes.iter().find(|x| x["class_id"] == 4).unwrap();
    assert!(near(readded, [20.25, 120.5, 60.125, 150.75]), "{readded}");
    assert_eq!(readded["status"], "manual");
    assert_eq!(
        readded["source"],
        json!({"kind": "radiologist", "user": "rad"})
    );
    let (_, history) = app
        .get_json(&format!("/api/v1/images/{id}/history"), &rad)
        .await;
    assert_eq!(
        history["entries"].as_array().unwrap().last().unwrap()["user"],
        "rad"
    );

    // The same SR again (multipart this time) changes nothing.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(sr.clone()).file_name("sr.dcm"),
    );
    let r = app
        .req(Method::POST, &format!("/api/v1/images/{id}/sr"), Some(&rad))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let same = ok_json(r, StatusCode::OK).await;
    assert_eq!(same["version"].as_i64(), Some(version), "{same}");
    assert_eq!(same["unchanged"].as_u64(), Some(2));
    // A stale If-Match is a conflict, as for the annotation PUT.
    let r = app
        .req(Method::POST, &format!("/api/v1/images/{id}/sr"), Some(&rad))
        .header("content-type", "application/dicom")
        .header("If-Match", "\"1\"")
        .body(sr.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::CONFLICT).await,
        "version_conflict"
    );

    // The import function the DICOM node and STOW-RS call finds the image
    // by the SOP Instance UID the SR references.
    assert!(carina_server::sr_import::is_sr(&sr));
    let found = carina_server::sr_import::import_sr(&app.state, Bytes::from(sr), "rad", None, None)
        .await
        .unwrap();
    assert_eq!(found.image_id, id);
    assert_eq!(found.unchanged, 2);
}

/// An SR Carina did not write about `image`, with one box of `label`.
pub fn sr_about(image: &carina_sr::SrImageRef, label: &str) -> Vec<u8> {
    let b = SrBox {
        box_id: "1".into(),
        label: label.into(),
        bbox: BBox::new(5.0, 5.0, 25.0, 25.0).unwrap(),
        provenance: Provenance::Radiologist {
            user: "someone".into(),
        },
        status: BoxStatus::Manual,
    };
    let doc = SrDocument::new(std::time::SystemTime::now(), "1");
    carina_sr::write_measurement_report(image, &[b], &doc).unwrap()
}

async fn sr_refusals(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let (id, _) = image_with_boxes(&app, &rad, 2).await;
    let (other, _) = image_with_boxes(&app, &rad, 3).await;
    let sr = get_sr(&app, &rad, id, "").await;
    let (_, before) = app
        .get_json(&format!("/api/v1/images/{other}/annotations"), &rad)
        .await;

    // Image id's SR posted to another image.
    let r = post_sr(&app, &rad, other, sr.clone()).await;
    let body: Value = r.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("not on image {other}")), "{msg}");

    // An SR about an image Carina does not have.
    let mut unknown = served_ref(&app, &rad, id).await;
    unknown.sop_instance_uid = "2.25.999999999".into();
    let stray = sr_about(&unknown, "Pneumothorax");
    let r = post_sr(&app, &rad, id, stray.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = carina_server::sr_import::import_sr(&app.state, Bytes::from(stray), "rad", None, None)
        .await
        .unwrap_err();
    assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e.message.contains("does not have") && e.message.contains("2.25.999999999"),
        "{}",
        e.message
    );

    // A finding that is not a label of the label set, named in the message.
    let image = served_ref(&app, &rad, id).await;
    let r = post_sr(&app, &rad, id, sr_about(&image, "Rib fracture")).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_finding", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Rib fracture"),
        "{body}"
    );

    // Bad files: not DICOM, truncated, a DICOM image, a wrong media type.
    let r = post_sr(&app, &rad, id, b"not a dicom file".to_vec()).await;
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "bad_request");
    let r = post_sr(&app, &rad, id, sr[..sr.len() / 2].to_vec()).await;
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "bad_request");
    let file = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/file"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let r = post_sr(&app, &rad, id, file.to_vec()).await;
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SOP class"),
        "{body}"
    );
    let r = app
        .req(Method::POST, &format!("/api/v1/images/{id}/sr"), Some(&rad))
        .header("content-type", "text/plain")
        .body(sr.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = app
        .req(Method::POST, "/api/v1/images/999999/sr", Some(&rad))
        .header("content-type", "application/dicom")
        .body(sr)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Nothing was written by any refusal.
    let (_, after) = app
        .get_json(&format!("/api/v1/images/{other}/annotations"), &rad)
        .await;
    assert_eq!(before, after);
}

async fn sr_blind_reader_and_roles(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let reader = app.user("reader", "radiologist", Some(&admin)).await;
    let (id, _) = image_with_boxes(&app, &rad, 4).await;
    let sr = get_sr(&app, &rad, id, "").await;
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{id}/assignments"),
            Some(&admin),
        )
        .json(&json!({"readers": ["reader"], "reviewer": "rad"}))
        .send()
        .await
        .unwrap();
    ok_json(r, StatusCode::CREATED).await;
    // The blind reader gets none of others' boxes, in or out.
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/sr"),
            Some(&reader),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    let r = post_sr(&app, &reader, id, sr.clone()).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "blind_reading");
    let e = carina_server::sr_import::import_sr(
        &app.state,
        Bytes::from(sr.clone()),
        "reader",
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e.status, StatusCode::FORBIDDEN);
    // A viewer reads the SR but does not import one.
    let r = post_sr(&app, &viewer, id, sr).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
    get_sr(&app, &viewer, id, "").await;
}

async fn sr_custom_labels_and_codes(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    let r = app
        .req(Method::POST, "/api/v1/labels", Some(&admin))
        .json(&json!({"name": "Rib fracture", "color": "#aa5500"}))
        .send()
        .await
        .unwrap();
    let label = ok_json(r, StatusCode::CREATED).await;
    let class_id = label["id"].as_i64().unwrap();
    let id = app.upload_ok(&rad, "chest.png", png(200, 160, 9)).await["id"]
        .as_i64()
        .unwrap();
    let saved = put_boxes(
        &app,
        &rad,
        id,
        0,
        json!([{"class_id": class_id, "bbox": [30.5, 40.25, 90.75, 100.125]}]),
    )
    .await;
    // The custom label goes out as a 99CARINA code named after it...
    let sr = get_sr(&app, &rad, id, "").await;
    let report = parse(&sr);
    let finding = &report.boxes[0].finding;
    assert_eq!(finding.scheme, "99CARINA");
    assert_eq!(finding.meaning, "Rib fracture");
    assert_eq!(
        finding.value,
        carina_sr::codes::custom_code_value("Rib fracture")
    );
    // ... and comes back to the same label.
    put_boxes(
        &app,
        &rad,
        id,
        saved["version"].as_i64().unwrap(),
        json!([]),
    )
    .await;
    let done = ok_json(post_sr(&app, &rad, id, sr.clone()).await, StatusCode::OK).await;
    let b = &done["annotations"]["boxes"][0];
    assert_eq!(b["class_id"], class_id);
    assert!(near(b, [30.5, 40.25, 90.75, 100.125]), "{b}");
    // A 99CARINA code whose value is not derived from its meaning is not
    // Carina's: refused by code, the message names it.
    let value = finding.value.as_bytes();
    let pos = sr.windows(value.len()).position(|w| w == value).unwrap();
    let mut forged = sr.clone();
    forged[pos..pos + value.len()].copy_from_slice(b"LFFFFFFFFFFFFFFF");
    let r = post_sr(&app, &rad, id, forged).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_finding", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("LFFFFFFFFFFFFFFF"),
        "{body}"
    );
}
