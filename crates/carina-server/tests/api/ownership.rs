//! Report ownership: a draft is edited and signed only by its author, or by
//! an admin taking it over (recorded on the report); an amendment is started
//! by the signer or an admin; everyone with the viewer role reads. On main
//! any radiologist edited and signed another's draft and amended any report.

use crate::both_backends;
use crate::helpers::*;
use crate::reports::{ok_json, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    drafts_belong_to_their_author,
    amendments_belong_to_the_signer
);

/// An image with one box and `who`'s draft report on it.
async fn draft(app: &TestApp, who: &Session, seed: u8, impression: &str) -> i64 {
    let img = app.upload_ok(who, "chest.png", png(200, 160, seed)).await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{img}/annotations"),
            Some(who),
        )
        .header("If-Match", "0")
        .json(&json!({"boxes": [{"class_id": 4, "bbox": [20, 120, 60, 150]}]}))
        .send()
        .await
        .unwrap();
    ok_json(r, StatusCode::OK).await;
    let rep = ok_json(
        send(
            app,
            who,
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            Some(json!({ "impression": impression })),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(rep["author"], who.username.as_str());
    assert_eq!(rep["taken_over_by"], Value::Null);
    rep["id"].as_i64().unwrap()
}

async fn report(app: &TestApp, s: &Session, id: i64) -> Value {
    let (status, v) = app.get_json(&format!("/api/v1/reports/{id}.json"), s).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn drafts_belong_to_their_author(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let rad2 = app.user("rad2", "radiologist", Some(&admin)).await;
    let id = draft(&app, &rad, 1, "Nodule, right lower zone.").await;

    // Another radiologist cannot edit or sign it; nothing changes.
    let r = send(
        &app,
        &rad2,
        Method::PATCH,
        &format!("/api/v1/reports/{id}"),
        Some(json!({"impression": "Nothing to see."})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only its author or an admin edits"),
        "{body}"
    );
    let r = send(
        &app,
        &rad2,
        Method::POST,
        &format!("/api/v1/reports/{id}/sign"),
        None,
    )
    .await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
    let now = report(&app, &viewer, id).await;
    assert_eq!(now["impression"], "Nodule, right lower zone.");
    assert_eq!(now["status"], "draft");
    assert_eq!(now["updated_by"], "rad");
    // Everyone with the viewer role reads it.
    for s in [&viewer, &rad2, &admin] {
        report(&app, s, id).await;
    }

    // The author edits; the report records no take-over.
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
    assert_eq!(edited["taken_over_by"], Value::Null);

    // An admin takes it over: allowed, and recorded (who, when).
    let taken = ok_json(
        send(
            &app,
            &admin,
            Method::PATCH,
            &format!("/api/v1/reports/{id}"),
            Some(json!({"impression": "Solitary nodule, right lower zone; CT advised."})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(taken["author"], "rad");
    assert_eq!(taken["taken_over_by"], "admin");
    assert!(taken["taken_over_at"].as_str().unwrap().ends_with('Z'));

    // The author signs; the take-over stays on the signed report.
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
    assert_eq!(signed["signed_by"], "rad");
    assert_eq!(signed["taken_over_by"], "admin");

    // An admin signs another author's draft: the signature and the take-over are the admin's.
    let id2 = draft(&app, &rad2, 2, "Small effusion.").await;
    let signed = ok_json(
        send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/reports/{id2}/sign"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(signed["author"], "rad2");
    assert_eq!(signed["signed_by"], "admin");
    assert_eq!(signed["taken_over_by"], "admin");
}

async fn amendments_belong_to_the_signer(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let rad2 = app.user("rad2", "radiologist", Some(&admin)).await;
    let id = draft(&app, &rad, 3, "Nodule.").await;
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
    // Neither another radiologist nor a viewer starts an amendment.
    for s in [&rad2, &viewer] {
        let r = send(
            &app,
            s,
            Method::POST,
            &format!("/api/v1/reports/{id}/amend"),
            None,
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let (_, list) = app.get_json("/api/v1/reports?status=draft", &admin).await;
    assert_eq!(list["reports"], json!([]), "no amendment was drafted");

    // The signer amends; the amendment is theirs.
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
    assert_eq!(v2["author"], "rad");
    let r = send(
        &app,
        &rad2,
        Method::PATCH,
        &format!("/api/v1/reports/{id2}"),
        Some(json!({"impression": "Not mine to change."})),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
    ok_json(
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

    // An admin amends a report someone else signed.
    let v3 = ok_json(
        send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/reports/{id2}/amend"),
            None,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(v3["author"], "admin");
    assert_eq!(v3["supersedes"], id2);
    // The signer of the superseded version is not the author of the admin's amendment.
    let r = send(
        &app,
        &rad,
        Method::POST,
        &format!("/api/v1/reports/{}/sign", v3["id"]),
        None,
    )
    .await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
}
