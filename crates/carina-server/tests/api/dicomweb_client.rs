//! The real `dicomweb-client` Python package (a venv under
//! `target/dicomweb-venv`, installed by `scripts/test.sh`, named by
//! `CARINA_TEST_DICOMWEB_PYTHON`) against a running Carina: QIDO, WADO
//! (instance, study metadata, rendered) and STOW with the shared sample
//! DICOMs, every UID the de-identified one and no name of the originals.

use crate::dicomweb::ORIGINAL_NAMES;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PYTHON_VAR: &str = "CARINA_TEST_DICOMWEB_PYTHON";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dicomweb_client_package() {
    let Some(python) = carina_testkit::env_or_skip(PYTHON_VAR, "the dicomweb-client test") else {
        return;
    };
    run(Backend::Sqlite, move |app| client_session(app, python)).await;
}

async fn client_session(app: TestApp, python: String) {
    let (_, rad, _) = app.team().await;
    // Two samples arrive by upload, the third by the client's STOW-RS.
    for name in ["RG1_UNCR", "siim_cr_jpeg_baseline"] {
        let bytes = sample(&format!("dicom/{name}.dcm"));
        app.upload_ok(&rad, &format!("{name}.dcm"), bytes).await;
    }
    let r = app
        .req(Method::POST, "/api/v1/tokens", Some(&rad))
        .json(&json!({"name": "dicomweb-client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/dicomweb_client_check.py");
    let url = app.url("/dicom-web");
    let file = shared_dir().join("data/samples/dicom/RG1_J2KR.dcm");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(&script)
            .arg(url)
            .arg(file)
            .arg(ORIGINAL_NAMES.join(","))
            .env("CARINA_TOKEN", &token)
            .output()
    })
    .await
    .unwrap()
    .expect("run the dicomweb-client script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dicomweb-client failed:\n{stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert_eq!(report["studies"], 2, "{report}");
    assert_eq!(report["stored"], 1, "{report}");
    assert!(report["rendered_bytes"].as_u64().unwrap() > 1000);
    // The instance stored over STOW-RS is in the library.
    let (_, list) = app.get_json("/api/v1/images", &rad).await;
    assert_eq!(list["total"], 3);
}
