//! DICOMweb under `/dicom-web`: QIDO-RS search, WADO-RS retrieval,
//! metadata and rendered images, STOW-RS, with bad input; every UID served
//! is the de-identified one. `dicomweb_client.rs` runs a real client.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(qido_search, wado_retrieve, stow_store);
crate::both_backends_with!(stow_over_the_limit, |c: &mut carina_server::Config| {
    c.max_upload_mb = 1
});

/// The original (identifying) values of the shared samples: names, patient
/// ids, and the roots of their study, series and instance UIDs (the file
/// meta's Implementation Class UID, naming the writing software, is kept).
pub const ORIGINAL_NAMES: &[&str] = &[
    "CompressedSamples",
    "9RG1",
    "16d7f894-55d7-4d95-8957-d18987f0e981",
    "1.3.6.1.4.1.5962.1.",
    "1.2.276.0.7230010.3.1.",
];

fn assert_no_original(text: &str) {
    for name in ORIGINAL_NAMES {
        assert!(!text.contains(name), "{name} is served: {text:.300}");
    }
}

/// The first value of attribute `tag` of a DICOM JSON data set.
pub fn value<'a>(ds: &'a Value, tag: &str) -> &'a Value {
    &ds[tag]["Value"][0]
}

async fn get(app: &TestApp, path: &str, s: &Session, accept: Option<&str>) -> reqwest::Response {
    let mut r = app.req(Method::GET, path, Some(s));
    if let Some(a) = accept {
        r = r.header("Accept", a);
    }
    r.send().await.unwrap()
}

/// Uploads the three RG1 samples (one study) and the SIIM JPEG one.
async fn library(app: &TestApp, rad: &Session) -> Vec<Value> {
    let mut out = Vec::new();
    for name in ["RG1_UNCR", "RG1_J2KR", "RG1_J2KI", "siim_cr_jpeg_baseline"] {
        let bytes = sample(&format!("dicom/{name}.dcm"));
        out.push(app.upload_ok(rad, &format!("{name}.dcm"), bytes).await);
    }
    out
}

async fn qido_search(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let images = library(&app, &rad).await;
    let r = get(
        &app,
        "/dicom-web/studies",
        &viewer,
        Some("application/dicom+json"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/dicom+json");
    let text = r.text().await.unwrap();
    assert_no_original(&text);
    let studies: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(studies.as_array().unwrap().len(), 2, "{studies}");
    let rg1 = studies
        .as_array()
        .unwrap()
        .iter()
        .find(|s| value(s, "00201208") == 3)
        .expect("the RG1 study with three instances");
    let study_uid = value(rg1, "0020000D").as_str().unwrap().to_string();
    assert!(study_uid.starts_with("2.25."), "{study_uid}");
    assert_eq!(rg1["0020000D"]["vr"], "UI");
    assert_eq!(value(rg1, "00100020"), &images[0]["patient_pseudonym"]);
    assert_eq!(
        value(rg1, "00100010")["Alphabetic"],
        images[0]["patient_pseudonym"]
    );
    assert_eq!(rg1["00080061"]["Value"], json!(["CR"]));
    assert_eq!(rg1["00080020"], json!({"vr": "DA"}), "the date is emptied");

    query_keys(&app, &viewer, &images, &study_uid).await;
    series_and_instances(&app, &viewer, &images, &study_uid).await;

    // A script's API token reads too.
    let r = app
        .req(Method::POST, "/api/v1/tokens", Some(&viewer))
        .json(&json!({"name": "pacs script"}))
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .get(app.url("/dicom-web/studies"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/dicom-web/studies"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// QIDO-RS query keys, and the Accept header.
async fn query_keys(app: &TestApp, viewer: &Session, images: &[Value], study_uid: &str) {
    // Query keys.
    let pid = images[0]["patient_pseudonym"].as_str().unwrap();
    for (query, n) in [
        (format!("PatientID={pid}"), 1),
        (format!("00100020={pid}"), 1),
        ("PatientID=P-*".to_string(), 2),
        ("PatientID=nobody".to_string(), 0),
        (format!("StudyInstanceUID={study_uid}"), 1),
        ("ModalitiesInStudy=CR".to_string(), 2),
        ("ModalitiesInStudy=MR".to_string(), 0),
        ("StudyDate=20040826".to_string(), 0),
        ("limit=1".to_string(), 1),
        ("offset=1".to_string(), 1),
        ("offset=2".to_string(), 0),
        ("includefield=all&fuzzymatching=false".to_string(), 2),
    ] {
        let (status, found) = app
            .get_json(&format!("/dicom-web/studies?{query}"), viewer)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {found}");
        assert_eq!(found.as_array().unwrap().len(), n, "{query}: {found}");
    }
    for query in [
        "PatientName=X",
        "limit=-1",
        "StudyDate=2004-08-26",
        "offset=x",
    ] {
        let r = get(app, &format!("/dicom-web/studies?{query}"), viewer, None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{query}: {body}");
    }
    let r = get(app, "/dicom-web/studies", viewer, Some("text/html")).await;
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    // A client's list of types, JSON among them.
    let r = get(
        app,
        "/dicom-web/studies",
        viewer,
        Some("application/dicom+json, application/json"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// QIDO-RS below a study.
async fn series_and_instances(app: &TestApp, viewer: &Session, images: &[Value], study_uid: &str) {
    // Series and instances.
    let (_, series) = app
        .get_json(&format!("/dicom-web/studies/{study_uid}/series"), viewer)
        .await;
    let series = series.as_array().unwrap();
    assert!(!series.is_empty());
    let series_uid = value(&series[0], "0020000E").as_str().unwrap().to_string();
    assert!(series_uid.starts_with("2.25."));
    assert_eq!(value(&series[0], "00080060"), "CR");
    let (_, instances) = app
        .get_json(&format!("/dicom-web/studies/{study_uid}/instances"), viewer)
        .await;
    assert_eq!(instances.as_array().unwrap().len(), 3, "{instances}");
    let (_, in_series) = app
        .get_json(
            &format!("/dicom-web/studies/{study_uid}/series/{series_uid}/instances"),
            viewer,
        )
        .await;
    let first = &in_series[0];
    assert!(
        value(first, "00080018")
            .as_str()
            .unwrap()
            .starts_with("2.25.")
    );
    assert_eq!(value(first, "00280010"), &images[0]["height"]);
    assert_eq!(value(first, "00280011"), &images[0]["width"]);
    assert_eq!(value(first, "00080016"), "1.2.840.10008.5.1.4.1.1.1");
    let (_, none) = app
        .get_json("/dicom-web/studies/1.2.3/series", viewer)
        .await;
    assert_eq!(none, json!([]));
    let r = get(app, "/dicom-web/studies/not-a-uid/series", viewer, None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// The parts of a `multipart/related` reply, with their Content-Type.
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert!(
        content_type.starts_with("multipart/related"),
        "{content_type}"
    );
    assert!(
        content_type.contains("type=\"application/dicom\""),
        "{content_type}"
    );
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("a boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut out = Vec::new();
    let positions: Vec<usize> = text
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert!(text.ends_with(format!("--{boundary}--\r\n").as_bytes()));
    for pair in positions.windows(2) {
        let part = &text[pair[0] + delimiter.len() + 2..pair[1] - 2];
        let split = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(part[..split].to_vec()).unwrap();
        let ct = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap()
            .to_string();
        out.push((ct, part[split + 4..].to_vec()));
    }
    out
}

async fn wado_retrieve(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let images = library(&app, &rad).await;
    let (_, instances) = app.get_json("/dicom-web/studies", &viewer).await;
    let rg1 = instances
        .as_array()
        .unwrap()
        .iter()
        .find(|s| value(s, "00201208") == 3)
        .unwrap();
    let study = value(rg1, "0020000D").as_str().unwrap().to_string();
    let (_, list) = app
        .get_json(&format!("/dicom-web/studies/{study}/instances"), &viewer)
        .await;
    let first = &list[0];
    let series = value(first, "0020000E").as_str().unwrap().to_string();
    let sop = value(first, "00080018").as_str().unwrap().to_string();
    let base = format!("/dicom-web/studies/{study}/series/{series}/instances/{sop}");

    let ids = Ids {
        study: &study,
        series: &series,
        sop: &sop,
        base: &base,
    };
    retrievals(&app, &viewer, &images, &ids).await;
    metadata(&app, &viewer, &images, &ids).await;
    rendered(&app, &viewer, &images, &ids).await;

    // Unknown UIDs are 404, malformed ones 400.
    for path in [
        format!("/dicom-web/studies/{study}/series/{series}/instances/1.2.3"),
        format!("/dicom-web/studies/1.2.3/series/{series}"),
        "/dicom-web/studies/1.2.3".to_string(),
        "/dicom-web/studies/1.2.3/metadata".to_string(),
        format!("/dicom-web/studies/1.2.3/series/{series}/instances/{sop}/rendered"),
    ] {
        let r = get(&app, &path, &viewer, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = get(&app, "/dicom-web/studies/1.2.x", &viewer, None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// The UIDs of the instance the WADO-RS checks use, and its path.
#[derive(Clone, Copy)]
struct Ids<'a> {
    study: &'a str,
    series: &'a str,
    sop: &'a str,
    base: &'a str,
}

/// WADO-RS retrieval: framing, transfer syntaxes, Accept.
async fn retrievals(app: &TestApp, viewer: &Session, images: &[Value], ids: &Ids<'_>) {
    let Ids {
        study,
        series,
        base,
        ..
    } = *ids;
    // One instance: the stored file, as the image's file route serves it.
    let r = get(
        app,
        base,
        viewer,
        Some("multipart/related; type=\"application/dicom\""),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let body = r.bytes().await.unwrap();
    let got = parts(&ct, &body);
    assert_eq!(got.len(), 1);
    assert!(
        got[0]
            .0
            .starts_with("application/dicom; transfer-syntax=1.2.840.10008.1.2.1"),
        "{}",
        got[0].0
    );
    let file = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{}/file", images[0]["id"]),
            Some(viewer),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got[0].1, file.to_vec());
    assert_no_original(&String::from_utf8_lossy(&got[0].1));
    // The study: three instances; the series.
    let r = get(app, &format!("/dicom-web/studies/{study}"), viewer, None).await;
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(parts(&ct, &r.bytes().await.unwrap()).len(), 3);
    let r = get(
        app,
        &format!("/dicom-web/studies/{study}/series/{series}"),
        viewer,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Stored as it came: a transfer syntax the study is not in is a 406;
    // the one it is in, or any, is served.
    let j2k = "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1";
    let r = get(
        app,
        &format!("/dicom-web/studies/{study}"),
        viewer,
        Some(j2k),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    let r = get(app, base, viewer, Some(j2k)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let any = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";
    let r = get(
        app,
        &format!("/dicom-web/studies/{study}"),
        viewer,
        Some(any),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(app, base, viewer, Some("application/pdf")).await;
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    let r = get(
        app,
        base,
        viewer,
        Some("multipart/related; type=\"image/jpeg\""),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
}

/// WADO-RS metadata.
async fn metadata(app: &TestApp, viewer: &Session, images: &[Value], ids: &Ids<'_>) {
    let Ids {
        study,
        series,
        sop,
        base,
    } = *ids;
    // Metadata: DICOM JSON without pixels, de-identified.
    let r = get(app, &format!("{base}/metadata"), viewer, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/dicom+json");
    let text = r.text().await.unwrap();
    assert_no_original(&text);
    let meta: Value = serde_json::from_str(&text).unwrap();
    let ds = &meta[0];
    assert_eq!(value(ds, "00080018"), sop);
    assert_eq!(value(ds, "0020000D"), study);
    assert_eq!(
        ds["00100010"]["Value"][0]["Alphabetic"],
        images[0]["patient_pseudonym"]
    );
    assert_eq!(value(ds, "00280010"), &images[0]["height"]);
    assert!(ds.get("7FE00010").is_none(), "no pixel data");
    assert_eq!(value(ds, "00120062"), "YES", "Patient Identity Removed");
    let (_, study_meta) = app
        .get_json(&format!("/dicom-web/studies/{study}/metadata"), viewer)
        .await;
    assert_eq!(study_meta.as_array().unwrap().len(), 3);
    let (_, series_meta) = app
        .get_json(
            &format!("/dicom-web/studies/{study}/series/{series}/metadata"),
            viewer,
        )
        .await;
    assert!(!series_meta.as_array().unwrap().is_empty());
}

/// WADO-RS rendered.
async fn rendered(app: &TestApp, viewer: &Session, images: &[Value], ids: &Ids<'_>) {
    let Ids { base, .. } = *ids;
    // Rendered: JPEG by default, PNG when asked, the stored window.
    let r = get(app, &format!("{base}/rendered"), viewer, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let jpeg = r.bytes().await.unwrap();
    assert!(jpeg.starts_with(&[0xFF, 0xD8]));
    let decoded = image::load_from_memory(&jpeg).unwrap();
    assert_eq!(decoded.width() as i64, images[0]["width"].as_i64().unwrap());
    let r = get(app, &format!("{base}/rendered"), viewer, Some("image/png")).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    let png_bytes = r.bytes().await.unwrap();
    let render = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{}/render", images[0]["id"]),
            Some(viewer),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        png_bytes, render,
        "the stored window, as the editor renders it"
    );
    let r = get(
        app,
        &format!("{base}/rendered"),
        viewer,
        Some("application/pdf"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    let r = get(app, &format!("{base}/rendered?window=1,0"), viewer, None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = get(
        app,
        &format!("{base}/rendered?window=2000,4000,linear"),
        viewer,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// A STOW-RS body of `parts` framed by `boundary`.
pub fn stow_body(boundary: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

pub async fn stow(
    app: &TestApp,
    s: &Session,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value, Option<String>) {
    let r = app
        .req(Method::POST, "/dicom-web/studies", Some(s))
        .header("Content-Type", content_type)
        .header("Accept", "application/dicom+json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let warning = r
        .headers()
        .get("warning")
        .map(|w| w.to_str().unwrap().to_string());
    (status, r.json().await.unwrap_or(Value::Null), warning)
}

async fn stow_store(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let ct = "multipart/related; type=\"application/dicom\"; boundary=\"stow-boundary\"";
    let file = sample("dicom/RG1_UNCR.dcm");
    let body = stow_body("stow-boundary", &[&file, b"not dicom at all"]);
    let (status, ds, warning) = stow(&app, &rad, ct, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ds}");
    assert_no_original(&ds.to_string());
    let stored = &ds["00081199"]["Value"];
    assert_eq!(stored.as_array().unwrap().len(), 1, "{ds}");
    let sop = value(&stored[0], "00081155").as_str().unwrap().to_string();
    assert!(sop.starts_with("2.25."), "the de-identified UID: {sop}");
    assert_eq!(value(&stored[0], "00081150"), "1.2.840.10008.5.1.4.1.1.1");
    let failed = &ds["00081198"]["Value"];
    assert_eq!(value(&failed[0], "00081197"), 0xC000);
    assert!(warning.unwrap().contains("part 2"));
    // Stored as an upload: listed, with the same UID over QIDO.
    let (_, list) = app.get_json("/api/v1/images", &viewer).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["images"][0]["created_by"], "rad");
    let (_, found) = app
        .get_json(
            &format!(
                "/dicom-web/studies/{}/instances",
                value(
                    &app.get_json("/dicom-web/studies", &viewer).await.1[0],
                    "0020000D"
                )
                .as_str()
                .unwrap()
            ),
            &viewer,
        )
        .await;
    assert_eq!(value(&found[0], "00080018"), sop.as_str());

    // The same file again: stored once, 200.
    let (status, ds, _) = stow(&app, &rad, ct, stow_body("stow-boundary", &[&file])).await;
    assert_eq!(status, StatusCode::OK, "{ds}");
    assert_eq!(value(&ds["00081199"]["Value"][0], "00081155"), sop.as_str());
    let (_, list) = app.get_json("/api/v1/images", &viewer).await;
    assert_eq!(list["total"], 1);
    // Nothing storable: 409 with the failures; a truncated DICOM file names its UIDs when it can.
    let truncated = &file[..file.len() / 2];
    let (status, ds, _) = stow(&app, &rad, ct, stow_body("stow-boundary", &[truncated])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{ds}");
    assert!(ds.get("00081199").is_none());
    assert_eq!(ds["00081198"]["Value"].as_array().unwrap().len(), 1);

    // Bad requests.
    let mut broken = stow_body("stow-boundary", &[&file]);
    broken.truncate(broken.len() - 20);
    let (status, body, _) = stow(&app, &rad, ct, broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("multipart"),
        "{body}"
    );
    let (status, _, _) = stow(&app, &rad, ct, stow_body("other-boundary", &[&file])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body, _) = stow(
        &app,
        &rad,
        "multipart/related; type=\"application/dicom\"",
        file.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = stow(&app, &rad, "application/dicom", file.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = stow(
        &app,
        &rad,
        "multipart/related; type=\"application/dicom+xml\"; boundary=b",
        stow_body("b", &[&file]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Refused before the body is read: a small one, so the send completes.
    let (status, _, _) = stow(&app, &viewer, ct, stow_body("stow-boundary", &[b"x"])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A STOW-RS body over the upload limit is a 413, declared or streamed,
/// and stores nothing. Driven through the router without a socket: a server
/// that stops reading an oversize body may reset the connection before a
/// client reads the answer.
async fn stow_over_the_limit(app: TestApp) {
    use tower::ServiceExt;
    let (_, rad, _) = app.team().await;
    let ct = "multipart/related; type=\"application/dicom\"; boundary=b";
    let small = sample("dicom/siim_cr_jpeg_baseline.dcm");
    let j2k = sample("dicom/RG1_J2KI.dcm");
    let big = stow_body("b", &[&small, &j2k, &j2k]);
    assert!(big.len() > 1024 * 1024);
    let request = |body: axum::body::Body, len: Option<usize>| {
        let mut b = axum::http::Request::builder()
            .method("POST")
            .uri("/dicom-web/studies")
            .header("content-type", ct)
            .header("cookie", format!("carina_session={}", rad.cookie))
            .header("x-csrf-token", &rad.csrf);
        if let Some(n) = len {
            b = b.header("content-length", n);
        }
        b.body(body).unwrap()
    };
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(65536).map(|c| Ok(c.to_vec())).collect();
    let streamed = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
    for req in [
        request(axum::body::Body::from(big.clone()), Some(big.len())),
        request(streamed, None),
    ] {
        let res = carina_server::build_router(app.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        assert_eq!(res.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("CARINA_MAX_UPLOAD_MB"), "{body}");
    }
    assert!(app.objects().await.is_empty());
    // Under the limit, stored, over the socket too.
    let (status, _, _) = stow(&app, &rad, ct, stow_body("b", &[&small])).await;
    assert_eq!(status, StatusCode::OK);
}
