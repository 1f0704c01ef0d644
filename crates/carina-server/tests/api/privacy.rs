//! File names that could name the patient, de-identification of every
//! attribute of PS3.15 Table E.1-1 end to end (served file, JSON, log),
//! burned-in text, and the client address behind a reverse proxy for login
//! throttling.

use crate::both_backends;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(file_names_are_reduced_to_the_extension_by_default);
crate::both_backends_with!(
    file_names_kept_when_configured,
    |c: &mut carina_server::Config| c.original_filenames = carina_server::FilenamePolicy::Keep
);
crate::both_backends_with!(
    forwarded_for_counts_behind_a_trusted_proxy,
    |c: &mut carina_server::Config| {
        c.trusted_proxies = carina_server::auth::client_ip::parse_list("127.0.0.1").unwrap()
    }
);
both_backends!(forwarded_for_is_ignored_by_default);
both_backends!(no_planted_value_reaches_file_json_or_log);
both_backends!(burned_in_text_is_flagged_and_held_back_from_export);
crate::both_backends_with!(
    burned_in_text_is_refused_when_configured,
    |c: &mut carina_server::Config| c.burned_in = carina_server::BurnedInPolicy::Refuse
);

const NAMED: &str = "Doe^John_1960-01-02_chest.PNG";

async fn file_names_are_reduced_to_the_extension_by_default(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, NAMED, png(40, 30, 5)).await;
    let name = img["original_filename"].as_str().unwrap();
    let sha = img["sha256"].as_str().unwrap();
    assert_eq!(name, format!("image-{}.png", &sha[..12]));
    let (_, shown) = app
        .get_json(&format!("/api/v1/images/{}", img["id"]), &viewer)
        .await;
    assert!(!shown.to_string().contains("Doe"), "{shown}");
    let (_, found) = app.get_json("/api/v1/images?q=Doe", &viewer).await;
    assert_eq!(found["total"], 0);
    // No usable extension: the stem alone.
    let img = app.upload_ok(&rad, "Jane Roe", png(40, 30, 6)).await;
    assert!(!img["original_filename"].as_str().unwrap().contains('.'));
    let stored = app
        .state
        .store
        .db
        .image(img["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.original_filename.contains("Roe"));
}

async fn file_names_kept_when_configured(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, NAMED, png(40, 30, 5)).await;
    assert_eq!(img["original_filename"], NAMED);
    let (_, found) = app.get_json("/api/v1/images?q=chest", &viewer).await;
    assert_eq!(found["total"], 1);
}

async fn login_with(app: &TestApp, user: &str, xff: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", xff)
        .json(&json!({"username": user, "password": "wrong wrong"}))
        .send()
        .await
        .unwrap()
        .status()
}

/// Attempts counted against a login-throttle key (`client:<address>`).
async fn failures(app: &TestApp, key: &str) -> i64 {
    app.state
        .store
        .db
        .login_attempts(key)
        .await
        .unwrap()
        .map_or(0, |c| c.attempts)
}

async fn forwarded_for_counts_behind_a_trusted_proxy(app: TestApp) {
    app.register("someone", "password-someone").await;
    for _ in 0..2 {
        assert_eq!(
            login_with(&app, "someone", "203.0.113.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // A client-sent spoof to the left is passed over.
    assert_eq!(
        login_with(&app, "someone", "198.51.100.1, 203.0.113.8").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(failures(&app, "client:203.0.113.7").await, 2);
    assert_eq!(failures(&app, "client:203.0.113.8").await, 1);
    assert_eq!(failures(&app, "client:198.51.100.1").await, 0);
    assert_eq!(failures(&app, "client:127.0.0.1").await, 0);
}

async fn forwarded_for_is_ignored_by_default(app: TestApp) {
    app.register("someone", "password-someone").await;
    assert_eq!(
        login_with(&app, "someone", "203.0.113.7").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(failures(&app, "client:203.0.113.7").await, 0);
    assert_eq!(failures(&app, "client:127.0.0.1").await, 1);
}

/// Everything the process logs, from the first call on (a global subscriber
/// writing into memory; other tests' lines land here too, which only makes
/// the check stricter).
fn captured_log() -> &'static std::sync::Mutex<Vec<u8>> {
    use std::sync::{Mutex, OnceLock};
    static LOG: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        struct W(&'static Mutex<Vec<u8>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || W(buf))
            .try_init()
            .expect("the privacy test installs the only log subscriber");
        buf
    })
}

fn has(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A file name that names the patient and carries a marker of its own.
const PLANTED_NAME: &str = "ZQFILENAMEQZ_Doe^John.dcm";

async fn no_planted_value_reaches_file_json_or_log(app: TestApp) {
    let log = captured_log();
    let (admin, rad, viewer) = app.team().await;
    let (file, planted) = carina_imaging::deid_fixture::every_attribute_dicom(
        &sample("dicom/RG1_UNCR.dcm"),
        carina_imaging::deid_fixture::Nesting::RemovedSequence,
    )
    .unwrap();
    let mut needles: Vec<(String, Vec<u8>)> = planted
        .iter()
        .filter(|p| p.distinctive)
        .map(|p| (p.what.clone(), p.value.clone()))
        .collect();
    assert!(needles.len() > 1200, "{} values planted", needles.len());
    needles.push(("file name".into(), b"ZQFILENAMEQZ".to_vec()));
    let values: Vec<&[u8]> = needles.iter().map(|(_, v)| v.as_slice()).collect();
    let in_upload = carina_imaging::deid_fixture::find_planted(&file, &values);
    for (i, (what, _)) in needles[..needles.len() - 1].iter().enumerate() {
        assert!(in_upload[i], "test setup: {what} not in the upload");
    }

    let uploaded = app.upload_ok(&rad, PLANTED_NAME, file.clone()).await;
    let id = uploaded["id"].as_i64().unwrap();
    assert_eq!(uploaded["burned_in_annotation"], "no");
    // A second upload of the same bytes, and a replacement, take other paths.
    let again = app.upload(&rad, &[(PLANTED_NAME, file.clone())]).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: serde_json::Value = again.json().await.unwrap();

    let served = app
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/images/{id}/file"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let served = served.bytes().await.unwrap();
    assert!(served.len() > 100_000, "the served file holds the pixels");

    let mut json = Vec::new();
    json.extend(uploaded.to_string().into_bytes());
    json.extend(again.to_string().into_bytes());
    for path in [
        format!("/api/v1/images/{id}"),
        "/api/v1/images".to_string(),
        "/api/v1/images?q=ZQ".to_string(),
        format!("/api/v1/images/{id}/annotations"),
    ] {
        for who in [&viewer, &admin] {
            let (status, v) = app.get_json(&path, who).await;
            assert_eq!(status, StatusCode::OK, "{path}: {v}");
            json.extend(v.to_string().into_bytes());
        }
    }
    let (_, found) = app.get_json("/api/v1/images?q=ZQ", &viewer).await;
    assert_eq!(found["total"], 0, "a planted value is searchable: {found}");

    let logged = log.lock().unwrap().clone();
    assert!(has(&logged, b"image stored"), "the log was not captured");
    let in_served = carina_imaging::deid_fixture::find_planted(&served, &values);
    let in_json = carina_imaging::deid_fixture::find_planted(&json, &values);
    let in_log = carina_imaging::deid_fixture::find_planted(&logged, &values);
    for (i, (what, _)) in needles.iter().enumerate() {
        assert!(!in_served[i], "{what} is in the served file");
        assert!(!in_json[i], "{what} is in the API's JSON");
        assert!(!in_log[i], "{what} is in the log");
    }
}

async fn burned_in_text_is_flagged_and_held_back_from_export(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    // A secondary capture that does not say: unknown. A CR that does not say: no.
    let sc = app
        .upload_ok(&rad, "sc.dcm", sample("dicom/siim_cr_jpeg_baseline.dcm"))
        .await;
    assert_eq!(sc["burned_in_annotation"], "unknown");
    assert!(sc["burned_in_confirmed_by"].is_null());
    let cr = app
        .upload_ok(&rad, "cr.dcm", sample("dicom/RG1_UNCR.dcm"))
        .await;
    assert_eq!(cr["burned_in_annotation"], "no");
    let raster = app.upload_ok(&rad, "x.png", png(40, 30, 9)).await;
    assert!(raster["burned_in_annotation"].is_null());

    let exported = |app: TestApp| async move {
        let rows = app
            .state
            .store
            .db
            .export_annotations(&carina_store::ExportFilter::default())
            .await
            .unwrap();
        rows.into_iter().map(|i| i.id).collect::<Vec<_>>()
    };
    let (sc_id, cr_id, png_id) = (
        sc["id"].as_i64().unwrap(),
        cr["id"].as_i64().unwrap(),
        raster["id"].as_i64().unwrap(),
    );
    assert_eq!(exported(app.clone()).await, vec![cr_id, png_id]);

    let confirm = |id: i64, who: &Session| {
        app.req(
            reqwest::Method::POST,
            &format!("/api/v1/images/{id}/burned-in/confirm"),
            Some(who),
        )
        .send()
    };
    // Only an admin confirms, and only a flagged image.
    for who in [&rad, &viewer] {
        assert_eq!(
            error_code(confirm(sc_id, who).await.unwrap(), StatusCode::FORBIDDEN).await,
            "forbidden"
        );
    }
    assert_eq!(
        error_code(confirm(cr_id, &admin).await.unwrap(), StatusCode::CONFLICT).await,
        "conflict"
    );
    assert_eq!(
        error_code(confirm(9999, &admin).await.unwrap(), StatusCode::NOT_FOUND).await,
        "not_found"
    );
    let r = confirm(sc_id, &admin).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let confirmed: serde_json::Value = r.json().await.unwrap();
    assert_eq!(confirmed["burned_in_confirmed_by"], "admin");
    assert_eq!(confirmed["burned_in_annotation"], "unknown");
    assert_eq!(exported(app.clone()).await, vec![sc_id, cr_id, png_id]);
}

async fn burned_in_text_is_refused_when_configured(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let r = app
        .upload(
            &rad,
            &[("sc.dcm", sample("dicom/siim_cr_jpeg_baseline.dcm"))],
        )
        .await;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("burned-in"),
        "{body}"
    );
    let (_, list) = app.get_json("/api/v1/images", &viewer).await;
    assert_eq!(list["total"], 0, "nothing stored");
    assert!(app.objects().await.is_empty(), "no object stored");
    // One that says NO is taken.
    let cr = app
        .upload_ok(&rad, "cr.dcm", sample("dicom/RG1_UNCR.dcm"))
        .await;
    assert_eq!(cr["burned_in_annotation"], "no");
}
