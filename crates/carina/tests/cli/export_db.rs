//! `carina dataset export --from-db`: a workbench database made by the
//! server's own code path (uploads and saves over HTTP, model proposals as
//! the worker adds them), exported as COCO, VinDr CSV and YOLO with images,
//! on SQLite and, when CARINA_TEST_DATABASE_URL is set, on PostgreSQL.

use crate::shared_dir;
use carina_core::BBox;
use carina_server::{Application, Config, Secret};
use carina_store::ModelBox;
use carina_testkit::{DATABASE_URL_VAR, PgDatabase, env_or_skip, unique_suffix};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `carina` with `args`, the database URL (PostgreSQL) or none (SQLite).
pub(crate) async fn carina_env(args: Vec<String>, db_url: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_carina"));
        c.args(&args)
            .env_remove("CARINA_DATABASE_URL")
            .env_remove("CARINA_OBJECT_STORE_URL")
            .env_remove("CARINA_DATA_DIR");
        if let Some(u) = db_url {
            c.env("CARINA_DATABASE_URL", u);
        }
        c.output().expect("run carina")
    })
    .await
    .unwrap()
}

pub(crate) fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([((x * 5 + y * 3) as u8).wrapping_add(seed)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub(crate) struct Client {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Client {
    pub(crate) async fn new(base: String) -> Self {
        let http = reqwest::Client::new();
        let creds = json!({"username": "rad", "password": "password-for-rad"});
        let r = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("carina_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
            .unwrap();
        let body: Value = r.json().await.unwrap();
        Self {
            base,
            http,
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    pub(crate) fn req(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(m, format!("{}{path}", self.base))
            .header("Cookie", format!("carina_session={}", self.cookie))
            .header("X-CSRF-Token", &self.csrf)
    }

    pub(crate) async fn upload(&self, name: &str, bytes: Vec<u8>) -> Value {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        let r = self
            .req(reqwest::Method::POST, "/api/v1/images")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    pub(crate) async fn annotations(&self, id: i64) -> Value {
        let r = self
            .req(
                reqwest::Method::GET,
                &format!("/api/v1/images/{id}/annotations"),
            )
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    pub(crate) async fn save(&self, id: i64, version: i64, body: Value) {
        let r = self
            .req(
                reqwest::Method::PUT,
                &format!("/api/v1/images/{id}/annotations"),
            )
            .header("If-Match", format!("\"{version}\""))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_eq!(status, StatusCode::OK, "{}", r.text().await.unwrap());
    }
}

pub(crate) fn rows(path: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

pub(crate) fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Builds the workbench through the server, then exports it.
async fn export_round(data_dir: PathBuf, db_url: Option<String>) {
    let mut config = Config {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.clone(),
        // The test adds model proposals itself; no background predictions.
        predict_on_upload: false,
        bundled_model: false,
        ..Config::default()
    };
    config.database_url = db_url.clone().map(Secret::new);
    let app = Application::build(config).await.expect("build the app");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    let c = Client::new(base).await;

    let a = c.upload("a.png", png(200, 100, 1)).await;
    let b = c.upload("b.png", png(120, 160, 2)).await;
    let dcm =
        std::fs::read(shared_dir().join("data/samples/dicom/siim_cr_jpeg_baseline.dcm")).unwrap();
    let d = c.upload("d.dcm", dcm).await;
    let (ia, ib, id) = (
        a["id"].as_i64().unwrap(),
        b["id"].as_i64().unwrap(),
        d["id"].as_i64().unwrap(),
    );
    let (dw, dh) = (d["width"].as_f64().unwrap(), d["height"].as_f64().unwrap());
    // Model proposals on a, as the prediction worker stores them.
    state
        .store
        .db
        .add_model_boxes(
            ia,
            0,
            "effdet",
            "7",
            &[
                (1, [10.0, 10.0, 60.0, 50.0], 0.9),
                (8, [100.0, 10.0, 150.0, 90.0], 0.4),
            ]
            .map(|(class_id, b, score)| ModelBox {
                class_id,
                bbox: BBox::try_from(b).unwrap(),
                score,
            }),
            "rad",
        )
        .await
        .unwrap();
    let ann = c.annotations(ia).await;
    let mut moved = ann["boxes"][0].clone();
    moved["bbox"] = json!([12, 12, 62, 52]);
    moved["status"] = json!("accepted");
    let mut rejected = ann["boxes"][1].clone();
    rejected["status"] = json!("rejected");
    let manual = json!({"class_id": 4, "bbox": [20, 30, 40, 70], "status": "manual"});
    c.save(ia, 1, json!({"boxes": [moved, rejected, manual]}))
        .await;
    c.save(ib, 0, json!({"no_finding": true, "boxes": []}))
        .await;
    c.save(
        id,
        0,
        json!({"boxes": [{"class_id": 1, "bbox": [dw * 0.25, dh * 0.5, dw * 0.75, dh * 0.9], "status": "manual"}]}),
    )
    .await;

    // The SIIM file is a secondary capture that does not say whether text is
    // burned into its pixels: flagged, and left out until an admin confirms
    // (`rad`, the first account, is the admin).
    assert_eq!(d["burned_in_annotation"], "unknown");
    let held = state
        .store
        .db
        .export_annotations(&carina_store::ExportFilter::default())
        .await
        .unwrap();
    assert_eq!(held.iter().map(|i| i.id).collect::<Vec<_>>(), vec![ia, ib]);
    let r = c
        .req(
            reqwest::Method::POST,
            &format!("/api/v1/images/{id}/burned-in/confirm"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let out = tempfile::tempdir().unwrap();
    let dd = data_dir.display().to_string();
    let export = |fmt: &str, o: &Path, extra: &[&str]| {
        let mut v: Vec<String> = [
            "dataset",
            "export",
            "--from-db",
            "--data-dir",
            &dd,
            "--format",
            fmt,
            "-o",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(o.display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        carina_env(v, db_url.clone())
    };

    // COCO, confirmed boxes (the default), with 8-bit PNGs.
    let coco_path = out.path().join("coco/train.json");
    std::fs::create_dir_all(coco_path.parent().unwrap()).unwrap();
    let stdout = ok(&export("coco", &coco_path, &["--images", "png"]).await);
    assert!(stdout.contains("exported 3 images, 3 boxes"), "{stdout}");
    let coco: Value = serde_json::from_slice(&std::fs::read(&coco_path).unwrap()).unwrap();
    let imgs = coco["images"].as_array().unwrap();
    assert_eq!(imgs.len(), 3);
    for (im, up) in imgs.iter().zip([&a, &b, &d]) {
        assert_eq!(im["source"], up["id"].to_string());
        assert_eq!(im["width"], up["width"]);
        assert_eq!(im["height"], up["height"]);
        let file = coco_path
            .parent()
            .unwrap()
            .join(im["file_name"].as_str().unwrap());
        let png = image::open(&file).unwrap();
        assert_eq!(
            (png.width(), png.height()),
            (
                up["width"].as_u64().unwrap() as u32,
                up["height"].as_u64().unwrap() as u32
            )
        );
    }
    let anns = coco["annotations"].as_array().unwrap();
    let got: Vec<(i64, i64, Value, String)> = anns
        .iter()
        .map(|x| {
            (
                x["image_id"].as_i64().unwrap(),
                x["category_id"].as_i64().unwrap(),
                x["bbox"].clone(),
                x["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 1, json!([12.0, 12.0, 50.0, 40.0]), "edited".to_string()),
            (1, 4, json!([20.0, 30.0, 20.0, 40.0]), "manual".to_string()),
            (
                3,
                1,
                json!([
                    dw * 0.25,
                    dh * 0.5,
                    dw * 0.75 - dw * 0.25,
                    dh * 0.9 - dh * 0.5
                ]),
                "manual".to_string()
            ),
        ]
    );
    assert_eq!(
        anns[0]["provenance"],
        json!({"kind": "model", "model": "effdet", "version": "7"})
    );
    assert_eq!(anns[0]["score"], 0.9);

    // VinDr CSV, radiologists only: b's "No finding" survives as a row.
    let csv_path = out.path().join("vindr.csv");
    ok(&export("vindr", &csv_path, &["--source", "radiologist"]).await);
    let r = rows(&csv_path);
    let (sa, sb, sd) = (ia.to_string(), ib.to_string(), id.to_string());
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(
        r[0][..8],
        [&sa, "Nodule/Mass", "4", "rad", "20", "30", "40", "70"]
    );
    assert_eq!(r[1][..4], [&sb, "No finding", "14", "rad"]);
    assert_eq!(r[2][..4], [&sd, "Cardiomegaly", "1", "rad"]);

    // YOLO, model boxes of any status, with DICOM files as stored.
    let yolo = out.path().join("yolo");
    ok(&export(
        "yolo",
        &yolo,
        &["--source", "model", "--status", "any", "--images", "dicom"],
    )
    .await);
    let t = std::fs::read_to_string(yolo.join(format!("{ia}.txt"))).unwrap();
    assert_eq!(
        t,
        "1 0.185000 0.320000 0.250000 0.400000\n8 0.625000 0.500000 0.250000 0.800000\n"
    );
    assert_eq!(
        std::fs::read_to_string(yolo.join(format!("{ib}.txt"))).unwrap(),
        ""
    );
    let classes = std::fs::read_to_string(yolo.join("classes.txt")).unwrap();
    assert_eq!(classes.lines().count(), 9);
    let stored = state.store.db.image(id).await.unwrap().unwrap();
    let served = state.store.image_file(&stored).await.unwrap();
    assert_eq!(
        std::fs::read(yolo.join("images").join(format!("{id}.dcm"))).unwrap(),
        served.to_vec()
    );

    // Every export so far is in the audit log (format and counts only).
    let exports = state
        .store
        .db
        .audit(&carina_store::AuditQuery {
            kind: Some("export".into()),
            page: 1,
            per_page: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let ok_runs = exports.1;
    assert!(ok_runs >= 3, "{exports:?}");
    let first = &exports.0[ok_runs as usize - 1];
    assert_eq!(first.detail["format"], "coco");
    assert_eq!(first.detail["images"], 3);
    assert_eq!(first.detail["via"], "cli");

    // Bad arguments: an unknown status; a data directory without a database.
    let o = export("coco", &out.path().join("x.json"), &["--status", "maybe"]).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("maybe"));
    // A refused export is not recorded as one.
    let after = state
        .store
        .db
        .audit(&carina_store::AuditQuery {
            kind: Some("export".into()),
            page: 1,
            per_page: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .1;
    assert_eq!(after, ok_runs);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_sqlite_workbench() {
    let dir = tempfile::tempdir().unwrap();
    export_round(dir.path().join("data"), None).await;
    let empty = tempfile::tempdir().unwrap();
    let o = carina_env(
        vec![
            "dataset".into(),
            "export".into(),
            "--from-db".into(),
            "--data-dir".into(),
            empty.path().display().to_string(),
            "--format".into(),
            "coco".into(),
            "-o".into(),
            empty.path().join("x.json").display().to_string(),
        ],
        None,
    )
    .await;
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("no workbench database"), "{e}");
    assert!(
        !empty.path().join("carina.db").exists(),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_postgres_workbench() {
    let Some(admin) = env_or_skip(DATABASE_URL_VAR, "the PostgreSQL export test") else {
        return;
    };
    let name = format!("carina_export_{}", unique_suffix());
    let db = PgDatabase::create(&admin, &name).await;
    let dir = tempfile::tempdir().unwrap();
    let result = tokio::spawn(export_round(dir.path().join("data"), Some(db.url.clone()))).await;
    db.drop().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
