//! The object store on every backend a deployment can use: local disk, and
//! S3 against a real S3-compatible server when `CARINA_TEST_S3_ENDPOINT`
//! names one (`scripts/test.sh` starts moto's server for the run; with `CI`
//! set and no endpoint the S3 test fails instead of skipping).

use bytes::Bytes;
use carina_store::{ObjectStorage, StoreError};

use carina_testkit::s3_bucket;

async fn exercise(store: &ObjectStorage) {
    let a = Bytes::from_static(b"first object");
    let big = Bytes::from(vec![7u8; 3 * 1024 * 1024]);
    store
        .put("images/aa/one/image.dcm", a.clone())
        .await
        .unwrap();
    store
        .put("images/aa/one/thumbnail.png", Bytes::from_static(b"png"))
        .await
        .unwrap();
    store
        .put("images/bb/two/image.dcm", big.clone())
        .await
        .unwrap();
    assert_eq!(store.get("images/aa/one/image.dcm").await.unwrap(), a);
    assert_eq!(store.get("images/bb/two/image.dcm").await.unwrap(), big);
    assert!(store.exists("images/aa/one/image.dcm").await.unwrap());
    assert!(!store.exists("images/aa/none").await.unwrap());
    assert!(matches!(
        store.get("images/missing").await,
        Err(StoreError::NotFound)
    ));
    let mut keys = store.list("images").await.unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            "images/aa/one/image.dcm",
            "images/aa/one/thumbnail.png",
            "images/bb/two/image.dcm"
        ]
    );
    assert_eq!(store.list("images/aa").await.unwrap().len(), 2);
    // Overwriting replaces the content.
    store
        .put("images/aa/one/image.dcm", Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(
        &store.get("images/aa/one/image.dcm").await.unwrap()[..],
        b"second"
    );
    store.delete("images/aa/one/image.dcm").await.unwrap();
    // Deleting what is gone is not an error.
    store.delete("images/aa/one/image.dcm").await.unwrap();
    assert!(!store.exists("images/aa/one/image.dcm").await.unwrap());
    assert!(
        store.put("images/../escape", a.clone()).await.is_err(),
        "bad keys are refused"
    );
    for k in store.list("images").await.unwrap() {
        store.delete(&k).await.unwrap();
    }
    assert!(store.list("images").await.unwrap().is_empty());
}

#[tokio::test]
async fn local_disk() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&ObjectStorage::local(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn in_memory() {
    exercise(&ObjectStorage::in_memory()).await;
}

#[tokio::test]
async fn s3_bucket_root_and_prefix() {
    let Some((bucket, options)) = s3_bucket().await else {
        return;
    };
    let root = ObjectStorage::from_url_with(&format!("s3://{bucket}"), options.clone()).unwrap();
    exercise(&root).await;
    let prefixed =
        ObjectStorage::from_url_with(&format!("s3://{bucket}/team/a"), options.clone()).unwrap();
    exercise(&prefixed).await;
    // The prefix really is a folder in the bucket.
    prefixed
        .put("images/x", Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert_eq!(root.list("team").await.unwrap(), ["team/a/images/x"]);
    prefixed.delete("images/x").await.unwrap();
}

#[tokio::test]
async fn s3_errors_are_reported() {
    assert!(matches!(
        ObjectStorage::from_url("s3://"),
        Err(StoreError::Config(_))
    ));
    assert!(matches!(
        ObjectStorage::from_url("gs://bucket"),
        Err(StoreError::Config(_))
    ));
    assert!(matches!(
        ObjectStorage::from_url_with("s3://b", [("no_such_option", "1")]),
        Err(StoreError::Config(_))
    ));
    let Some((_, options)) = s3_bucket().await else {
        return;
    };
    // A bucket that does not exist: an error, not a panic or a silent success.
    let missing = ObjectStorage::from_url_with("s3://carina-no-such-bucket", options).unwrap();
    assert!(
        missing
            .put("images/a", Bytes::from_static(b"a"))
            .await
            .is_err()
    );
}

/// The sweeper on a real store: an unreferenced object older than the grace
/// goes, an unreferenced one younger than the grace (another process's,
/// its row not committed yet) stays, referenced objects stay, and keys
/// outside Carina's prefixes are never touched.
async fn sweep_exercise(objects: ObjectStorage) {
    use carina_store::{Database, ImageMeta, NewImage, Store};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .unwrap();
    let store = Store::new(db, objects.clone());
    let grace = Duration::from_secs(2);
    let old = "images/aa/aa11-0000000000000001/image.dcm";
    objects
        .put(old, Bytes::from(vec![1u8; 1234]))
        .await
        .unwrap();
    objects
        .put("elsewhere/not-ours", Bytes::from_static(b"x"))
        .await
        .unwrap();
    let new = NewImage {
        sha256: "ab".repeat(32),
        meta: ImageMeta {
            format: "png".into(),
            width: 10,
            height: 10,
            bits_stored: 8,
            photometric: "MONOCHROME2".into(),
            window_center: None,
            window_width: None,
            pixel_spacing: None,
            modality: None,
            study_pseudonym: None,
            patient_pseudonym: None,
            burned_in_annotation: None,
            view_position: None,
        },
        original_filename: "image.png".into(),
        created_by: "ann".into(),
        dicom: Default::default(),
    };
    let (image, _) = store
        .add_image(
            &new,
            Bytes::from_static(b"dicom"),
            Bytes::from_static(b"png"),
        )
        .await
        .unwrap();
    tokio::time::sleep(grace + Duration::from_millis(1100)).await;
    let young = "images/bb/bb22-0000000000000002/image.dcm";
    objects
        .put(young, Bytes::from_static(b"young"))
        .await
        .unwrap();
    let report = store.sweep(grace, &[]).await.unwrap();
    assert_eq!(report.objects, [(old.to_string(), 1234)]);
    assert_eq!(report.young_unreferenced, 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(!objects.exists(old).await.unwrap());
    for key in [
        young,
        &image.object_key,
        &image.thumbnail_key,
        "elsewhere/not-ours",
    ] {
        assert!(objects.exists(key).await.unwrap(), "{key} was kept");
    }
    // Nothing more to do the second time.
    let again = store.sweep(grace, &[]).await.unwrap();
    assert!(again.objects.is_empty());
    store.db.close().await;
}

#[tokio::test]
async fn sweep_local_disk() {
    let dir = tempfile::tempdir().unwrap();
    sweep_exercise(ObjectStorage::local(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn sweep_s3() {
    let Some((bucket, options)) = s3_bucket().await else {
        return;
    };
    sweep_exercise(ObjectStorage::from_url_with(&format!("s3://{bucket}"), options).unwrap()).await;
}
