//! `carina ingest DIR`: a folder of real DICOM files (the shared samples:
//! uncompressed, JPEG 2000, JPEG baseline), PNGs, a DICOMDIR (made by
//! dcmtk's `dcmmkdir` where installed, and by dicom-rs), a broken file and a
//! text file, into a local store and into a running `carina serve`; run
//! twice; interrupted (SIGINT, SIGKILL) and run again.

use crate::procs;
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `carina ingest ARGS` with no CARINA_* variables from the caller's environment.
fn ingest_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carina"));
    cmd.arg("ingest").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CARINA_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CARINA_LOG", "warn").env("NO_COLOR", "1");
    cmd
}

fn ingest(args: &[&str]) -> Output {
    ingest_command(args).output().expect("run carina ingest")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The number after `label` in the summary.
fn count(o: &Output, label: &str) -> usize {
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in the summary:\n{}", text(o)))
}

fn sample(name: &str) -> PathBuf {
    crate::shared_dir().join("data/samples").join(name)
}

/// A DICOMDIR listing `ids` (Referenced File IDs, `\`-separated) as IMAGE records.
pub fn write_dicomdir(path: &Path, ids: &[&str]) {
    let records = ids
        .iter()
        .map(|id| {
            let parts: Vec<String> = id.split('\\').map(String::from).collect();
            InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::DIRECTORY_RECORD_TYPE,
                    VR::CS,
                    PrimitiveValue::from("IMAGE"),
                ),
                DataElement::new(
                    tags::REFERENCED_FILE_ID,
                    VR::CS,
                    PrimitiveValue::Strs(parts.into()),
                ),
            ])
        })
        .collect::<Vec<_>>();
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::DIRECTORY_RECORD_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(records, Length::UNDEFINED),
    ));
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .media_storage_sop_class_uid(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
            .media_storage_sop_instance_uid("1.2.826.0.1.3680043.10.1234.1"),
    )
    .unwrap()
    .write_to_file(path)
    .unwrap();
}

fn dcmmkdir_available() -> bool {
    Command::new("dcmmkdir")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The mixed folder; returns how many distinct images it holds.
fn mixed_folder(root: &Path) -> usize {
    let dicom = root.join("dicom");
    std::fs::create_dir_all(&dicom).unwrap();
    for f in ["RG1_UNCR.dcm", "RG1_J2KI.dcm", "siim_cr_jpeg_baseline.dcm"] {
        std::fs::copy(sample(&format!("dicom/{f}")), dicom.join(f)).unwrap();
    }
    let png = root.join("png/nested");
    std::fs::create_dir_all(&png).unwrap();
    std::fs::copy(sample("png/00000001_000.png"), png.join("nih.png")).unwrap();
    std::fs::write(png.join("made.png"), procs::png(1, 96, 80)).unwrap();
    // A DICOMDIR folder: the listed image is used, the unlisted file skipped.
    let media = root.join("media");
    std::fs::create_dir_all(media.join("DICOM/ST1")).unwrap();
    std::fs::copy(
        sample("dicom/siim_cr_monochrome1.dcm"),
        media.join("DICOM/ST1/IM1"),
    )
    .unwrap();
    if dcmmkdir_available() {
        let out = Command::new("dcmmkdir")
            .current_dir(&media)
            .args(["-Pbd", "+I", "+r", "DICOM"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dcmmkdir: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "dcmmkdir (dcmtk) is missing under CI"
        );
        eprintln!("note: dcmmkdir not installed; the DICOMDIR is written with dicom-rs");
        write_dicomdir(&media.join("DICOMDIR"), &["DICOM\\ST1\\IM1"]);
    }
    std::fs::write(media.join("DICOM/ST1/EXTRA"), procs::png(2, 64, 64)).unwrap();
    // A PNG signature and nothing sensible after it; a text file.
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    broken.extend_from_slice(&[7u8; 300]);
    std::fs::write(root.join("broken.png"), broken).unwrap();
    std::fs::write(root.join("notes.txt"), "patient list? no: just notes\n").unwrap();
    6
}

async fn sqlite(data: &Path) -> carina_store::Database {
    carina_store::Database::connect(&format!("sqlite://{}", data.join("carina.db").display()))
        .await
        .unwrap()
}

async fn scalar(db: &carina_store::Database, sql: &str) -> i64 {
    let carina_store::Database::Sqlite(pool) = db else {
        unreachable!()
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_folder_is_ingested_once_with_its_refusals_listed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let images = mixed_folder(&input);
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let first = ingest(&[
        input.to_str().unwrap(),
        "--data-dir",
        data_s,
        "--no-predict",
    ]);
    assert_eq!(
        first.status.code(),
        Some(3),
        "refused files: exit 3\n{}",
        text(&first)
    );
    assert_eq!(count(&first, "stored"), images, "{}", text(&first));
    assert_eq!(count(&first, "already there"), 0);
    assert_eq!(count(&first, "refused"), 1);
    assert_eq!(count(&first, "skipped"), 2, "{}", text(&first));
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(out.contains("not DICOM, PNG or JPEG"), "{out}");
    assert!(out.contains("not listed in the folder's DICOMDIR"), "{out}");
    let table = out
        .split("refused files:")
        .nth(1)
        .expect("a table of refused files");
    assert!(table.contains("broken.png"), "{table}");
    assert_eq!(
        table.lines().filter(|l| !l.trim().is_empty()).count(),
        2,
        "{table}"
    );

    let again = ingest(&[
        input.to_str().unwrap(),
        "--data-dir",
        data_s,
        "--no-predict",
    ]);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert_eq!(count(&again, "stored"), 0, "{}", text(&again));
    assert_eq!(count(&again, "already there"), images);

    let db = sqlite(&data).await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM images").await,
        images as i64
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT sha256) FROM images").await,
        images as i64
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM images WHERE created_by = 'ingest'"
        )
        .await,
        images as i64
    );
    // The DICOMs were de-identified like uploads: no pseudonym-less DICOM rows.
    let dicoms = scalar(&db, "SELECT COUNT(*) FROM images WHERE format = 'dicom'").await;
    assert_eq!(dicoms, 4);
    // --no-predict: no prediction queued though the bundled model is deployed.
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM jobs").await, 0);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prediction_on_arrival_is_queued_unless_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for seed in 0..3 {
        std::fs::write(input.join(format!("{seed}.png")), procs::png(seed, 64, 64)).unwrap();
    }
    let data = dir.path().join("data");
    let out = ingest(&[
        input.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let db = sqlite(&data).await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM jobs WHERE kind = 'predict'").await,
        3
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_dicomdirs_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    // One DICOMDIR with a good entry, an escape by `..` and a missing file.
    let a = input.join("a");
    std::fs::create_dir_all(a.join("IMG")).unwrap();
    std::fs::write(a.join("IMG/IM1"), procs::png(3, 64, 64)).unwrap();
    std::fs::write(dir.path().join("SECRET"), procs::png(4, 64, 64)).unwrap();
    write_dicomdir(
        &a.join("DICOMDIR"),
        &["IMG\\IM1", "..\\..\\SECRET", "IMG\\IM9"],
    );
    // A "DICOMDIR" that is not one: refused, its folder walked by content.
    let b = input.join("b");
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(b.join("DICOMDIR"), "not a directory\n").unwrap();
    std::fs::write(b.join("x.png"), procs::png(5, 64, 64)).unwrap();
    let data = dir.path().join("data");
    let out = ingest(&[
        input.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--no-predict",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(count(&out, "stored"), 2, "{}", text(&out));
    assert_eq!(count(&out, "refused"), 3, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("..\\..\\SECRET") && stdout.contains("not a plain file name"),
        "{stdout}"
    );
    assert!(
        stdout.contains("IMG\\IM9") && stdout.contains("missing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not a DICOM file") && stdout.contains("walked by content"),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_get_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["/no/such/folder"], "no such folder"),
        (
            &[
                d,
                "--server",
                "http://127.0.0.1:9",
                "--token",
                "t",
                "--data-dir",
                d,
            ],
            "not both",
        ),
        (&[d, "--server", "http://127.0.0.1:9"], "needs --token"),
        (&[d, "--server", "not a url", "--token", "t"], "not a URL"),
        (&[d, "--jobs", "0"], "--jobs must be at least 1"),
    ];
    for (args, want) in cases {
        let out = ingest(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_gets_the_files_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let images = mixed_folder(&input);
    let data = dir.path().join("data");
    let env = [
        ("CARINA_PREDICT_ON_UPLOAD", "false"),
        ("CARINA_WORKER", "off"),
    ];
    let server = procs::serve(&data, &env, &dir.path().join("serve.log"));
    let client = reqwest::Client::new();
    let token = procs::accounts(&client, &server.base, &["ingester"])
        .await
        .remove(0);
    let args = [
        input.to_str().unwrap(),
        "--server",
        server.base.as_str(),
        "--token",
        token.as_str(),
    ];
    let first = ingest(&args);
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    assert_eq!(count(&first, "stored"), images, "{}", text(&first));
    assert_eq!(count(&first, "refused"), 1);
    let table = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        table.contains("broken.png") && table.contains("422"),
        "{table}"
    );
    let again = ingest(&args);
    assert_eq!(count(&again, "stored"), 0, "{}", text(&again));
    assert_eq!(count(&again, "already there"), images);
    let list: serde_json::Value = client
        .get(format!("{}/api/v1/images", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], images);
    // A wrong token: the server's 401, reported, nothing sent.
    let bad = ingest(&[
        input.to_str().unwrap(),
        "--server",
        &server.base,
        "--token",
        "wrong",
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("401"),
        "{}",
        text(&bad)
    );
}

/// Waits until the store holds at least `n` images. Read-only, without
/// migrating: the `carina ingest` being watched may still be creating it.
async fn wait_images(data: &Path, n: i64, timeout: Duration) -> i64 {
    let url = format!("sqlite://{}?mode=ro", data.join("carina.db").display());
    let start = Instant::now();
    loop {
        if let Ok(pool) = sqlx::SqlitePool::connect(&url).await {
            let have: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM images")
                .fetch_one(&pool)
                .await;
            pool.close().await;
            if let Ok(have) = have
                && have >= n
            {
                return have;
            }
        }
        assert!(
            start.elapsed() < timeout,
            "fewer than {n} images after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_ingest_resumes_and_stores_every_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let total = 150;
    for seed in 0..total {
        std::fs::write(
            input.join(format!("{seed:03}.png")),
            procs::png(seed, 160, 160),
        )
        .unwrap();
    }
    let data = dir.path().join("data");
    let args = [
        input.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--no-predict",
        "--jobs",
        "1",
    ];
    // Ctrl-C (SIGINT): the files in flight finish, the summary says so, exit 130.
    let child = ingest_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_images(&data, 5, Duration::from_secs(120)).await;
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("interrupted"),
        "{}",
        text(&out)
    );
    let after_int = count(&out, "stored");
    assert!(
        after_int < total as usize,
        "the run was cut short: {}",
        text(&out)
    );
    // SIGKILL in a second run: no summary, whatever was committed stays.
    let mut child = ingest_command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_images(&data, after_int as i64 + 5, Duration::from_secs(120)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // The third run finishes: every file is stored exactly once.
    let last = ingest(&args);
    assert_eq!(last.status.code(), Some(0), "{}", text(&last));
    assert_eq!(
        count(&last, "stored") + count(&last, "already there"),
        total as usize
    );
    assert!(
        count(&last, "already there") >= after_int + 5,
        "{}",
        text(&last)
    );
    let db = sqlite(&data).await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM images").await,
        total as i64
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT sha256) FROM images").await,
        total as i64
    );
    db.close().await;
}
