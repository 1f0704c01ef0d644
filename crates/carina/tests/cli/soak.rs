//! The soak test of the deployment that outgrows one machine: two
//! `carina serve` and two `carina worker` processes on one PostgreSQL
//! database and one S3 bucket. 50 simulated editors (async tasks of this
//! process, not threads) save annotations with `If-Match` for 60 s while
//! images are uploaded with prediction on arrival, and one worker is killed
//! with SIGKILL in the middle of a job. Afterwards: every job done exactly
//! once (its killed job retried by the other worker after the lease), no
//! lost update, no orphan object. Needs `CARINA_TEST_DATABASE_URL` and
//! `CARINA_TEST_S3_ENDPOINT` (`scripts/test.sh` sets both); skipped, saying
//! so, without them.

use crate::procs::{self, Proc};
use carina_store::{ObjectStorage, REFERENCED_KEYS_SQL};
use carina_testkit::{
    DATABASE_URL_VAR, PgDatabase, S3_ENDPOINT_VAR, env_or_skip, get_json_bearer, unique_suffix,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EDITORS: usize = 50;
const LOAD: Duration = Duration::from_secs(60);
const SHARED_IMAGES: u64 = 8;
const LEASE_SECS: &str = "3";

#[derive(Default)]
struct Figures {
    saves: u64,
    conflicts: u64,
    other: Vec<String>,
    latencies_ms: Vec<f64>,
    /// (image id, version answered, the marker box sent).
    ok: Vec<(i64, i64, [f64; 4])>,
    uploads: u64,
}

/// One editor: read, change the one manual box it marks as its own, save
/// with `If-Match`, think, again, until `until`.
async fn editor(
    n: usize,
    client: reqwest::Client,
    bases: Vec<String>,
    token: String,
    images: Vec<i64>,
    until: Instant,
    figures: Arc<Mutex<Figures>>,
) {
    let mut seq: u64 = 0;
    while Instant::now() < until {
        seq += 1;
        let base = &bases[(n + seq as usize) % bases.len()];
        let image = images[(n * 7 + seq as usize * 3) % images.len()];
        let url = format!("{base}/api/v1/images/{image}/annotations");
        let Ok(r) = client.get(&url).bearer_auth(&token).send().await else {
            figures.lock().unwrap().other.push("GET failed".into());
            continue;
        };
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let state: Value = r.json().await.unwrap();
        // Keep every box as it is (model boxes cannot be deleted), drop the
        // manual ones, add one whose coordinates say who saved it and when.
        let mut boxes: Vec<Value> = state["boxes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["status"] != "manual")
            .map(|b| json!({"id": b["id"], "class_id": b["class_id"], "bbox": b["bbox"], "status": b["status"]}))
            .collect();
        let x0 = n as f64;
        let y0 = (seq % 60) as f64;
        let marker = [x0, y0, x0 + 1.0 + ((seq / 60) % 40) as f64, 75.0];
        boxes.push(json!({"class_id": (n % 9) as i64, "bbox": marker, "status": "manual"}));
        let started = Instant::now();
        let r = client
            .put(&url)
            .bearer_auth(&token)
            .header("if-match", &etag)
            .json(&json!({"no_finding": false, "boxes": boxes}))
            .send()
            .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        {
            let mut f = figures.lock().unwrap();
            f.latencies_ms.push(ms);
            match r {
                Ok(r) if r.status() == 200 => {
                    f.saves += 1;
                    let v: i64 = r.headers()["etag"]
                        .to_str()
                        .unwrap()
                        .trim_matches('"')
                        .parse()
                        .unwrap();
                    f.ok.push((image, v, marker));
                }
                Ok(r) if r.status() == 409 => f.conflicts += 1,
                Ok(r) => f.other.push(format!("PUT {}", r.status())),
                Err(e) => f.other.push(format!("PUT: {e}")),
            }
        }
        let think = 150 + (n as u64 * 37 + seq * 53) % 300;
        tokio::time::sleep(Duration::from_millis(think)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_two_workers_fifty_editors_one_worker_killed() {
    let (Some(pg), Some(s3)) = (
        env_or_skip(DATABASE_URL_VAR, "the soak test"),
        env_or_skip(S3_ENDPOINT_VAR, "the soak test"),
    ) else {
        return;
    };
    let s3 = s3.trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    // A database and a bucket of our own.
    let name = format!("carina_soak_{}", unique_suffix());
    let db = PgDatabase::create(&pg, &name).await;
    let db_url = db.url.clone();
    let r = client.put(format!("{s3}/{name}")).send().await.unwrap();
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    let bucket_url = format!("s3://{name}");
    let env = [
        ("CARINA_DATABASE_URL", db_url.as_str()),
        ("CARINA_OBJECT_STORE_URL", bucket_url.as_str()),
        ("AWS_ENDPOINT_URL", s3.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("CARINA_WORKER", "off"),
        ("CARINA_PREDICT_ON_UPLOAD", "true"),
        ("CARINA_JOB_LEASE_SECS", LEASE_SECS),
        ("CARINA_WORKER_POLL_MS", "200"),
        ("CARINA_JOB_RETRY_BASE_MS", "500"),
        // Sweeps at start and once more under load, with a grace far longer
        // than an upload: they must not remove anything live.
        ("CARINA_SWEEP_MINUTES", "1"),
        ("CARINA_SWEEP_GRACE_SECS", "20"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    // The first server registers the bundled model; then the others start.
    let serve1 = procs::serve(&p("s1"), &env, &p("serve1.log"));
    let serve2 = procs::serve(&p("s2"), &env, &p("serve2.log"));
    let mut worker1 = procs::worker(&p("w1"), &env, &p("worker1.log"));
    let worker2 = procs::worker(&p("w2"), &env, &p("worker2.log"));
    let bases = vec![serve1.base.clone(), serve2.base.clone()];
    let names: Vec<String> = (0..6).map(|i| format!("soak{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let tokens = procs::accounts(&client, &bases[0], &names).await;

    let mut shared = Vec::new();
    for seed in 0..SHARED_IMAGES {
        let r = procs::upload(
            &client,
            &bases[seed as usize % 2],
            &tokens[0],
            procs::png(seed, 96, 80),
            "s.png",
        )
        .await;
        assert_eq!(r.status(), 201);
        let img: Value = r.json().await.unwrap();
        shared.push(img["id"].as_i64().unwrap());
    }

    let figures = Arc::new(Mutex::new(Figures::default()));
    let until = Instant::now() + LOAD;
    let mut tasks = Vec::new();
    for n in 0..EDITORS {
        tasks.push(tokio::spawn(editor(
            n,
            client.clone(),
            bases.clone(),
            tokens[1 + n % (tokens.len() - 1)].clone(),
            shared.clone(),
            until,
            figures.clone(),
        )));
    }
    // Uploads with prediction on arrival, one every 1.5 s, both servers.
    tasks.push(tokio::spawn({
        let (client, bases, token, figures) = (
            client.clone(),
            bases.clone(),
            tokens[0].clone(),
            figures.clone(),
        );
        async move {
            let mut seed = 1000;
            while Instant::now() < until {
                seed += 1;
                let r = procs::upload(
                    &client,
                    &bases[seed as usize % 2],
                    &token,
                    procs::png(seed, 96, 80),
                    "u.png",
                )
                .await;
                {
                    let mut f = figures.lock().unwrap();
                    match r.status().as_u16() {
                        201 => f.uploads += 1,
                        s => f.other.push(format!("upload {s}")),
                    }
                }
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        }
    }));

    // Kill worker 1 while it holds a job.
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let w1 = format!("worker-{}-%", worker1.child.id());
    let kill_deadline = Instant::now() + LOAD - Duration::from_secs(10);
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND locked_by LIKE $1",
        )
        .bind(&w1)
        .fetch_one(&pool)
        .await
        .unwrap();
        if held > 0 {
            worker1.kill9();
            break;
        }
        assert!(
            Instant::now() < kill_deadline,
            "worker 1 never ran a job:\n{}",
            procs::tail(&worker1.log_text())
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // What it held when it died: those jobs must be retried by worker 2.
    let orphaned: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM jobs WHERE status = 'running' AND locked_by LIKE $1")
            .bind(&w1)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        !orphaned.is_empty(),
        "the kill landed after the job finished; nothing to retry"
    );

    for t in tasks {
        t.await.unwrap();
    }
    // Let the queue drain.
    let drain = Instant::now();
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                .fetch_one(&pool)
                .await
                .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            drain.elapsed() < Duration::from_secs(240),
            "{open} jobs still open after 240 s:\n{}",
            procs::tail(&worker2.log_text())
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every job done exactly once.
    let jobs: Vec<JobRow> = sqlx::query_as(
        "SELECT id, image_id, status, attempts, last_error FROM jobs WHERE kind = 'predict' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let f = std::mem::take(&mut *figures.lock().unwrap());
    assert_eq!(
        jobs.len() as u64,
        SHARED_IMAGES + f.uploads,
        "one predict job per new image"
    );
    for (id, _, status, _, err) in &jobs {
        assert_eq!(status, "done", "job {id}: {err:?}");
    }
    let retried = jobs.iter().filter(|j| j.3 > 1).count();
    for id in &orphaned {
        let j = jobs.iter().find(|j| j.0 == *id).unwrap();
        assert!(j.3 >= 2, "the killed worker's job {id} was retried: {j:?}");
    }
    let per_image: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT i.id, (SELECT COUNT(*) FROM predictions p WHERE p.image_id = i.id), \
         (SELECT COUNT(*) FROM annotation_history h WHERE h.image_id = i.id AND h.action = 'predict') \
         FROM images i",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (image, preds, runs) in &per_image {
        assert_eq!(
            (*preds, *runs),
            (1, 1),
            "image {image}: predictions rows, predict history entries"
        );
    }

    // No lost update: every 200 is in the history with what it saved, the
    // versions of an image go up by one, and no version was answered twice.
    assert!(
        f.other.is_empty(),
        "unexpected answers: {:?}",
        &f.other[..f.other.len().min(20)]
    );
    let mut answered: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (image, v, _) in &f.ok {
        assert!(
            answered.entry(*image).or_default().insert(*v),
            "version {v} of image {image} answered twice"
        );
    }
    for image in &shared {
        let url = format!("{}/api/v1/images/{image}/history", bases[0]);
        let h = get_json_bearer(&client, &url, &tokens[0]).await;
        let entries = h["entries"].as_array().unwrap();
        let mut by_version: HashMap<i64, &Value> = HashMap::new();
        let mut last = 0;
        for e in entries {
            let v = e["version"].as_i64().unwrap();
            assert_eq!(v, last + 1, "image {image}: versions go up by one");
            last = v;
            by_version.insert(v, e);
        }
        for (_, v, marker) in f.ok.iter().filter(|o| o.0 == *image) {
            let e = by_version
                .get(v)
                .unwrap_or_else(|| panic!("image {image} v{v} is not in the history"));
            assert_eq!(e["action"], "save");
            let has = e["after"]["boxes"].as_array().unwrap().iter().any(|b| {
                b["status"] == "manual"
                    && b["bbox"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .eq(marker.iter().copied())
            });
            assert!(has, "image {image} v{v}: the saved box is in the history");
        }
    }

    // No orphan: the bucket holds exactly the objects rows reference, and
    // every one of them.
    let referenced: HashSet<String> = sqlx::query_scalar::<_, String>(REFERENCED_KEYS_SQL)
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let options = [
        ("aws_endpoint", s3.as_str()),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
        ("aws_region", "us-east-1"),
    ];
    let bucket = ObjectStorage::from_url_with(&bucket_url, options).unwrap();
    let mut stored = HashSet::new();
    for prefix in carina_store::SWEPT_PREFIXES {
        stored.extend(bucket.list(prefix).await.unwrap());
    }
    let orphans: Vec<_> = stored.difference(&referenced).collect();
    let missing: Vec<_> = referenced.difference(&stored).collect();
    assert!(
        orphans.is_empty() && missing.is_empty(),
        "orphans {orphans:?}, missing {missing:?}"
    );
    let sweeps: usize = [&serve1, &serve2, &worker2]
        .iter()
        .map(|p: &&Proc| p.log_text().matches("sweep done").count())
        .sum();

    let mut lat = f.latencies_ms.clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "soak: {} editors × {} s on 2 servers + 2 workers: {} saves (200), {} conflicts (409), \
         {} requests, save latency p50 {:.1} ms p99 {:.1} ms; {} uploads, {} predict jobs, {} retried \
         (killed worker held {:?}); {} objects, no orphan; {} sweeps ran",
        EDITORS,
        LOAD.as_secs(),
        f.saves,
        f.conflicts,
        2 * lat.len() as u64 + f.uploads,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        f.uploads,
        jobs.len(),
        retried,
        orphaned,
        stored.len(),
        sweeps,
    );
    assert!(
        f.saves > 0 && f.conflicts > 0,
        "the load made saves and conflicts"
    );

    drop((serve1, serve2, worker1, worker2));
    pool.close().await;
    db.drop().await;
}

/// id, image_id, status, attempts, last_error of a `jobs` row.
type JobRow = (i64, Option<i64>, String, i64, Option<String>);
