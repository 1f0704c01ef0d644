//! The authorisation matrix: every route × anonymous, viewer, radiologist,
//! blind reader and admin, with the status each must get. Rows run in order,
//! anonymous first and admin last, so only the last allowed caller changes
//! state. The matrix is checked against the router itself
//! (`carina_server::route_table`): a route without a row fails
//! `every_route_has_a_row`.
//!
//! The blind reader is a radiologist assigned to read `{img}` blind who has
//! not submitted (until the submit row near the end): every route that
//! exposes others' work on `{img}` answers 403 `blind_reading` when it is
//! about the image, 404 when it is about a report or a job of it (as for an
//! id that does not exist); their own reading, the image's pixels and
//! metadata stay theirs.

use crate::both_backends_with;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends_with!(authorisation_matrix, |c: &mut carina_server::Config| {
    c.bundled_model = true
});

use crate::authz_matrix::{Body, MATRIX};

async fn authorisation_matrix(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, "shared.png", png(64, 64, 200)).await["id"].to_string();
    let del = app.upload_ok(&rad, "doomed.png", png(64, 64, 201)).await["id"].to_string();
    let blind = app.upload_ok(&rad, "blind.png", png(64, 64, 202)).await["id"].to_string();
    let rep = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            Some(&rad),
        )
        .json(&json!({"impression": "matrix report"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rep.status(), StatusCode::CREATED);
    let rep = rep.json::<Value>().await.unwrap()["id"].to_string();
    let (_, me) = app.get_json("/api/v1/me", &viewer).await;
    let viewer_id = me["id"].to_string();
    // The model's proposals on {img}, done before anything else changes it.
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{img}/predictions?wait=true"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let job = r.json::<Value>().await.unwrap()["job"]["id"].to_string();
    let (_, models) = app.get_json("/api/v1/models", &rad).await;
    let model = models["models"][0]["id"].to_string();
    let reader = app.user("reader", "radiologist", Some(&admin)).await;
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/images/{img}/assignments"),
            Some(&admin),
        )
        .json(&json!({"readers": ["reader"], "reviewer": "rad"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let callers: [(&str, Option<&Session>); 5] = [
        ("anonymous", None),
        ("viewer", Some(&viewer)),
        ("radiologist", Some(&rad)),
        ("blind reader", Some(&reader)),
        ("admin", Some(&admin)),
    ];
    let mut failures = Vec::new();
    let mut seed = 0u8;
    for (method, path, body, expected) in MATRIX {
        for (i, (who, session)) in callers.iter().enumerate() {
            seed = seed.wrapping_add(1);
            let user = format!("user{seed}");
            let path = path
                .replace("{img}", &img)
                .replace("{del}", &del)
                .replace("{viewer}", &viewer_id)
                .replace("{job}", &job)
                .replace("{model}", &model)
                .replace("{rep}", &rep)
                .replace("{blind}", &blind);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            // Logging out ends the session: use a fresh one for that row.
            let fresh;
            let session = if path.ends_with("/logout") && session.is_some() {
                fresh = app
                    .login(
                        &session.unwrap().username,
                        &format!("password-{}", session.unwrap().username),
                    )
                    .await;
                Some(&fresh)
            } else {
                *session
            };
            let mut req = app.req(method.clone(), &path, session);
            match body {
                Body::None => {}
                Body::Json(text) => {
                    let v: Value =
                        serde_json::from_str(&text.replace("{user}", &user).replace("{img}", &img))
                            .unwrap();
                    req = req.json(&v);
                }
                Body::Upload => {
                    let part =
                        reqwest::multipart::Part::bytes(png(64, 64, seed)).file_name("m.png");
                    req = req.multipart(reqwest::multipart::Form::new().part("file", part));
                }
                Body::Save => {
                    let (_, cur) = app
                        .get_json(&format!("/api/v1/images/{img}/annotations"), &admin)
                        .await;
                    // The boxes there are kept (the model's cannot be deleted), one is added.
                    let mut boxes: Vec<Value> = cur["boxes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| json!({"id": b["id"], "class_id": b["class_id"], "bbox": b["bbox"], "status": b["status"]}))
                        .collect();
                    boxes.push(json!({"class_id": 0, "bbox": [1, 1, 10, 10]}));
                    req = req
                        .header("If-Match", cur["version"].to_string())
                        .json(&json!({ "boxes": boxes }));
                }
                Body::Reading => {
                    req = req
                        .header("If-Match", "0")
                        .json(&json!({"boxes": [{"class_id": 4, "bbox": [2, 2, 20, 20]}]}));
                }
            }
            let r = req.send().await.unwrap();
            let got = r.status().as_u16();
            if got != expected[i] {
                let text = r.text().await.unwrap_or_default();
                failures.push(format!(
                    "{method} {path} as {who}: expected {}, got {got} ({text})",
                    expected[i]
                ));
            } else if got >= 400 {
                // Refusals use the API's error shape.
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if !v["error"]["code"].is_string() {
                    failures.push(format!(
                        "{method} {path} as {who}: {got} without the error shape"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorisation matrix:\n{}",
        failures.join("\n")
    );
}

/// A path with its parameters named alike: `{img}`, `{rep}.pdf`, `424242`, `{name}` → `{id}`.
fn router_path(p: &str) -> String {
    p.split('/')
        .map(|seg| {
            let bare = seg
                .trim_end_matches(".fhir.json")
                .trim_end_matches(".json")
                .trim_end_matches(".pdf");
            let placeholder = bare.starts_with('{') && bare.ends_with('}');
            if placeholder || (!bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit())) {
                "{id}".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route the router serves has a row in the matrix, and every row is
/// a route: a new route without an entry fails here.
#[test]
fn every_route_has_a_row() {
    let mut in_router: Vec<(String, String)> = carina_server::route_table()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_string(), router_path(&p)))
        .collect();
    in_router.sort();
    let mut in_matrix: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), router_path(p)))
        .collect();
    in_matrix.sort();
    in_matrix.dedup();
    let missing: Vec<_> = in_router
        .iter()
        .filter(|r| !in_matrix.contains(r))
        .collect();
    let extra: Vec<_> = in_matrix
        .iter()
        .filter(|r| !in_router.contains(r))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a row in the authorisation matrix: {missing:?}; rows that are not routes: {extra:?}"
    );
}

/// Every route of the matrix is in the OpenAPI document, and the other way round.
#[test]
fn matrix_and_openapi_agree() {
    let doc: Value = serde_json::from_str(carina_server::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let norm = |p: &str| {
        p.replace("{img}", "{id}")
            .replace("{del}", "{id}")
            .replace("{viewer}", "{id}")
            .replace("{job}", "{id}")
            .replace("{model}", "{id}")
            .replace("{rep}", "{id}")
            .replace("{blind}", "{id}")
            .replace("424242", "{id}")
            .replace("/labels/0", "/labels/{id}")
    };
    let mut in_matrix: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _, _)| (m.to_lowercase(), norm(p)))
        .collect();
    in_matrix.sort();
    in_matrix.dedup();
    let mut in_doc: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                // DICOMweb names its parameters after the UIDs.
                .map(move |m| {
                    let p = p
                        .replace("{study}", "{id}")
                        .replace("{series}", "{id}")
                        .replace("{instance}", "{id}");
                    (m.clone(), p)
                })
        })
        .collect();
    in_doc.sort();
    assert_eq!(in_matrix, in_doc);
}
