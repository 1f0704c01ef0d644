//! The image flow on an S3 bucket: a real S3-compatible server (moto's,
//! started by `scripts/test.sh`) named by `CARINA_TEST_S3_ENDPOINT`.
//! Without it the tests are skipped with a note, or fail when `CI` is set.

use crate::helpers::*;
use carina_server::{Config, Secret};
use carina_store::ObjectStorage;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

async fn on_s3(backend: Backend) {
    let Some((bucket, options)) = carina_testkit::s3_bucket().await else {
        return;
    };
    let url = format!("s3://{bucket}/carina");
    let opts: BTreeMap<String, Secret> = options
        .into_iter()
        .map(|(k, v)| (k, Secret::new(v)))
        .collect();
    // The bucket seen from outside the app, to check what really is there.
    let outside = ObjectStorage::from_url_with(
        &format!("s3://{bucket}"),
        opts.iter().map(|(k, v)| (k, v.expose())),
    )
    .unwrap();
    let tweak = {
        let (url, opts) = (url.clone(), opts.clone());
        move |c: &mut Config| {
            c.object_store_url = Some(url);
            c.object_store_options = opts;
        }
    };
    run_with(backend, tweak, move |app| image_flow(app, outside)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_flow_on_s3_sqlite() {
    on_s3(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_flow_on_s3_postgres() {
    on_s3(Backend::Postgres).await;
}

async fn image_flow(app: TestApp, outside: ObjectStorage) {
    assert!(
        app.state
            .store
            .objects
            .description()
            .starts_with("s3 bucket")
    );
    let (admin, rad, _) = app.team().await;
    let dcm = sample("dicom/siim_cr_jpeg_baseline.dcm");
    let img = app.upload_ok(&rad, "cr.dcm", dcm).await;
    let id = img["id"].as_i64().unwrap();
    let in_bucket = outside.list("carina/images").await.unwrap();
    assert_eq!(
        in_bucket.len(),
        2,
        "file and thumbnail in the bucket: {in_bucket:?}"
    );
    // Read back: the served (de-identified) DICOM and the thumbnail.
    let file = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/file"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let bytes = file.bytes().await.unwrap();
    assert_eq!(&bytes[128..132], b"DICM");
    let key = in_bucket.iter().find(|k| k.ends_with("image.dcm")).unwrap();
    assert_eq!(outside.get(key).await.unwrap(), bytes);
    let thumb = app
        .req(
            Method::GET,
            &format!("/api/v1/images/{id}/thumbnail"),
            Some(&rad),
        )
        .send()
        .await
        .unwrap();
    assert!(image::load_from_memory(&thumb.bytes().await.unwrap()).is_ok());

    // A failed upload (one bad file among good ones) stores nothing.
    let r = app
        .upload(
            &rad,
            &[
                ("ok.png", png(40, 40, 1)),
                ("bad.png", b"not a png".to_vec()),
            ],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(outside.list("carina/images").await.unwrap(), in_bucket);
    // A refused replacement (the box would fall outside) leaves no orphan.
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", "\"0\"")
        .json(&json!({"boxes": [{"class_id": 1, "bbox": [100, 100, 400, 400]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png(50, 50, 2)).file_name("small.png"),
    );
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/file"),
            Some(&rad),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    assert_eq!(outside.list("carina/images").await.unwrap(), in_bucket);

    // Delete: the row and both objects go.
    let r = app
        .req(
            Method::DELETE,
            &format!("/api/v1/images/{id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(outside.list("carina/images").await.unwrap().is_empty());
    let (status, _) = app.get_json(&format!("/api/v1/images/{id}"), &rad).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
