//! The project's reader agreement (`GET /agreement`) over three readers and
//! three images, against kappa and IoU worked out by hand.

use crate::both_backends;
use crate::helpers::*;
use crate::readings::{close, read_all};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(agreement_three_readers_project);

/// Three readers on three images, Nodule/Mass only. Present per image:
/// all three / one / none → rows [3,0], [1,2], [0,3]. By hand: P_i = 1, 1/3,
/// 1, mean 7/9; p = 4/9 and 5/9, Pe = 41/81; Fleiss' kappa = 22/40 = 0.55.
/// Matched IoUs on image 1: A–B 0.6, A–C 1, B–C 0.6, mean 2.2/3; on image 2
/// A's box is unmatched against B and against C.
async fn agreement_three_readers_project(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let a = app.user("reader_a", "radiologist", None).await;
    let b = app.user("reader_b", "radiologist", None).await;
    let c = app.user("reader_c", "radiologist", None).await;
    let viewer = app.user("viewer", "viewer", Some(&admin)).await;
    let nod = |x0: i32, x1: i32| json!([{"class_id": 4, "bbox": [x0, 10, x1, 50]}]);
    let mut imgs = Vec::new();
    for seed in 0..3u8 {
        imgs.push(
            app.upload_ok(&a, "c.png", png(200, 160, 20 + seed)).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    read_all(
        &app,
        &admin,
        imgs[0],
        &[(&a, nod(10, 50)), (&b, nod(20, 60)), (&c, nod(10, 50))],
    )
    .await;
    read_all(
        &app,
        &admin,
        imgs[1],
        &[(&a, nod(10, 50)), (&b, json!([])), (&c, json!([]))],
    )
    .await;
    read_all(
        &app,
        &admin,
        imgs[2],
        &[(&a, json!([])), (&b, json!([])), (&c, json!([]))],
    )
    .await;
    let (s, ag) = app.get_json("/api/v1/agreement", &viewer).await;
    assert_eq!(s, StatusCode::OK, "{ag}");
    assert_eq!(ag["readers"], json!(["reader_a", "reader_b", "reader_c"]));
    assert_eq!(ag["images"], 3);
    let class = |id: u64| {
        ag["per_class"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["class_id"] == id)
            .unwrap()
            .clone()
    };
    let nodule = class(4);
    assert_eq!(nodule["method"], "fleiss");
    assert_eq!(nodule["class_name"], "Nodule/Mass");
    assert_eq!(nodule["images"], 3);
    assert!(close(nodule["kappa"].as_f64().unwrap(), 0.55), "{nodule}");
    // Nobody marked atelectasis anywhere: kappa is undefined.
    assert_eq!(class(0)["kappa"], Value::Null);
    assert_eq!(ag["boxes"]["matched_pairs"], 3);
    assert_eq!(ag["boxes"]["unmatched"], 2);
    assert!(close(ag["boxes"]["mean_iou"].as_f64().unwrap(), 2.2 / 3.0));
    // Per image 1: all three agree on every class.
    let (_, one) = app
        .get_json(&format!("/api/v1/images/{}/agreement", imgs[0]), &viewer)
        .await;
    assert_eq!(one["kappa"]["method"], "fleiss");
    assert!(close(one["kappa"]["value"].as_f64().unwrap(), 1.0));
}
