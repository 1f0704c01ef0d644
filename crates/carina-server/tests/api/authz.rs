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

#[derive(Clone, Copy)]
enum Body {
    None,
    Json(&'static str),
    /// A new PNG (distinct content per caller).
    Upload,
    /// An annotations save with the current version as If-Match (read by the admin).
    Save,
    /// A save of the caller's own blind reading, from version 0.
    Reading,
}

/// (method, path, body, [anonymous, viewer, radiologist, blind reader, admin]).
/// `{img}` is an image everyone works on (with rad's boxes, the model's
/// proposals and rad's draft report), which the blind reader reads blind and
/// rad reviews; `{del}` one that only the admin deletes, `{viewer}` the
/// viewer's user id, `{user}` a fresh username, `{job}` the predict job of
/// `{img}`, `{model}` the bundled model, `{rep}` rad's draft report on
/// `{img}` and `{blind}` an image for blind reading by rad.
const MATRIX: &[(&str, &str, Body, [u16; 5])] = &[
    (
        "POST",
        "/api/v1/auth/register",
        Body::Json(r#"{"username": "{user}", "password": "long enough"}"#),
        // Closed after the first account: admins create accounts.
        [403, 403, 403, 403, 403],
    ),
    (
        "POST",
        "/api/v1/auth/login",
        Body::Json(r#"{"username": "{user}", "password": "wrong password"}"#),
        [401, 401, 401, 401, 401],
    ),
    ("GET", "/api/v1/me", Body::None, [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/v1/auth/session",
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/tokens",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/tokens",
        Body::Json(r#"{"name": "t"}"#),
        [401, 201, 201, 201, 201],
    ),
    (
        "DELETE",
        "/api/v1/tokens/424242",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/api/v1/users",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "POST",
        "/api/v1/users",
        Body::Json(r#"{"username": "{user}", "password": "long enough", "role": "viewer"}"#),
        [401, 403, 403, 403, 201],
    ),
    (
        "DELETE",
        "/api/v1/users/424242",
        Body::None,
        [401, 403, 403, 403, 404],
    ),
    (
        "GET",
        "/api/v1/audit",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "PATCH",
        "/api/v1/users/{viewer}",
        Body::Json(r#"{"role": "viewer"}"#),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/labels",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/labels",
        Body::Json(r##"{"name": "{user}", "color": "#123456"}"##),
        [401, 403, 403, 403, 201],
    ),
    (
        "PATCH",
        "/api/v1/labels/0",
        Body::Json(r##"{"color": "#654321"}"##),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/images",
        Body::Upload,
        [401, 403, 201, 201, 201],
    ),
    (
        "GET",
        "/api/v1/images/{img}",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "PATCH",
        "/api/v1/images/{img}",
        Body::Json(r#"{"status": "in_review"}"#),
        [401, 403, 200, 403, 200],
    ),
    (
        "PATCH",
        "/api/v1/images/{img}",
        Body::Json(r#"{"display_label": "Case A"}"#),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/file",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/images/{img}/file",
        Body::Upload,
        [401, 403, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/render",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/thumbnail",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // `{img}` is a PNG, not flagged for burned-in text: the admin gets 409.
    (
        "POST",
        "/api/v1/images/{img}/burned-in/confirm",
        Body::None,
        [401, 403, 403, 403, 409],
    ),
    (
        "GET",
        "/api/v1/images/{img}/annotations",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "PUT",
        "/api/v1/images/{img}/annotations",
        Body::Save,
        [401, 403, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/history",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/predictions",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "POST",
        "/api/v1/images/{img}/predictions",
        Body::None,
        [401, 403, 202, 403, 202],
    ),
    ("GET", "/api/v1/jobs", Body::None, [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/v1/jobs/{job}",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/models",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/models/{model}",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // A PNG is not a model folder: the admin gets past authorisation to a 422.
    (
        "POST",
        "/api/v1/models",
        Body::Upload,
        [401, 403, 403, 403, 422],
    ),
    // Invalid on purpose: the admin gets past authorisation to a 422, nothing trains.
    (
        "POST",
        "/api/v1/models/train",
        Body::Json(r#"{"steps": 0}"#),
        [401, 403, 403, 403, 422],
    ),
    (
        "POST",
        "/api/v1/models/{model}/deploy",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/models/{model}/stats",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/me/preferences",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/me/preferences",
        Body::Json(r#"{"proposal_threshold": 0.4}"#),
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/images/{img}/reports",
        Body::Json(r#"{"impression": "matrix"}"#),
        [401, 403, 201, 403, 201],
    ),
    (
        "POST",
        "/api/v1/reports",
        Body::Json(r#"{"image_ids": [{img}]}"#),
        [401, 403, 201, 403, 201],
    ),
    (
        "GET",
        "/api/v1/reports",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.json",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.pdf",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.fhir.json",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "PATCH",
        "/api/v1/reports/{rep}",
        Body::Json(r#"{"impression": "matrix impression"}"#),
        [401, 403, 200, 404, 200],
    ),
    (
        "POST",
        "/api/v1/reports/{rep}/sign",
        Body::None,
        [401, 403, 200, 404, 409],
    ),
    (
        "POST",
        "/api/v1/reports/{rep}/amend",
        Body::None,
        [401, 403, 201, 404, 409],
    ),
    (
        "POST",
        "/api/v1/images/{blind}/assignments",
        Body::Json(r#"{"readers": ["rad"], "reviewer": "admin"}"#),
        [401, 403, 403, 403, 201],
    ),
    (
        "GET",
        "/api/v1/me/assignments",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // The blind reader's own reading of {img}: theirs alone.
    (
        "GET",
        "/api/v1/images/{img}/readings/me",
        Body::None,
        [401, 404, 404, 200, 404],
    ),
    (
        "PUT",
        "/api/v1/images/{img}/readings/me",
        Body::Reading,
        [401, 403, 404, 200, 404],
    ),
    // The readings of {img}: its reviewer (rad) and admins, not its blind reader.
    (
        "GET",
        "/api/v1/images/{img}/readings",
        Body::None,
        [401, 403, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/agreement",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{blind}/readings/me",
        Body::None,
        [401, 404, 200, 404, 404],
    ),
    (
        "PUT",
        "/api/v1/images/{blind}/readings/me",
        Body::Reading,
        [401, 403, 200, 404, 404],
    ),
    (
        "GET",
        "/api/v1/images/{blind}/readings",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{blind}/agreement",
        Body::None,
        [401, 200, 403, 200, 200],
    ),
    (
        "POST",
        "/api/v1/images/{blind}/readings/me/submit",
        Body::None,
        [401, 403, 200, 404, 404],
    ),
    (
        "POST",
        "/api/v1/images/{blind}/consensus",
        Body::Json(r#"{"iou_thr": 0.6}"#),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/agreement",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // The blind reader submits: from now on they see the work on {img}.
    (
        "POST",
        "/api/v1/images/{img}/readings/me/submit",
        Body::None,
        [401, 403, 404, 200, 404],
    ),
    (
        "GET",
        "/api/v1/images/{img}/annotations",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.json",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "DELETE",
        "/api/v1/images/{del}",
        Body::None,
        [401, 403, 403, 403, 204],
    ),
    (
        "POST",
        "/api/v1/auth/logout",
        Body::None,
        [401, 204, 204, 204, 204],
    ),
    (
        "GET",
        "/api/openapi.json",
        Body::None,
        [200, 200, 200, 200, 200],
    ),
];

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
    let doc: Value = serde_json::from_str(carina_server::OPENAPI_JSON).unwrap();
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
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    in_doc.sort();
    assert_eq!(in_matrix, in_doc);
}
