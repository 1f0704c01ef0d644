//! Send jobs: C-STORE an image and/or its boxes as an SR, or a signed
//! report's SR and Encapsulated PDF, to a configured DICOM peer
//! (carina-net's SCU), retried with the queue's back-off; the
//! outcome (each object's SOP instance UID and the peer's status) is the
//! job's result, its last error what the peer or the network said.

use super::JobError;
use crate::state::AppState;
use carina_net::{Peer, ScuConfig, SendError};
use carina_store::{Job, JobKind, NewJob, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use utoipa::ToSchema;

/// What a send job sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SendWhat {
    /// The reviewed boxes as a TID 1500 SR.
    #[default]
    Sr,
    /// The stored (de-identified) image.
    Image,
    Both,
}

/// What one send job sends: an image's objects, or a signed report's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "lowercase")]
pub enum SendObjects {
    /// The image's reviewed boxes as a TID 1500 SR.
    Sr,
    /// The stored (de-identified) image.
    Image,
    Both,
    /// A signed report: its SR (TID 2000) and its PDF as an Encapsulated
    /// PDF (`CARINA_DICOM_SEND_ON_SIGN`).
    Report {
        report_id: i64,
    },
}

impl From<SendWhat> for SendObjects {
    fn from(w: SendWhat) -> Self {
        match w {
            SendWhat::Sr => SendObjects::Sr,
            SendWhat::Image => SendObjects::Image,
            SendWhat::Both => SendObjects::Both,
        }
    }
}

/// A send job's payload: `{destination, what}`, and `report_id` when
/// `what` is `report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendRequest {
    pub destination: String,
    #[serde(flatten)]
    pub what: SendObjects,
}

/// The configured peer named `ae_title`, if Carina may send to it.
pub fn peer(state: &AppState, ae_title: &str) -> Result<Peer, String> {
    let Some(p) = state.config.dicom_peers.get(ae_title) else {
        return Err(format!(
            "unknown destination {:?}: configure it in CARINA_DICOM_PEERS as AETITLE@host:port",
            ae_title.trim()
        ));
    };
    match &p.address {
        Some((host, port)) => Ok(Peer {
            ae_title: p.ae_title.clone(),
            host: host.clone(),
            port: *port,
        }),
        None => Err(format!(
            "destination {} has no address in CARINA_DICOM_PEERS (AETITLE@host:port): it may only call Carina",
            p.ae_title
        )),
    }
}

/// Queues a send job for `image_id`; the send loop polls for it.
pub async fn enqueue_send(
    state: &AppState,
    image_id: i64,
    req: &SendRequest,
    user: &str,
) -> Result<Job, StoreError> {
    enqueue(state, Some(image_id), req, user).await
}

async fn enqueue(
    state: &AppState,
    image_id: Option<i64>,
    req: &SendRequest,
    user: &str,
) -> Result<Job, StoreError> {
    state
        .store
        .db
        .enqueue_job(&NewJob {
            kind: JobKind::Send,
            payload: serde_json::to_value(req).map_err(|e| StoreError::Invalid(e.to_string()))?,
            image_id,
            model_id: None,
            max_attempts: i64::from(state.config.job_max_attempts),
            created_by: user.to_string(),
        })
        .await
}

/// `CARINA_DICOM_SEND_ON_SIGN`: queues one job sending the report just
/// signed (its SR and its PDF) to that peer, on the report's first image
/// (so the image shows it, and blind reading hides it as it hides the
/// report). The images' own measurement SRs are not sent: they follow the
/// boxes, which may change after signing, while what is signed is the
/// report. A failure to queue is logged, not an error of the signing: the
/// report is signed either way.
pub async fn on_signed(state: &AppState, report_id: i64, image_ids: &[i64], user: &str) {
    let Some(destination) = &state.config.dicom_send_on_sign else {
        return;
    };
    let req = SendRequest {
        destination: destination.clone(),
        what: SendObjects::Report { report_id },
    };
    let image_id = image_ids.first().copied();
    if let Err(e) = enqueue(state, image_id, &req, user).await {
        tracing::warn!(report_id, error = %e, "cannot queue the signed report's send");
    }
}

/// Runs a claimed send job.
pub async fn send_job(state: &AppState, worker: &str, job: &Job) -> Result<(), JobError> {
    let req: SendRequest = serde_json::from_value(job.payload.clone()).map_err(|e| {
        JobError::permanent(format!("the job's payload is not a send request: {e}"))
    })?;
    let peer = peer(state, &req.destination).map_err(JobError::permanent)?;
    let files = match req.what {
        SendObjects::Report { report_id } => report_files(state, report_id).await?,
        what => image_files(state, job, what).await?,
    };
    let config = ScuConfig {
        read_timeout: Duration::from_secs(state.config.dicom_timeout_secs),
        ..ScuConfig::new(state.config.dicom_ae.clone())
    };
    let bytes: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    let outcomes = carina_net::send(&peer, &config, &bytes).await;
    let mut sent = Vec::new();
    let mut errors = Vec::new();
    let mut permanent = false;
    for ((what, _), o) in files.iter().zip(&outcomes) {
        match &o.result {
            Ok(status) => sent.push(json!({
                "what": what,
                "sop_instance_uid": o.sop_instance_uid,
                "status": status,
            })),
            Err(e) => {
                permanent |= matches!(e, SendError::NotPart10(_) | SendError::NotAccepted { .. });
                errors.push(format!("{what}: {e}"));
            }
        }
    }
    if !errors.is_empty() {
        let message = errors.join("; ");
        return Err(if permanent {
            JobError::permanent(message)
        } else {
            JobError::retry(message)
        });
    }
    tracing::info!(job = job.id, destination = %peer.ae_title, objects = sent.len(), "sent by C-STORE");
    let mut result = json!({"destination": peer.ae_title, "sent": sent});
    if let SendObjects::Report { report_id } = req.what {
        result["report_id"] = report_id.into();
    }
    match state.store.db.finish_job(job.id, worker, &result).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(JobError::permanent(
            "the job's lease was lost while sending; the peer has the objects",
        )),
        Err(e) => Err(JobError::retry(format!("store: {e}"))),
    }
}

/// A store or build error: retried when the server is at fault.
fn job_error(e: crate::error::AppError) -> JobError {
    if e.status.is_server_error() {
        JobError::retry(e.message)
    } else {
        JobError::permanent(e.message)
    }
}

/// The image and/or its boxes' SR (the same SR as `GET /images/{id}/sr`).
async fn image_files(
    state: &AppState,
    job: &Job,
    what: SendObjects,
) -> Result<Vec<(&'static str, Vec<u8>)>, JobError> {
    let image_id = job
        .image_id
        .ok_or_else(|| JobError::permanent("the job names no image"))?;
    let image = state
        .store
        .db
        .image(image_id)
        .await
        .map_err(|e| JobError::retry(format!("store: {e}")))?
        .ok_or_else(|| JobError::permanent("the image was deleted"))?;
    let mut files = Vec::new();
    if matches!(what, SendObjects::Image | SendObjects::Both) {
        let bytes = state
            .store
            .image_file(&image)
            .await
            .map_err(|e| JobError::retry(format!("store: {e}")))?;
        files.push(("image", bytes.to_vec()));
    }
    if matches!(what, SendObjects::Sr | SendObjects::Both) {
        let sr = crate::sr_export::image_sr(state, &image, false)
            .await
            .map_err(job_error)?;
        files.push(("sr", sr));
    }
    Ok(files)
}

/// A signed report's SR (TID 2000) and its PDF as an Encapsulated PDF.
async fn report_files(
    state: &AppState,
    report_id: i64,
) -> Result<Vec<(&'static str, Vec<u8>)>, JobError> {
    let report = state
        .store
        .db
        .report(report_id)
        .await
        .map_err(|e| JobError::retry(format!("store: {e}")))?
        .ok_or_else(|| JobError::permanent(format!("report {report_id} does not exist")))?;
    let sr = crate::sr_export::report_sr_of(state, &report)
        .await
        .map_err(job_error)?;
    let pdf = crate::sr_export::report_pdf_of(state, &report)
        .await
        .map_err(job_error)?;
    Ok(vec![("report_sr", sr), ("report_pdf", pdf)])
}
