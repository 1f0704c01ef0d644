//! The label set: defaults, and admins adding, renaming, recolouring and retiring.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(labels_admin);

async fn labels_admin(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let (_, l) = app.get_json("/api/v1/labels", &viewer).await;
    let names: Vec<&str> = l["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = carina_core::LabelSet::default().names();
    assert_eq!(names, expected);
    assert_eq!(
        l["labels"][4],
        json!({"id": 4, "name": "Nodule/Mass", "color": "#f58231", "retired": false})
    );

    let post = |s: &Session, body: Value| {
        app.req(Method::POST, "/api/v1/labels", Some(s))
            .json(&body)
            .send()
    };
    let r = post(
        &admin,
        json!({"name": "Aortic enlargement", "color": "#102030"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["id"], 9);
    assert_eq!(
        post(&rad, json!({"name": "Other", "color": "#102030"}))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        error_code(
            post(
                &admin,
                json!({"name": "aortic enlargement ", "color": "#102030"})
            )
            .await
            .unwrap(),
            StatusCode::CONFLICT
        )
        .await
        .as_str(),
        "conflict"
    );
    let r = post(
        &admin,
        json!({"name": "Aortic enlargement", "color": "#102030"}),
    )
    .await
    .unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    assert_eq!(
        post(&admin, json!({"name": "X", "color": "red"}))
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post(&admin, json!({"name": "", "color": "#000000"}))
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let patch = |id: u32, body: Value| {
        app.req(Method::PATCH, &format!("/api/v1/labels/{id}"), Some(&admin))
            .json(&body)
            .send()
    };
    let r = patch(9, json!({"name": "Aortic Enlargement", "color": "#abcdef"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"id": 9, "name": "Aortic Enlargement", "color": "#abcdef", "retired": false})
    );
    let r = patch(9, json!({"retired": true})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["retired"], true);
    assert_eq!(
        patch(1, json!({"name": "Atelectasis"}))
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        patch(99, json!({"retired": true})).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Ids are never reused: the next label after a retired one is 10.
    let r = post(&admin, json!({"name": "Calcification", "color": "#000000"}))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["id"], 10);
    let (_, l) = app.get_json("/api/v1/labels", &viewer).await;
    assert_eq!(l["labels"].as_array().unwrap().len(), 11);
}
