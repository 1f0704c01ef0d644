//! Uploads (real DICOM, PNG, JPEG), de-identification, de-duplication, bad
//! files, size limits, listing, rendering, replacing and deleting images.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    real_dicoms_are_decoded_and_deidentified,
    png_and_jpeg_become_dicom,
    identical_files_are_stored_once,
    bad_files_store_nothing,
    render_and_thumbnail,
    replace_file,
    delete_image
);
// Searching by file name needs the names kept (the default under
// de-identification keeps only the extension, see tests/api/privacy.rs).
crate::both_backends_with!(
    list_search_filter_and_page,
    |c: &mut carina_server::Config| c.original_filenames = carina_server::FilenamePolicy::Keep
);
crate::both_backends_with!(oversize_upload_is_413, |c: &mut carina_server::Config| c
    .max_upload_mb =
    1);

const DICOMS: [&str; 5] = [
    "RG1_UNCR.dcm",
    "RG1_J2KR.dcm",
    "RG1_J2KI.dcm",
    "siim_cr_jpeg_baseline.dcm",
    "siim_cr_monochrome1.dcm",
];
/// Identifying values in the samples' headers (patient name, id, birth date).
const PHI: [&str; 4] = ["CompressedSamples", "19400305", "9RG1", "16d7f894-55d7"];

async fn real_dicoms_are_decoded_and_deidentified(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    for name in DICOMS {
        let image = app
            .upload_ok(&rad, name, sample(&format!("dicom/{name}")))
            .await;
        assert_eq!(image["format"], "dicom", "{name}");
        assert!(image["width"].as_u64().unwrap() > 100, "{name}: {image}");
        assert!(image["height"].as_u64().unwrap() > 100, "{name}: {image}");
        assert!(image["window_width"].as_f64().unwrap() > 0.0, "{name}");
        assert_eq!(image["status"], "new");
        assert_eq!(image["created_by"], "rad");
        let (status, shown) = app
            .get_json(&format!("/api/v1/images/{}", image["id"]), &viewer)
            .await;
        assert_eq!(status, StatusCode::OK);
        let file = app
            .req(
                Method::GET,
                &format!("/api/v1/images/{}/file", image["id"]),
                Some(&viewer),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(file.headers()["content-type"], "application/dicom");
        let bytes = file.bytes().await.unwrap();
        assert_eq!(&bytes[128..132], b"DICM", "{name}: served as DICOM");
        for phi in PHI {
            assert!(
                !shown.to_string().contains(phi),
                "{name}: metadata leaks {phi}"
            );
            assert!(
                !contains(&bytes, phi.as_bytes()),
                "{name}: served file leaks {phi}"
            );
        }
        // The served file decodes to the same size.
        let decoded = carina_imaging::decode(&bytes, &carina_imaging::Limits::default()).unwrap();
        assert_eq!(
            u64::from(decoded.image.width),
            image["width"].as_u64().unwrap()
        );
    }
    // The stored objects hold no patient data either.
    for key in app.objects().await {
        let bytes = app.state.store.objects.get(&key).await.unwrap();
        for phi in PHI {
            assert!(!contains(&bytes, phi.as_bytes()), "{key} leaks {phi}");
        }
    }
    let (_, list) = app.get_json("/api/v1/images", &viewer).await;
    assert_eq!(list["total"], 5);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn png_and_jpeg_become_dicom(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let png = app
        .upload_ok(&rad, "00000001_000.png", sample("png/00000001_000.png"))
        .await;
    assert_eq!(png["format"], "png");
    let jpeg = app
        .upload_ok(
            &rad,
            "NORMAL2-IM-1427-0001.jpeg",
            sample("jpeg/NORMAL2-IM-1427-0001.jpeg"),
        )
        .await;
    assert_eq!(jpeg["format"], "jpeg");
    for img in [&png, &jpeg] {
        let bytes = app
            .req(
                Method::GET,
                &format!("/api/v1/images/{}/file", img["id"]),
                Some(&rad),
            )
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[128..132], b"DICM", "Secondary Capture for {img}");
    }
    // Several files in one request.
    let r = app
        .upload(&rad, &[("a.png", png_bytes(1)), ("b.png", png_bytes(2))])
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["images"].as_array().unwrap().len(), 2);
}

fn png_bytes(seed: u8) -> Vec<u8> {
    png(64, 48, seed)
}

async fn identical_files_are_stored_once(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let bytes = sample("dicom/siim_cr_jpeg_baseline.dcm");
    let first = app.upload_ok(&rad, "a.dcm", bytes.clone()).await;
    let objects = app.objects().await;
    assert_eq!(objects.len(), 2, "file and thumbnail: {objects:?}");
    let r = app.upload(&rad, &[("copy.dcm", bytes)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = r.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(app.objects().await, objects);
    let (_, list) = app.get_json("/api/v1/images", &rad).await;
    assert_eq!(list["total"], 1);
}

async fn bad_files_store_nothing(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let r = app
        .upload(
            &rad,
            &[("garbage.dcm", b"this is not an image at all".to_vec())],
        )
        .await;
    assert_eq!(
        error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_file"
    );
    let dicom = sample("dicom/RG1_UNCR.dcm");
    let r = app
        .upload(
            &rad,
            &[("truncated.dcm", dicom[..dicom.len() / 3].to_vec())],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    // A PNG header claiming 100000×100000 pixels.
    let mut huge = png(8, 8, 0);
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let r = app.upload(&rad, &[("huge.png", huge)]).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::PAYLOAD_TOO_LARGE,
        "{status} {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("huge.png"),
        "{body}"
    );
    // One bad file in a batch stores none of them.
    let r = app
        .upload(
            &rad,
            &[
                ("ok.png", png(32, 32, 9)),
                ("bad.png", b"\x89PNG\r\n\x1a\nrest".to_vec()),
            ],
        )
        .await;
    assert!(r.status().is_client_error());
    // No part named "file", or no multipart at all.
    let r = app
        .req(Method::POST, "/api/v1/images", Some(&rad))
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .req(Method::POST, "/api/v1/images", Some(&rad))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, list) = app.get_json("/api/v1/images", &rad).await;
    assert_eq!(list["total"], 0);
    assert!(app.objects().await.is_empty());
}

async fn oversize_upload_is_413(app: TestApp) {
    use tower::ServiceExt;
    let (_, rad, _) = app.team().await;
    // Driven through the router without a socket: a server that stops reading
    // an oversize body may reset the connection before a client reads the answer.
    let multipart = |len: usize| {
        let mut body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.dcm\"\r\n\r\n"
                .to_vec();
        body.extend(std::iter::repeat_n(7u8, len));
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        body
    };
    let request = |body: axum::body::Body, len: Option<usize>| {
        let mut b = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/images")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .header("cookie", format!("carina_session={}", rad.cookie))
            .header("x-csrf-token", &rad.csrf);
        if let Some(n) = len {
            b = b.header("content-length", n);
        }
        b.body(body).unwrap()
    };
    let big = multipart(3 * 1024 * 1024);
    let n = big.len();
    let res = carina_server::build_router(app.state.clone())
        .oneshot(request(axum::body::Body::from(big.clone()), Some(n)))
        .await
        .unwrap();
    assert_eq!(res.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["error"]["code"], "too_large");
    // Without a Content-Length (chunked), the streaming limit answers the same.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(65536).map(|c| Ok(c.to_vec())).collect();
    let stream = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
    let res = carina_server::build_router(app.state.clone())
        .oneshot(request(stream, None))
        .await
        .unwrap();
    assert_eq!(res.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["error"]["code"], "too_large");
    assert!(app.objects().await.is_empty());
    // A file under the limit is fine, over the socket too.
    app.upload_ok(&rad, "small.png", png(16, 16, 1)).await;
}

async fn list_search_filter_and_page(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    for i in 0..5u8 {
        app.upload_ok(&rad, &format!("chest_{i}.png"), png(32, 32, i))
            .await;
    }
    let other = app.upload_ok(&rad, "Knee_100%.png", png(32, 32, 99)).await;
    let (_, all) = app.get_json("/api/v1/images", &viewer).await;
    assert_eq!(all["total"], 6);
    let (_, found) = app.get_json("/api/v1/images?q=CHEST", &viewer).await;
    assert_eq!(found["total"], 5);
    // `%` is matched literally, not as a wildcard.
    let (_, pct) = app.get_json("/api/v1/images?q=100%25", &viewer).await;
    assert_eq!(pct["total"], 1);
    let (_, page) = app
        .get_json("/api/v1/images?per_page=2&page=3", &viewer)
        .await;
    assert_eq!(page["images"].as_array().unwrap().len(), 2);
    assert_eq!(page["page"], 3);
    let r = app
        .req(
            Method::PATCH,
            &format!("/api/v1/images/{}", other["id"]),
            Some(&rad),
        )
        .json(&json!({"status": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, done) = app.get_json("/api/v1/images?status=done", &viewer).await;
    assert_eq!(done["total"], 1);
    assert_eq!(done["images"][0]["id"], other["id"]);
    let (status, _) = app.get_json("/api/v1/images?status=lost", &viewer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = app
        .req(
            Method::PATCH,
            &format!("/api/v1/images/{}", other["id"]),
            Some(&viewer),
        )
        .json(&json!({"status": "new"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn render_and_thumbnail(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app
        .upload_ok(&rad, "RG1_J2KR.dcm", sample("dicom/RG1_J2KR.dcm"))
        .await;
    let id = &img["id"];
    let thumb = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/thumbnail"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.headers()["content-type"], "image/png");
    let t = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert!(t.width().max(t.height()) <= 256);
    let fetch = |q: &'static str| {
        let app = app.clone();
        let viewer = viewer.clone();
        let id = id.clone();
        async move {
            let r = app
                .req(
                    Method::GET,
                    &format!("/api/v1/images/{id}/render{q}"),
                    Some(&viewer),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{q}");
            image::load_from_memory(&r.bytes().await.unwrap())
                .unwrap()
                .to_luma8()
        }
    };
    let default = fetch("").await;
    assert_eq!(u64::from(default.width()), img["width"].as_u64().unwrap());
    let inverted = fetch("?invert=true").await;
    let p = default.get_pixel(500, 500)[0];
    assert_eq!(inverted.get_pixel(500, 500)[0], 255 - p);
    let narrow = fetch("?window=1&level=100000").await;
    assert_eq!(
        narrow.get_pixel(500, 500)[0],
        0,
        "everything below a very high level is black"
    );
    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/render?window=-5"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .req(Method::GET, "/api/v1/images/999/render", Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
}

async fn replace_file(app: TestApp) {
    let (_, rad, _) = app.team().await;
    let img = app.upload_ok(&rad, "a.png", png(100, 80, 1)).await;
    let id = img["id"].as_i64().unwrap();
    let put = |body: Value| {
        let app = app.clone();
        let rad = rad.clone();
        async move {
            app.req(
                Method::PUT,
                &format!("/api/v1/images/{id}/annotations"),
                Some(&rad),
            )
            .header("If-Match", "\"0\"")
            .json(&body)
            .send()
            .await
            .unwrap()
        }
    };
    let r = put(json!({"boxes": [{"class_id": 1, "bbox": [50, 40, 90, 70]}]})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let old_objects = app.objects().await;
    let replace = |bytes: Vec<u8>, force: bool| {
        let app = app.clone();
        let rad = rad.clone();
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("b.png"),
            );
            app.req(
                Method::PUT,
                &format!("/api/v1/images/{id}/file?force={force}"),
                Some(&rad),
            )
            .multipart(form)
            .send()
            .await
            .unwrap()
        }
    };
    // The box would fall outside a 60x60 image.
    let r = replace(png(60, 60, 2), false).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    assert_eq!(
        app.objects().await,
        old_objects,
        "a refused replacement leaves no object behind"
    );
    let r = replace(png(60, 60, 2), true).await;
    assert_eq!(r.status(), StatusCode::OK);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["width"], 60);
    assert_ne!(updated["sha256"], img["sha256"]);
    let (_, ann) = app
        .get_json(&format!("/api/v1/images/{id}/annotations"), &rad)
        .await;
    assert_eq!(ann["boxes"][0]["bbox"], json!([50.0, 40.0, 60.0, 60.0]));
    let objects = app.objects().await;
    assert_eq!(objects.len(), 2);
    assert!(
        objects.iter().all(|k| !old_objects.contains(k)),
        "old objects deleted"
    );
}

async fn delete_image(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    let img = app.upload_ok(&rad, "a.png", png(40, 40, 3)).await;
    let path = format!("/api/v1/images/{}", img["id"]);
    let r = app
        .req(Method::DELETE, &path, Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(Method::DELETE, &path, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = app.get_json(&path, &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(app.objects().await.is_empty());
    let r = app
        .req(Method::DELETE, &path, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The same content can be uploaded again afterwards.
    app.upload_ok(&rad, "a.png", png(40, 40, 3)).await;
}
