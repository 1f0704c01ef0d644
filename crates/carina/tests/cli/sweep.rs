//! Nothing lost, nothing orphaned after a crash: a real `carina serve` is
//! killed with SIGKILL in the middle of a large upload; after a restart (the
//! sweep runs at start) no unreferenced object and no temporary file older
//! than the grace is left, every row's objects exist, and the images serve.
//!
//! A request body is read into memory before anything is written, so a kill
//! while the body arrives leaves nothing; what a kill can leave is what lies
//! between the object write and the row's commit (complete objects no row
//! names) and a local put interrupted half-way (`key#N` staging file), plus
//! temporary folders. Those are laid out here exactly as such a kill leaves
//! them (written by the object store's own code), backdated past the grace,
//! beside an orphan younger than the grace, which must survive.

use crate::procs;
use bytes::Bytes;
use carina_store::{Database, ObjectStorage};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn backdate(path: &Path, by: Duration) {
    let t = SystemTime::now() - by;
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

/// Object keys referenced by rows, read from the database file.
async fn referenced(data: &Path) -> (Vec<(i64, String, String)>, Vec<String>) {
    let db = Database::connect(&format!("sqlite://{}", data.join("carina.db").display()))
        .await
        .unwrap();
    let Database::Sqlite(pool) = &db else {
        unreachable!()
    };
    let images: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, object_key, thumbnail_key FROM images ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let models: Vec<String> = sqlx::query_scalar("SELECT weights_key FROM models")
        .fetch_all(pool)
        .await
        .unwrap();
    db.close().await;
    (images, models)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_upload_leaves_nothing_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let objects_dir = data.join("objects");
    let env = [
        ("CARINA_PREDICT_ON_UPLOAD", "false"),
        // No job loop: nothing else writes to DATA_DIR/tmp while we look.
        ("CARINA_WORKER", "off"),
        ("CARINA_SWEEP_GRACE_SECS", "60"),
    ];
    let mut server = procs::serve(&data, &env, &dir.path().join("serve1.log"));
    let client = reqwest::Client::new();
    let token = procs::accounts(&client, &server.base, &["sweepadmin"])
        .await
        .remove(0);
    // Two images stored completely: their objects must survive.
    for seed in 0..2 {
        let r = procs::upload(
            &client,
            &server.base,
            &token,
            procs::png(seed, 96, 80),
            "Doe_John_chest.png",
        )
        .await;
        assert_eq!(r.status(), 201);
    }

    // A large upload from a slow client: 24 MiB in 256 KiB pieces, 150 ms
    // apart. After 4 MiB have gone out the server is killed; the rest of the
    // body needs 12 s more, so the kill lands mid-upload.
    let big = procs::png(7, 64, 64)
        .into_iter()
        .chain(std::iter::repeat_n(0u8, 24 << 20))
        .collect::<Vec<u8>>();
    let boundary = "carina-sweep-test-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Doe_John_big.png\"\r\nContent-Type: image/png\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let total = head.len() + big.len() + tail.len();
    let mut pieces: Vec<Bytes> = vec![Bytes::from(head)];
    pieces.extend(big.chunks(256 << 10).map(Bytes::copy_from_slice));
    pieces.push(Bytes::from(tail));
    let (sent_tx, sent_rx) = tokio::sync::oneshot::channel::<()>();
    let stream = futures_util::stream::unfold(
        (pieces.into_iter(), 0usize, Some(sent_tx)),
        |(mut it, sent, mut tx)| async move {
            let piece = it.next()?;
            if sent > 0 {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            let sent = sent + piece.len();
            if sent >= 4 << 20
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(());
            }
            Some((Ok::<_, std::io::Error>(piece), (it, sent, tx)))
        },
    );
    let slow = tokio::spawn({
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        async move {
            client
                .post(format!("{base}/api/v1/images"))
                .bearer_auth(token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("content-length", total)
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
        }
    });
    sent_rx.await.unwrap();
    server.kill9();
    let outcome = slow.await.unwrap();
    assert!(
        outcome.is_err(),
        "the upload was cut off by the kill, not answered: {:?}",
        outcome.map(|r| r.status())
    );
    let first_log = server.log_text();
    drop(server);

    // What a kill between an object write and its row's commit leaves, two
    // hours ago: a complete image and thumbnail no row names, a put cut off
    // half-way (`#N` staging file), a temporary folder; and one orphan
    // written just now (another process mid-upload), which must be kept.
    let store = ObjectStorage::local(&objects_dir).unwrap();
    let orphan_dir = "images/ab/ab12-00000000deadbeef";
    let young = "images/cd/cd34-00000000cafef00d/image.dcm";
    for key in [
        format!("{orphan_dir}/image.dcm"),
        format!("{orphan_dir}/thumbnail.png"),
        young.to_string(),
        "models/ef56-0000000000000001/model.safetensors".to_string(),
    ] {
        store
            .put(&key, Bytes::from(vec![1u8; 300_000]))
            .await
            .unwrap();
    }
    let staging = objects_dir.join("images/ab/ab12-00000000deadbeef/image.dcm#4242");
    std::fs::write(&staging, vec![2u8; 1_000_000]).unwrap();
    let tmp_folder = data.join("tmp/.tmpAbC123");
    std::fs::create_dir_all(&tmp_folder).unwrap();
    std::fs::write(tmp_folder.join("model.safetensors"), vec![3u8; 50_000]).unwrap();
    // A fine-tuning killed mid-run: image copies (go) beside its log (stays).
    let training = data.join("training/job-999");
    std::fs::create_dir_all(training.join("source")).unwrap();
    std::fs::write(training.join("source/000001.png"), vec![4u8; 7_000]).unwrap();
    std::fs::write(training.join("train.log"), "step 1\n").unwrap();
    let two_hours = Duration::from_secs(7200);
    for f in files_under(&objects_dir)
        .into_iter()
        .chain(files_under(&data.join("tmp")))
        .chain(files_under(&training))
    {
        if !f.ends_with(young) {
            backdate(&f, two_hours);
        }
    }

    // Restart: the sweep at start removes what is past the grace.
    let server = procs::serve(&data, &env, &dir.path().join("serve2.log"));
    let log = server.wait_log("sweep done", 1, Duration::from_secs(60));
    let (images, models) = referenced(&data).await;
    assert_eq!(images.len(), 2, "two images were stored completely");
    let mut live: HashSet<String> = models.iter().cloned().collect();
    for (id, file, thumb) in &images {
        live.insert(file.clone());
        live.insert(thumb.clone());
        // Every row's objects exist and serve.
        for path in ["file", "thumbnail"] {
            let r = client
                .get(format!("{}/api/v1/images/{id}/{path}", server.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "image {id} {path}");
        }
    }
    for key in &live {
        assert!(objects_dir.join(key).is_file(), "{key} was removed");
    }
    let left: Vec<String> = files_under(&objects_dir)
        .iter()
        .map(|p| {
            p.strip_prefix(&objects_dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|k| !live.contains(k))
        .collect();
    assert_eq!(
        left,
        vec![young.to_string()],
        "only the orphan younger than the grace is left"
    );
    assert!(!staging.exists(), "the staging file was removed");
    assert!(
        !training.join("source").exists(),
        "the training's image copies were removed"
    );
    assert!(
        training.join("train.log").is_file(),
        "the training's log stays"
    );
    assert_eq!(
        std::fs::read_dir(data.join("tmp")).unwrap().count(),
        0,
        "DATA_DIR/tmp is empty"
    );
    // The log names keys and sizes, never the upload's file name.
    assert!(
        log.contains(&format!("{orphan_dir}/image.dcm")) && log.contains("bytes=300000"),
        "{}",
        procs::tail(&log)
    );
    assert!(
        log.contains("objects_removed=3") && log.contains("temp_files_removed=3"),
        "{}",
        procs::tail(&log)
    );
    for text in [&log, &first_log] {
        assert!(!text.contains("Doe_John"), "{}", procs::tail(text));
    }
}
