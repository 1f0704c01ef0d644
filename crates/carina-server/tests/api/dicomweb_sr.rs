//! An SR part of a STOW-RS request (`POST /dicom-web/studies`) is imported
//! as boxes on the image it references, as `POST /images/{id}/sr` does:
//! Carina's own SR puts changed and deleted boxes back to 0.01 px; an SR
//! about an image Carina does not have is a failed instance (409 with
//! FailedSOPSequence and the reason in the Warning header), nothing written.

use crate::both_backends;
use crate::dicomweb::{stow, stow_body, value};
use crate::helpers::*;
use crate::sr::{get_sr, image_with_boxes, near, put_boxes, served_ref, sr_about};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(stow_sr_restores_boxes, stow_sr_about_an_unknown_image);

const CT: &str = "multipart/related; type=\"application/dicom\"; boundary=\"sr-part\"";
const COMPREHENSIVE_3D_SR: &str = "1.2.840.10008.5.1.4.1.1.88.34";

/// The SR's own SOP Instance UID, after checking its class.
fn sr_uid(sr: &[u8]) -> String {
    let report = carina_sr::read_measurement_report(sr).unwrap();
    assert_eq!(report.sop_class_uid, COMPREHENSIVE_3D_SR);
    report.sop_instance_uid
}

async fn stow_sr_restores_boxes(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let (id, saved) = image_with_boxes(&app, &rad, 11).await;
    let sr = get_sr(&app, &viewer, id, "").await;
    let sr_uid = sr_uid(&sr);
    // The accepted model box moved, the manual box deleted.
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

    let (status, ds, warning) = stow(&app, &rad, CT, stow_body("sr-part", &[&sr])).await;
    assert_eq!(status, StatusCode::OK, "{ds} {warning:?}");
    assert!(ds.get("00081198").is_none(), "{ds}");
    let stored = &ds["00081199"]["Value"];
    assert_eq!(stored.as_array().unwrap().len(), 1, "{ds}");
    assert_eq!(value(&stored[0], "00081150"), COMPREHENSIVE_3D_SR);
    assert_eq!(value(&stored[0], "00081155"), sr_uid.as_str());

    let (_, now) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(
        now["version"].as_i64(),
        Some(changed["version"].as_i64().unwrap() + 1)
    );
    let boxes = now["boxes"].as_array().unwrap();
    assert_eq!(boxes.len(), 3, "{now}");
    let model = boxes.iter().find(|x| x["id"] == b[0]["id"]).unwrap();
    assert!(near(model, [10.0, 10.0, 60.0, 50.0]), "{model}");
    assert_eq!(model["source"]["kind"], "model");
    let manual = boxes.iter().find(|x| x["class_id"] == 4).unwrap();
    assert!(near(manual, [20.25, 120.5, 60.125, 150.75]), "{manual}");
    assert_eq!(manual["status"], "manual");
    assert_eq!(
        manual["source"],
        json!({"kind": "radiologist", "user": "rad"})
    );
    // An SR is not an image of the library.
    let (_, list) = app.get_json("/api/v1/images", &viewer).await;
    assert_eq!(list["total"], 1);

    // The same SR again: stored (200), nothing changes.
    let (status, ds, _) = stow(&app, &rad, CT, stow_body("sr-part", &[&sr])).await;
    assert_eq!(status, StatusCode::OK, "{ds}");
    let (_, again) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(again, now);
}

async fn stow_sr_about_an_unknown_image(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let (id, _) = image_with_boxes(&app, &rad, 12).await;
    let path = format!("/api/v1/images/{id}/annotations");
    let (_, before) = app.get_json(&path, &rad).await;
    let mut unknown = served_ref(&app, &rad, id).await;
    unknown.sop_instance_uid = "2.25.123456789".into();
    let stray = sr_about(&unknown, "Pneumothorax");
    let stray_uid = sr_uid(&stray);

    let (status, ds, warning) = stow(&app, &rad, CT, stow_body("sr-part", &[&stray])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{ds}");
    assert!(ds.get("00081199").is_none(), "{ds}");
    let failed = ds["00081198"]["Value"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{ds}");
    assert_eq!(value(&failed[0], "00081150"), COMPREHENSIVE_3D_SR);
    assert_eq!(value(&failed[0], "00081155"), stray_uid.as_str());
    assert_eq!(value(&failed[0], "00081197"), 0xC000);
    let warning = warning.expect("a Warning header with the reason");
    assert!(
        warning.starts_with("299 carina \"part 1: ")
            && warning.contains("does not have")
            && warning.contains("2.25.123456789"),
        "{warning}"
    );

    // Beside a good SR: 202, the good one imported, the stray one failed.
    let (id2, saved) = image_with_boxes(&app, &rad, 13).await;
    let sr = get_sr(&app, &rad, id2, "").await;
    // Its manual box deleted (model boxes are only ever rejected).
    let b = &saved["boxes"];
    let version = saved["version"].as_i64().unwrap();
    put_boxes(&app, &rad, id2, version, json!([b[0], b[1]])).await;
    let (status, ds, warning) = stow(&app, &rad, CT, stow_body("sr-part", &[&stray, &sr])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ds}");
    assert_eq!(ds["00081198"]["Value"].as_array().unwrap().len(), 1);
    assert_eq!(ds["00081199"]["Value"].as_array().unwrap().len(), 1);
    assert!(warning.unwrap().contains("part 1:"));
    let (_, restored) = app
        .get_json(&format!("/api/v1/images/{id2}/annotations"), &rad)
        .await;
    let boxes = restored["boxes"].as_array().unwrap();
    assert_eq!(boxes.len(), 3, "{restored}");
    let manual = boxes.iter().find(|x| x["class_id"] == 4).unwrap();
    assert!(near(manual, [20.25, 120.5, 60.125, 150.75]), "{manual}");

    // Nothing written for the stray SR.
    let (_, after) = app.get_json(&path, &rad).await;
    assert_eq!(before, after);
}
