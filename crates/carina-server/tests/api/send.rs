//! `POST /images/{id}/send`: a send job C-STOREs the SR of the reviewed
//! boxes and/or the image to a real SCP (carina-net's, on loopback), the
//! outcome shows on the job and the image; unknown destinations are 422, an
//! unreachable peer fails the job after its retries; `GET /dicom/peers`.

use crate::helpers::*;
use carina_net::{ReceivedInstance, Refusal, Scp, ScpConfig, StoreHandler};
use carina_server::dicom::peers::DicomPeers;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Pacs(Mutex<Vec<(String, ReceivedInstance)>>);

impl StoreHandler for Pacs {
    async fn store(&self, calling_ae: &str, instance: ReceivedInstance) -> Result<(), Refusal> {
        self.0
            .lock()
            .unwrap()
            .push((calling_ae.to_string(), instance));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    send_jobs(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    send_jobs(Backend::Postgres).await
}

async fn send_jobs(backend: Backend) {
    let scp = Scp::bind("127.0.0.1:0", ScpConfig::new("PACS"))
        .await
        .unwrap();
    let port = scp.local_addr().port();
    let pacs = Arc::new(Pacs::default());
    tokio::spawn(scp.run(pacs.clone(), std::future::pending()));
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let peers = format!("PACS@127.0.0.1:{port}, DOWN@127.0.0.1:{dead}, CALLER");
    let tweak = move |c: &mut carina_server::Config| {
        c.dicom_peers = DicomPeers::parse(&peers).unwrap();
        c.dicom_ae = "CARINA-TEST".into();
        c.job_max_attempts = 2;
    };
    run_with(backend, tweak, move |app| scenario(app, pacs)).await
}

async fn scenario(app: TestApp, pacs: Arc<Pacs>) {
    let (_admin, rad, viewer) = app.team().await;
    let image = app
        .upload_ok(&rad, "cr.dcm", sample("dicom/siim_cr_jpeg_baseline.dcm"))
        .await;
    let id = image["id"].as_i64().unwrap();
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/annotations"),
            Some(&rad),
        )
        .header("If-Match", "0")
        .json(&json!({"boxes": [{"class_id": 0, "bbox": [10.5, 20.0, 110.25, 70.0]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    peers_listed(&app, &rad, &viewer).await;
    sr_and_image_arrive(&app, &rad, id, &pacs).await;
    refusals(&app, &rad, &viewer, id).await;
    down_peer_fails_after_retries(&app, &rad, id, &pacs).await;
}

/// `GET /dicom/peers`: the peers with an address, by AE title only.
async fn peers_listed(app: &TestApp, rad: &Session, viewer: &Session) {
    let (status, peers) = app.get_json("/api/v1/dicom/peers", rad).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        peers,
        json!({"peers": [{"ae_title": "PACS"}, {"ae_title": "DOWN"}], "send_on_sign": null})
    );
    let (status, _) = app.get_json("/api/v1/dicom/peers", viewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn send<'a>(
    app: &'a TestApp,
    id: i64,
    body: Value,
    who: &'a Session,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + 'a {
    app.req(
        Method::POST,
        &format!("/api/v1/images/{id}/send"),
        Some(who),
    )
    .json(&body)
    .send()
}

/// The SR (the default), then the image and the SR, to PACS.
async fn sr_and_image_arrive(app: &TestApp, rad: &Session, id: i64, pacs: &Pacs) {
    // The SR (the default) to PACS.
    let r = send(app, id, json!({"destination": "PACS"}), rad)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["job"]["kind"], "send");
    let job = wait(app, rad, job["job"]["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["destination"], "PACS");
    assert_eq!(job["result"]["sent"][0]["what"], "sr");
    {
        let got = pacs.0.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (calling, sr) = &got[0];
        assert_eq!(calling, "CARINA-TEST");
        assert_eq!(sr.sop_class_uid, carina_sr::COMPREHENSIVE_3D_SR);
        let report = carina_sr::read_measurement_report(&sr.part10).unwrap();
        assert_eq!(report.boxes.len(), 1);
        let b = &report.boxes[0];
        assert_eq!(b.bbox.to_array(), [10.5, 20.0, 110.25, 70.0]);
        assert_eq!(
            job["result"]["sent"][0]["sop_instance_uid"],
            sr.sop_instance_uid.as_str()
        );
    }
    let (_, shown) = app.get_json(&format!("/api/v1/images/{id}"), rad).await;
    assert_eq!(shown["send_job_id"], job["id"]);
    assert_eq!(shown["send_status"], "done");

    // Both: the stored (de-identified) image and the SR, which references it.
    let r = send(app, id, json!({"destination": "PACS", "what": "both"}), rad)
        .await
        .unwrap();
    let job: Value = r.json().await.unwrap();
    let job = wait(app, rad, job["job"]["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    {
        let got = pacs.0.lock().unwrap();
        assert_eq!(got.len(), 3);
        let img = &got[1].1;
        assert_eq!(img.sop_class_uid, "1.2.840.10008.5.1.4.1.1.7");
        let report = carina_sr::read_measurement_report(&got[2].1.part10).unwrap();
        assert_eq!(
            report.boxes[0].referenced_sop_instance_uid,
            img.sop_instance_uid
        );
        let raw = sample("dicom/siim_cr_jpeg_baseline.dcm");
        assert_ne!(img.part10, raw, "the stored, de-identified file is sent");
    }
}

/// Unknown or address-less destinations, a bad `what`, a viewer, no such image.
async fn refusals(app: &TestApp, rad: &Session, viewer: &Session, id: i64) {
    let r = send(app, id, json!({"destination": "NOWHERE"}), rad)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("NOWHERE") && text.contains("CARINA_DICOM_PEERS"),
        "{text}"
    );
    let r = send(app, id, json!({"destination": "CALLER"}), rad)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("no address"));
    let r = send(app, id, json!({"destination": "PACS", "what": "pdf"}), rad)
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = send(app, id, json!({"destination": "PACS"}), viewer)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(Method::POST, "/api/v1/images/424242/send", Some(rad))
        .json(&json!({"destination": "PACS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// A peer that is down: retried, then failed with the reason.
async fn down_peer_fails_after_retries(app: &TestApp, rad: &Session, id: i64, pacs: &Pacs) {
    let r = send(
        app,
        id,
        json!({"destination": "DOWN", "what": "image"}),
        rad,
    )
    .await
    .unwrap();
    let job: Value = r.json().await.unwrap();
    let job = wait(app, rad, job["job"]["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 2);
    let err = job["last_error"].as_str().unwrap();
    assert!(
        err.contains("DOWN@127.0.0.1") && err.contains("association"),
        "{err}"
    );
    let (_, shown) = app.get_json(&format!("/api/v1/images/{id}"), rad).await;
    assert_eq!(shown["send_status"], "failed");
    let (_, jobs) = app.get_json("/api/v1/jobs?kind=send", rad).await;
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 3);
    assert_eq!(pacs.0.lock().unwrap().len(), 3);
}

/// Polls the job until it is done or failed.
pub async fn wait(app: &TestApp, s: &Session, id: i64) -> Value {
    let start = Instant::now();
    loop {
        let (status, job) = app.get_json(&format!("/api/v1/jobs/{id}"), s).await;
        assert_eq!(status, StatusCode::OK);
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job {id} still {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
