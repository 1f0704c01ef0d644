//! What the pages call an image (pseudonym, study, view, the admin's label),
//! the library's split box counts, the worklist's filters and counts, and the
//! session probe that never answers 401.

use crate::both_backends_with;
use crate::helpers::*;
use crate::reports::send;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn with_model(c: &mut carina_server::Config) {
    c.bundled_model = true;
}
fn plain(_: &mut carina_server::Config) {}

both_backends_with!(display_names_follow_patient_study_and_view, super::plain);
both_backends_with!(display_label_is_admin_only_and_checked, super::plain);
both_backends_with!(box_counts_split_reviewed_and_proposals, super::with_model);
both_backends_with!(worklist_filters_and_status_counts, super::plain);
both_backends_with!(session_probe_never_answers_401, super::plain);

const PATIENT_ID: (u16, u16) = (0x0010, 0x0020);
const STUDY_UID: (u16, u16) = (0x0020, 0x000D);
const SERIES_UID: (u16, u16) = (0x0020, 0x000E);
const SOP_UID: (u16, u16) = (0x0008, 0x0018);
const VIEW: (u16, u16) = (0x0018, 0x5101);

/// The shipped uncompressed radiograph as another patient, study, instance and view.
fn dicom(patient: &str, study: &str, instance: u32, view: &str) -> Vec<u8> {
    carina_imaging::deid_fixture::with_strings(
        &sample("dicom/RG1_UNCR.dcm"),
        &[
            (PATIENT_ID, "LO", patient),
            (
                STUDY_UID,
                "UI",
                &format!("1.2.826.0.1.3680043.10.1.{study}"),
            ),
            (
                SERIES_UID,
                "UI",
                &format!("1.2.826.0.1.3680043.10.2.{study}"),
            ),
            (
                SOP_UID,
                "UI",
                &format!("1.2.826.0.1.3680043.10.3.{instance}"),
            ),
            (VIEW, "CS", view),
        ],
    )
    .unwrap()
}

fn short(patient_pseudonym: &Value) -> String {
    let p = patient_pseudonym.as_str().expect("a patient pseudonym");
    let hex = p.strip_prefix("P-").expect("pseudonyms start with P-");
    format!("P-{}", hex[..4].to_uppercase())
}

async fn patch(app: &TestApp, who: &Session, id: i64, body: Value) -> reqwest::Response {
    app.req(Method::PATCH, &format!("/api/v1/images/{id}"), Some(who))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn display_names_follow_patient_study_and_view(app: TestApp) {
    let (_admin, rad, viewer) = app.team().await;
    // Patient X: study 1 with a PA and a lateral, then study 2 (PA); patient Y: one PA.
    let x1_pa = app
        .upload_ok(&rad, "a.dcm", dicom("PAT-X", "1", 1, "PA"))
        .await;
    let x1_ll = app
        .upload_ok(&rad, "b.dcm", dicom("PAT-X", "1", 2, "LL"))
        .await;
    let x2_pa = app
        .upload_ok(&rad, "c.dcm", dicom("PAT-X", "2", 3, "PA"))
        .await;
    let y1_ap = app
        .upload_ok(&rad, "d.dcm", dicom("PAT-Y", "3", 4, "AP"))
        .await;
    let raster = app.upload_ok(&rad, "e.png", png(40, 30, 1)).await;

    // The upload's reply was made before later uploads; read them again.
    let get = |img: &Value| {
        let id = img["id"].as_i64().unwrap();
        let app = &app;
        let viewer = &viewer;
        async move {
            app.get_json(&format!("/api/v1/images/{id}"), viewer)
                .await
                .1
        }
    };
    let (x1_pa, x1_ll, x2_pa, y1_ap, raster) = (
        get(&x1_pa).await,
        get(&x1_ll).await,
        get(&x2_pa).await,
        get(&y1_ap).await,
        get(&raster).await,
    );
    let px = short(&x1_pa["patient_pseudonym"]);
    let py = short(&y1_ap["patient_pseudonym"]);
    assert_ne!(px, py);
    assert_eq!(x1_pa["patient_pseudonym"], x2_pa["patient_pseudonym"]);
    assert_eq!(x1_pa["study_pseudonym"], x1_ll["study_pseudonym"]);
    assert_ne!(x1_pa["study_pseudonym"], x2_pa["study_pseudonym"]);
    for (img, view, study, index, count, name) in [
        (&x1_pa, "PA", 1, 1, 2, format!("{px} · study 1 · PA #1")),
        (&x1_ll, "LL", 1, 2, 2, format!("{px} · study 1 · LL #2")),
        (&x2_pa, "PA", 2, 1, 1, format!("{px} · study 2 · PA")),
        (&y1_ap, "AP", 1, 1, 1, format!("{py} · study 1 · AP")),
    ] {
        assert_eq!(img["view_position"], view, "{img}");
        assert_eq!(img["study_index"], study, "{img}");
        assert_eq!(img["image_index"], index, "{img}");
        assert_eq!(img["study_image_count"], count, "{img}");
        assert_eq!(img["display_name"], name.as_str(), "{img}");
        assert_eq!(img["display_label"], Value::Null);
    }
    // A PNG (served as a Secondary Capture of a patient of its own): its stored name.
    assert_eq!(raster["view_position"], Value::Null);
    assert_eq!(raster["study_index"], Value::Null);
    assert_eq!(raster["display_name"], raster["original_filename"]);

    // The list shows the same names, and filters by study.
    let (_, list) = app.get_json("/api/v1/images", &viewer).await;
    for img in list["images"].as_array().unwrap() {
        let one = get(img).await;
        assert_eq!(img["display_name"], one["display_name"]);
    }
    let study = x1_pa["study_pseudonym"].as_str().unwrap();
    let (s, in_study) = app
        .get_json(&format!("/api/v1/images?study={study}"), &viewer)
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut ids: Vec<&Value> = in_study["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    ids.sort_by_key(|v| v.as_i64());
    assert_eq!(ids, vec![&x1_pa["id"], &x1_ll["id"]]);
    assert_eq!(in_study["total"], 2);
}

async fn display_label_is_admin_only_and_checked(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, "x.png", png(40, 30, 2)).await;
    let id = img["id"].as_i64().unwrap();
    let generated = img["display_name"].clone();
    // Refused: not an admin, too long, control characters, nothing to change, unknown field.
    for (who, body, status) in [
        (
            &rad,
            json!({"display_label": "Case A"}),
            StatusCode::FORBIDDEN,
        ),
        (
            &viewer,
            json!({"display_label": "Case A"}),
            StatusCode::FORBIDDEN,
        ),
        (
            &admin,
            json!({"display_label": "x".repeat(81)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            json!({"display_label": "Case\nA"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (&admin, json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            &admin,
            json!({"display_label": "A", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            json!({"display_label": "A", "status": "maybe"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = patch(&app, who, id, body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
    }
    let (_, same) = app.get_json(&format!("/api/v1/images/{id}"), &rad).await;
    assert_eq!(same["display_label"], Value::Null);
    assert_eq!(same["status"], "new", "a refused request changed nothing");

    // Set (trimmed, 80 characters allowed), found by search, then cleared.
    let r = patch(&app, &admin, id, json!({"display_label": "  Case Ä-17  "})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let set: Value = r.json().await.unwrap();
    assert_eq!(set["display_label"], "Case Ä-17");
    assert_eq!(set["display_name"], "Case Ä-17");
    assert_eq!(set["updated_by"], "admin");
    // SQLite's LOWER folds ASCII only: search with an ASCII part.
    let (_, found) = app.get_json("/api/v1/images?q=CASE", &viewer).await;
    assert_eq!(found["total"], 1, "{found}");
    let r = patch(&app, &admin, id, json!({"display_label": "é".repeat(80)})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Status and label in one request.
    let r = patch(
        &app,
        &admin,
        id,
        json!({"display_label": null, "status": "done"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cleared: Value = r.json().await.unwrap();
    assert_eq!(cleared["display_label"], Value::Null);
    assert_eq!(cleared["display_name"], generated);
    assert_eq!(cleared["status"], "done");
    let r = patch(&app, &admin, id, json!({"display_label": ""})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = patch(&app, &admin, 424242, json!({"display_label": "x"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Proposed model boxes of an annotations state, with their scores.
fn proposal_scores(ann: &Value) -> Vec<f64> {
    ann["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] == "proposed")
        .map(|b| b["score"].as_f64().unwrap())
        .collect()
}

async fn set_threshold(app: &TestApp, who: &Session, t: f64) {
    let r = app
        .req(Method::PUT, "/api/v1/me/preferences", Some(who))
        .json(&json!({"proposal_threshold": t}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn box_counts_split_reviewed_and_proposals(app: TestApp) {
    let (_admin, rad, viewer) = app.team().await;
    let img = app
        .upload_ok(&rad, "cxr.png", sample("png/00000001_000.png"))
        .await;
    let id = img["id"].as_i64().unwrap();
    // The upload's reply counts as the library does (nothing yet).
    assert_eq!(img["proposals_above_threshold"], 0, "{img}");
    assert_eq!(img["reviewed_box_count"], 0);
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/images/{id}/predictions?wait=true"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    let scores = proposal_scores(&ann);
    assert!(scores.len() > 10, "the fixture model proposes many boxes");
    // Each caller's own threshold decides the count: rad's 0.05, the viewer's 0.5.
    set_threshold(&app, &rad, 0.05).await;
    set_threshold(&app, &viewer, 0.5).await;
    for (who, t) in [(&rad, 0.05), (&viewer, 0.5)] {
        let above = scores.iter().filter(|s| **s >= t).count();
        let (_, one) = app.get_json(&format!("/api/v1/images/{id}"), who).await;
        let (_, list) = app.get_json("/api/v1/images", who).await;
        for shown in [&one, &list["images"][0]] {
            assert_eq!(shown["proposal_count"], scores.len(), "{shown}");
            assert_eq!(shown["proposals_above_threshold"], above, "t = {t}");
            assert_eq!(shown["reviewed_box_count"], 0);
            assert_eq!(shown["box_count"], scores.len());
        }
    }

    // Accept one proposal, reject another, draw one box: two reviewed, one rejected.
    let mut boxes: Vec<Value> = ann["boxes"].as_array().unwrap().clone();
    boxes[0]["status"] = json!("accepted");
    boxes[1]["status"] = json!("rejected");
    boxes.push(json!({"class_id": 2, "bbox": [10, 10, 60, 60]}));
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", ann["version"].to_string())
        .json(&json!({"no_finding": false, "boxes": boxes}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    let left = proposal_scores(&saved);
    let (_, one) = app.get_json(&format!("/api/v1/images/{id}"), &rad).await;
    assert_eq!(one["reviewed_box_count"], 2);
    assert_eq!(one["proposal_count"], scores.len() - 2);
    assert_eq!(one["proposal_count"], left.len());
    assert_eq!(
        one["proposals_above_threshold"],
        left.iter().filter(|s| **s >= 0.05).count()
    );
    assert_eq!(one["box_count"], scores.len() - 1 + 1);
}

async fn worklist_filters_and_status_counts(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let reader = app.user("reader", "radiologist", None).await;
    let mut ids = Vec::new();
    for seed in 0..5u8 {
        let img = app.upload_ok(&rad, "w.png", png(40, 30, 50 + seed)).await;
        ids.push(img["id"].as_i64().unwrap());
    }
    for (id, status) in [(ids[0], "done"), (ids[1], "done"), (ids[2], "in_review")] {
        let r = patch(&app, &rad, id, json!({"status": status})).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Counts ignore the status filter; total follows it.
    for path in [
        "/api/v1/images",
        "/api/v1/images?status=done",
        "/api/v1/images?status=new&per_page=1",
    ] {
        let (s, list) = app.get_json(path, &viewer).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            list["counts"],
            json!({"new": 2, "in_review": 1, "done": 2, "blind": 0}),
            "{path}"
        );
    }
    let (_, done) = app.get_json("/api/v1/images?status=done", &viewer).await;
    assert_eq!(done["total"], 2);
    // assigned=me: the reader's two blind readings, nothing for others.
    for id in [ids[3], ids[4]] {
        let r = send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/images/{id}/assignments"),
            Some(json!({"readers": ["reader"], "reviewer": "rad"})),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let (_, mine) = app.get_json("/api/v1/images?assigned=me", &reader).await;
    let mut got: Vec<i64> = mine["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, vec![ids[3], ids[4]]);
    // Their status is others' work: counted as blind, not by status.
    assert_eq!(
        mine["counts"],
        json!({"new": 0, "in_review": 0, "done": 0, "blind": 2})
    );
    assert!(
        mine["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["blind"] == true)
    );
    let (_, none) = app.get_json("/api/v1/images?assigned=me", &rad).await;
    assert_eq!(none["total"], 0);
    let (s, _) = app.get_json("/api/v1/images?assigned=rad", &rad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, nothing) = app.get_json("/api/v1/images?study=2.25.1", &rad).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(nothing["total"], 0);
}

async fn session_probe_never_answers_401(app: TestApp) {
    let (_admin, rad, _viewer) = app.team().await;
    // Nobody: no cookie, a made-up cookie, a made-up token.
    let anonymous = app
        .client
        .get(app.url("/api/v1/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::OK);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"user": null})
    );
    let forged = app
        .client
        .get(app.url("/api/v1/auth/session"))
        .header("Cookie", "carina_session=not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::OK);
    assert_eq!(forged.json::<Value>().await.unwrap()["user"], Value::Null);
    let token = app
        .client
        .get(app.url("/api/v1/auth/session"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    assert_eq!(token.json::<Value>().await.unwrap()["user"], Value::Null);
    // Somebody: the same user and CSRF token as GET /me.
    let (_, me) = app.get_json("/api/v1/me", &rad).await;
    let (s, session) = app.get_json("/api/v1/auth/session", &rad).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(session["user"]["username"], "rad");
    assert_eq!(session["user"]["id"], me["id"]);
    assert_eq!(session["user"]["role"], "radiologist");
    assert_eq!(session["csrf_token"], me["csrf_token"]);
    assert_eq!(session["csrf_token"], rad.csrf.as_str());
    // After logging out, nobody again.
    let r = app
        .req(Method::POST, "/api/v1/auth/logout", Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, after) = app.get_json("/api/v1/auth/session", &rad).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after["user"], Value::Null);
}
