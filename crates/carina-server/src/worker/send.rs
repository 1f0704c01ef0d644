//! Send jobs: C-STORE an image and/or its boxes as an SR to a configured
//! DICOM peer (carina-net's SCU), retried with the queue's back-off; the
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

/// A send job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendRequest {
    pub destination: String,
    pub what: SendWhat,
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
    state
        .store
        .db
        .enqueue_job(&NewJob {
            kind: JobKind::Send,
            payload: serde_json::to_value(req).map_err(|e| StoreError::Invalid(e.to_string()))?,
            image_id: Some(image_id),
            model_id: None,
            max_attempts: i64::from(state.config.job_max_attempts),
            created_by: user.to_string(),
        })
        .await
}

/// `CARINA_DICOM_SEND_ON_SIGN`: queues the SR of each image of a report
/// just signed to that peer. A failure to queue is logged, not an error of
/// the signing: the report is signed either way and can be sent by hand.
pub async fn on_signed(state: &AppState, image_ids: &[i64], user: &str) {
    let Some(destination) = &state.config.dicom_send_on_sign else {
        return;
    };
    for &image_id in image_ids {
        let req = SendRequest {
            destination: destination.clone(),
            what: SendWhat::Sr,
        };
        if let Err(e) = enqueue_send(state, image_id, &req, user).await {
            tracing::warn!(image_id, error = %e, "cannot queue the signed report's SR");
        }
    }
}

/// Runs a claimed send job.
pub async fn send_job(state: &AppState, worker: &str, job: &Job) -> Result<(), JobError> {
    let req: SendRequest = serde_json::from_value(job.payload.clone()).map_err(|e| {
        JobError::permanent(format!("the job's payload is not a send request: {e}"))
    })?;
    let peer = peer(state, &req.destination).map_err(JobError::permanent)?;
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
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    if matches!(req.what, SendWhat::Image | SendWhat::Both) {
        let bytes = state
            .store
            .image_file(&image)
            .await
            .map_err(|e| JobError::retry(format!("store: {e}")))?;
        files.push(("image", bytes.to_vec()));
    }
    if matches!(req.what, SendWhat::Sr | SendWhat::Both) {
        // The same SR as GET /images/{id}/sr: the reviewed boxes.
        let sr = crate::sr_export::image_sr(state, &image, false)
            .await
            .map_err(|e| {
                if e.status.is_server_error() {
                    JobError::retry(e.message)
                } else {
                    JobError::permanent(e.message)
                }
            })?;
        files.push(("sr", sr));
    }
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
    tracing::info!(job = job.id, image_id, destination = %peer.ae_title, objects = sent.len(), "sent by C-STORE");
    let result = json!({"destination": peer.ae_title, "sent": sent});
    match state.store.db.finish_job(job.id, worker, &result).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(JobError::permanent(
            "the job's lease was lost while sending; the peer has the objects",
        )),
        Err(e) => Err(JobError::retry(format!("store: {e}"))),
    }
}
