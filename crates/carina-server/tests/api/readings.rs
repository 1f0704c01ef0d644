//! Blind reading, consensus and agreement: readers do not see each other
//! (nor the annotations) before they submit, the reviewer's fusion is
//! carina-eval's WBF, and the agreement figures match hand-computed values.

use crate::both_backends;
use crate::helpers::*;
use crate::reports::{ok_json, send};
use carina_core::BBox;
use carina_eval::wbf::{WbfBox, WbfParams, weighted_boxes_fusion};
use carina_store::ModelBox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(blind_reading_and_consensus, agreement_two_readers_one_image);

pub async fn put_reading(
    app: &TestApp,
    s: &Session,
    img: i64,
    version: i64,
    boxes: Value,
) -> reqwest::Response {
    app.req(
        Method::PUT,
        &format!("/api/v1/images/{img}/readings/me"),
        Some(s),
    )
    .header("If-Match", version.to_string())
    .json(&json!({"boxes": boxes}))
    .send()
    .await
    .unwrap()
}

pub async fn submit(app: &TestApp, s: &Session, img: i64) -> reqwest::Response {
    send(
        app,
        s,
        Method::POST,
        &format!("/api/v1/images/{img}/readings/me/submit"),
        None,
    )
    .await
}

/// Assigns, saves each reader's boxes and submits them.
pub async fn read_all(app: &TestApp, admin: &Session, img: i64, reads: &[(&Session, Value)]) {
    let readers: Vec<&str> = reads.iter().map(|(s, _)| s.username.as_str()).collect();
    ok_json(
        send(
            app,
            admin,
            Method::POST,
            &format!("/api/v1/images/{img}/assignments"),
            Some(json!({"readers": readers, "reviewer": "admin"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    for (s, boxes) in reads {
        ok_json(
            put_reading(app, s, img, 0, boxes.clone()).await,
            StatusCode::OK,
        )
        .await;
        ok_json(submit(app, s, img).await, StatusCode::OK).await;
    }
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

async fn blind_reading_and_consensus(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let r1 = app.user("reader1", "radiologist", None).await;
    let r2 = app.user("reader2", "radiologist", None).await;
    let rev = app.user("rev", "radiologist", None).await;
    let img = app.upload_ok(&rad, "chest.png", png(200, 160, 9)).await["id"]
        .as_i64()
        .unwrap();
    let assign = format!("/api/v1/images/{img}/assignments");
    // Bad assignments change nothing.
    for (who, body, status) in [
        (
            &rad,
            json!({"readers": ["reader1"], "reviewer": "rev"}),
            StatusCode::FORBIDDEN,
        ),
        (
            &admin,
            json!({"readers": ["reader1", "nobody"], "reviewer": "rev"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            json!({"readers": ["viewer"], "reviewer": "rev"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            json!({"readers": ["reader1"], "reviewer": "ghost"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &admin,
            json!({"readers": [], "reviewer": "rev"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        error_code(
            send(&app, who, Method::POST, &assign, Some(body)).await,
            status,
        )
        .await;
    }
    assert!(app.state.store.db.assignment(img).await.unwrap().is_none());
    let a = ok_json(
        send(
            &app,
            &admin,
            Method::POST,
            &assign,
            Some(json!({"readers": ["reader1", "reader2"], "reviewer": "rev"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(a["reviewer"], "rev");
    assert_eq!(a["readers"].as_array().unwrap().len(), 2);
    let (_, mine) = app.get_json("/api/v1/me/assignments", &r1).await;
    assert_eq!(mine["readings"][0]["image_id"], img);
    assert_eq!(mine["readings"][0]["status"], "assigned");
    let (_, revs) = app.get_json("/api/v1/me/assignments", &rev).await;
    assert_eq!(revs["reviews"][0]["image_id"], img);

    let (s, own) = app
        .get_json(&format!("/api/v1/images/{img}/readings/me"), &r1)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(own["version"], 0);
    let (s, _) = app
        .get_json(&format!("/api/v1/images/{img}/readings/me"), &rad)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not a reader of this image");
    let boxes1 = json!([{"class_id": 4, "bbox": [20, 20, 60, 60]}, {"class_id": 8, "bbox": [120, 100, 190, 150]}]);
    let boxes2 = json!([{"class_id": 4, "bbox": [24, 20, 64, 60]}]);
    ok_json(
        put_reading(&app, &r1, img, 0, boxes1.clone()).await,
        StatusCode::OK,
    )
    .await;
    ok_json(
        put_reading(&app, &r2, img, 0, boxes2.clone()).await,
        StatusCode::OK,
    )
    .await;
    // Stale version, a box outside the image, missing If-Match.
    error_code(
        put_reading(&app, &r1, img, 0, json!([])).await,
        StatusCode::CONFLICT,
    )
    .await;
    error_code(
        put_reading(
            &app,
            &r1,
            img,
            1,
            json!([{"class_id": 4, "bbox": [0, 0, 500, 10]}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{img}/readings/me"),
            Some(&r1),
        )
        .json(&json!({"boxes": []}))
        .send()
        .await
        .unwrap();
    error_code(r, StatusCode::PRECONDITION_REQUIRED).await;

    // Before submitting, reader1 sees neither reader2's boxes nor the annotations.
    for path in [
        format!("/api/v1/images/{img}/readings"),
        format!("/api/v1/images/{img}/annotations"),
        format!("/api/v1/images/{img}/history"),
        format!("/api/v1/images/{img}/agreement"),
    ] {
        let r = app.req(Method::GET, &path, Some(&r1)).send().await.unwrap();
        let code = error_code(r, StatusCode::FORBIDDEN).await;
        assert!(
            code == "blind_reading" || code == "forbidden",
            "{path}: {code}"
        );
    }
    // Nor how many boxes the image has, in the library or on the image.
    let (_, list) = app.get_json("/api/v1/images", &r1).await;
    let listed = list["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == img)
        .unwrap();
    assert_eq!(listed["box_count"], Value::Null, "{listed}");
    assert_eq!(listed["blind"], true);
    let (_, shown) = app.get_json(&format!("/api/v1/images/{img}"), &r1).await;
    assert_eq!(shown["box_count"], Value::Null);
    let (_, shown) = app.get_json(&format!("/api/v1/images/{img}"), &rev).await;
    assert!(shown["box_count"].is_i64(), "the reviewer is not blind");
    assert_eq!(shown.get("blind"), None);
    let (s, _) = app
        .get_json(&format!("/api/v1/images/{img}/readings"), &rad)
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an unrelated radiologist does not see the readings"
    );
    // The reviewer sees both, side by side.
    let (s, all) = app
        .get_json(&format!("/api/v1/images/{img}/readings"), &rev)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all["readings"].as_array().unwrap().len(), 2);
    // No submitted reading yet: nothing to fuse.
    error_code(
        send(
            &app,
            &rev,
            Method::POST,
            &format!("/api/v1/images/{img}/consensus"),
            None,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;

    ok_json(submit(&app, &r1, img).await, StatusCode::OK).await;
    error_code(submit(&app, &r1, img).await, StatusCode::CONFLICT).await;
    error_code(
        put_reading(&app, &r1, img, 1, json!([])).await,
        StatusCode::CONFLICT,
    )
    .await;
    let (_, shown) = app.get_json(&format!("/api/v1/images/{img}"), &r1).await;
    assert!(shown["box_count"].is_i64(), "submitted: no longer blind");
    // After submitting, reader1 sees reader2's boxes.
    let (s, all) = app
        .get_json(&format!("/api/v1/images/{img}/readings"), &r1)
        .await;
    assert_eq!(s, StatusCode::OK);
    let other = all["readings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reader"] == "reader2")
        .unwrap();
    assert_eq!(other["boxes"][0]["bbox"], json!([24.0, 20.0, 64.0, 60.0]));
    // reader2 is still blind.
    let (s, _) = app
        .get_json(&format!("/api/v1/images/{img}/readings"), &r2)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    ok_json(submit(&app, &r2, img).await, StatusCode::OK).await;

    // Only the reviewer or an admin fuses.
    error_code(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{img}/consensus"),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    error_code(
        send(
            &app,
            &viewer,
            Method::POST,
            &format!("/api/v1/images/{img}/consensus"),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    error_code(
        send(
            &app,
            &rev,
            Method::POST,
            &format!("/api/v1/images/{img}/consensus"),
            Some(json!({"iou_thr": 2})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fused = ok_json(
        send(
            &app,
            &rev,
            Method::POST,
            &format!("/api/v1/images/{img}/consensus"),
            Some(json!({})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        fused["params"],
        json!({"iou_thr": 0.6, "skip_box_thr": 0.0})
    );
    let readers: Vec<String> = fused["readers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(readers, vec!["reader1", "reader2"]);
    // The same fusion as carina-eval's WBF (as `carina dataset merge` runs it).
    let to_wbf = |v: &Value| -> Vec<WbfBox> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let c: Vec<f64> = b["bbox"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                WbfBox::new(
                    b["class_id"].as_u64().unwrap() as u32,
                    BBox::new(c[0], c[1], c[2], c[3]).unwrap(),
                    1.0,
                )
            })
            .collect()
    };
    let expected = weighted_boxes_fusion(
        &[to_wbf(&boxes1), to_wbf(&boxes2)],
        None,
        &WbfParams::default(),
    )
    .unwrap();
    let stored: Vec<&Value> = fused["annotations"]["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["source"]["kind"] == "consensus")
        .collect();
    assert_eq!(stored.len(), expected.len());
    assert_eq!(
        expected.len(),
        2,
        "IoU 0.818 > 0.6 joins the two nodules; the effusion stays alone"
    );
    for (e, s) in expected.iter().zip(&stored) {
        assert_eq!(s["class_id"], e.class_id);
        let b: Vec<f64> = s["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!(
            close(b[0], e.bbox.x_min())
                && close(b[1], e.bbox.y_min())
                && close(b[2], e.bbox.x_max())
                && close(b[3], e.bbox.y_max()),
            "{b:?} vs {:?}",
            e.bbox
        );
        assert!(close(s["score"].as_f64().unwrap(), e.score));
        assert_eq!(
            s["source"],
            json!({"kind": "consensus", "user": "rev", "readers": ["reader1", "reader2"]})
        );
    }
    // Nodule fused from both (score 1), effusion from one of two (0.5).
    assert!(close(expected[0].score, 1.0) && close(expected[1].score, 0.5));
    // The history records the fusion like any save.
    let (_, hist) = app
        .get_json(&format!("/api/v1/images/{img}/history"), &rev)
        .await;
    assert_eq!(
        hist["entries"].as_array().unwrap().last().unwrap()["action"],
        "consensus"
    );

    // The reviewer adjusts a fused box: it stays a consensus box.
    let state = &fused["annotations"];
    let mut boxes: Vec<Value> = state["boxes"].as_array().unwrap().clone();
    boxes[0]["bbox"] = json!([22, 21, 62, 61]);
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{img}/annotations"),
            Some(&rev),
        )
        .header("If-Match", state["version"].to_string())
        .json(&json!({"boxes": boxes}))
        .send()
        .await
        .unwrap();
    let saved = ok_json(r, StatusCode::OK).await;
    assert_eq!(saved["boxes"][0]["source"]["kind"], "consensus");
    assert_eq!(saved["boxes"][0]["bbox"], json!([22.0, 21.0, 62.0, 61.0]));

    // The consensus report is signed by the reviewer (or an admin), not by a reader.
    let draft = ok_json(
        send(
            &app,
            &rev,
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            Some(json!({"impression": "Consensus: nodule."})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(draft["findings"][0]["found_by"]["kind"], "consensus");
    let sign = format!("/api/v1/reports/{}/sign", draft["id"]);
    error_code(
        send(&app, &r1, Method::POST, &sign, None).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let signed = ok_json(
        send(&app, &rev, Method::POST, &sign, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(signed["signed_by"], "rev");
}

/// Two readers on one image. By hand: over the nine classes reader A marks
/// {Atelectasis, Nodule/Mass}, reader B {Nodule/Mass}: po = 8/9,
/// pe = (2/9)(1/9) + (7/9)(8/9) = 58/81, Cohen's kappa = 14/23. The nodules
/// [10,10,50,50] and [20,10,60,50] overlap 1200 / 2000 = 0.6 IoU.
async fn agreement_two_readers_one_image(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let a = app.user("reader_a", "radiologist", None).await;
    let b = app.user("reader_b", "radiologist", None).await;
    let img = app.upload_ok(&a, "chest.png", png(200, 160, 11)).await["id"]
        .as_i64()
        .unwrap();
    read_all(&app, &admin, img, &[
        (&a, json!([{"class_id": 0, "bbox": [100, 100, 140, 140]}, {"class_id": 4, "bbox": [10, 10, 50, 50]}])),
        (&b, json!([{"class_id": 4, "bbox": [20, 10, 60, 50]}])),
    ]).await;
    let (s, ag) = app
        .get_json(&format!("/api/v1/images/{img}/agreement"), &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{ag}");
    assert_eq!(ag["kappa"]["method"], "cohen");
    assert!(
        close(ag["kappa"]["value"].as_f64().unwrap(), 14.0 / 23.0),
        "{ag}"
    );
    assert_eq!(ag["boxes"]["matched_pairs"], 1);
    assert_eq!(ag["boxes"]["unmatched"], 1);
    assert!(close(ag["boxes"]["mean_iou"].as_f64().unwrap(), 0.6));
    assert_eq!(ag["model_vs_consensus"], Value::Null, "no consensus yet");

    // Model proposals: one on the fused nodule, one where nobody saw anything.
    let db = &app.state.store.db;
    db.add_model_boxes(
        img,
        0,
        "effdet-d0",
        "1",
        &[
            ModelBox {
                class_id: 4,
                bbox: BBox::new(15.0, 10.0, 55.0, 50.0).unwrap(),
                score: 0.9,
            },
            ModelBox {
                class_id: 6,
                bbox: BBox::new(150.0, 10.0, 190.0, 40.0).unwrap(),
                score: 0.7,
            },
        ],
        "admin",
    )
    .await
    .unwrap();
    // iou_thr 0.5: the nodules (IoU 0.6) fuse to [15,10,55,50]; the atelectasis stays.
    let fused = ok_json(
        send(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/images/{img}/consensus"),
            Some(json!({"iou_thr": 0.5})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fused["fused"].as_array().unwrap().len(), 2);
    let nodule = fused["fused"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["class_id"] == 4)
        .unwrap();
    assert_eq!(nodule["bbox"], json!([15.0, 10.0, 55.0, 50.0]));
    assert_eq!(nodule["readers"], json!(["reader_a", "reader_b"]));
    let (_, ag) = app
        .get_json(&format!("/api/v1/images/{img}/agreement"), &admin)
        .await;
    // 1 of 2 model boxes matches 1 of 2 consensus boxes.
    let m = &ag["model_vs_consensus"];
    assert_eq!(m["true_positives"], 1);
    assert_eq!(m["model_boxes"], 2);
    assert_eq!(m["consensus_boxes"], 2);
    assert!(
        close(m["precision"].as_f64().unwrap(), 0.5)
            && close(m["recall"].as_f64().unwrap(), 0.5)
            && close(m["f1"].as_f64().unwrap(), 0.5)
    );
}
