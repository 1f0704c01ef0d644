//! An SR stored to the DICOM node with dcmtk's `storescu` is imported as
//! boxes: Carina's own SR (`GET /images/{id}/sr`) puts deleted boxes back to
//! 0.01 px, the same SR again changes nothing, and an SR about an image
//! Carina does not have gets a failure status and changes nothing.

use crate::dicom::{sample, start, text};
use reqwest::Method;
use serde_json::{Value, json};

fn near(b: &Value, want: [f64; 4]) -> bool {
    let got: Vec<f64> = b["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    got.len() == 4 && got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 0.01)
}

/// Every occurrence of `from` in `data` replaced by `to` (same length).
fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> (Vec<u8>, usize) {
    assert_eq!(from.len(), to.len());
    let mut out = data.to_vec();
    let (mut i, mut n) = (0, 0);
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
            n += 1;
        } else {
            i += 1;
        }
    }
    (out, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmtk_storescu_of_carinas_sr_restores_the_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(
        &dir.path().join("data"),
        &dir.path().join("serve.log"),
        &[("CARINA_DICOM_PEERS", "STORESCU")],
    )
    .await;
    let out = node.storescu("STORESCU", &[], &[&sample("RG1_UNCR.dcm")]);
    assert!(out.status.success(), "storescu: {}", text(&out));
    let image = node.images().await.remove(0);
    let id = image["id"].as_i64().unwrap();
    let annotations = format!("/api/v1/images/{id}/annotations");
    let put = |version: i64, boxes: Value| {
        node.req(Method::PUT, &annotations)
            .header("If-Match", version.to_string())
            .json(&json!({ "boxes": boxes }))
            .send()
    };
    let wanted = [
        (1, [100.25, 200.5, 400.125, 500.75]),
        (4, [50.0, 60.0, 300.5, 320.25]),
    ];
    let boxes: Vec<Value> = wanted
        .iter()
        .map(|(c, b)| json!({"class_id": c, "bbox": b}))
        .collect();
    let r = put(0, json!(boxes)).await.unwrap();
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();

    let r = node.get(&format!("/api/v1/images/{id}/sr")).await;
    assert_eq!(r.status(), 200);
    let sr = r.bytes().await.unwrap().to_vec();
    let sr_file = dir.path().join("boxes-sr.dcm");
    std::fs::write(&sr_file, &sr).unwrap();

    // The boxes deleted, then the SR stored back by C-STORE.
    let r = put(saved["version"].as_i64().unwrap(), json!([]))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // -R: storescu's default list of proposed classes lacks Comprehensive 3D SR.
    let out = node.storescu("STORESCU", &["-R"], &[&sr_file]);
    let t = text(&out);
    assert!(out.status.success(), "storescu of the SR: {t}");
    assert!(t.contains("Received Store Response (Success)"), "{t}");
    let now: Value = node.get(&annotations).await.json().await.unwrap();
    let back = now["boxes"].as_array().unwrap();
    assert_eq!(back.len(), 2, "{now}");
    for (class_id, bbox) in wanted {
        let b = back
            .iter()
            .find(|b| b["class_id"] == class_id)
            .unwrap_or_else(|| panic!("no box of label {class_id}: {now}"));
        assert!(near(b, bbox), "{b} is not at {bbox:?}");
        assert_eq!(b["status"], "manual");
        assert_eq!(
            b["source"],
            json!({"kind": "radiologist", "user": "dicom:STORESCU"})
        );
    }
    assert_eq!(node.images().await.len(), 1, "an SR is not an image");
    let version = now["version"].as_i64().unwrap();

    // The same SR again: accepted, nothing changes.
    let out = node.storescu("STORESCU", &["-R"], &[&sr_file]);
    assert!(out.status.success(), "{}", text(&out));
    let again: Value = node.get(&annotations).await.json().await.unwrap();
    assert_eq!(again, now);

    // The SR pointed at an image Carina does not have: a failure status
    // with the reason, nothing changed.
    let sop = served_sop_uid(&node, &image).await;
    let mut other = sop.clone().into_bytes();
    let last = other.last_mut().unwrap();
    *last = if *last == b'9' { b'8' } else { b'9' };
    let (stray, n) = replace_all(&sr, sop.as_bytes(), &other);
    assert!(n >= 2, "the SR references the image {n} times");
    let stray_file = dir.path().join("stray-sr.dcm");
    std::fs::write(&stray_file, stray).unwrap();
    let out = node.storescu("STORESCU", &["-R"], &[&stray_file]);
    let t = text(&out);
    assert!(
        t.contains("Received Store Response (Error: CannotUnderstand)"),
        "{t}"
    );
    let after: Value = node.get(&annotations).await.json().await.unwrap();
    assert_eq!(after["version"].as_i64(), Some(version));
    assert_eq!(after, now);
    assert_eq!(node.images().await.len(), 1);
    let log = node.proc.log_text();
    assert!(
        log.contains("does not have") && log.contains(std::str::from_utf8(&other).unwrap()),
        "{}",
        crate::procs::tail(&log)
    );
}

/// The SOP Instance UID Carina serves for `image`, read over QIDO-RS.
async fn served_sop_uid(node: &crate::dicom::Node, image: &Value) -> String {
    let study = image["study_pseudonym"]
        .as_str()
        .unwrap_or_else(|| panic!("no study pseudonym: {image}"));
    let r = node
        .get(&format!("/dicom-web/studies/{study}/instances"))
        .await;
    assert_eq!(r.status(), 200);
    let found: Value = r.json().await.unwrap();
    found[0]["00080018"]["Value"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no SOP Instance UID: {found}"))
        .to_string()
}
