//! The DICOM node of `carina serve` (carina-net's SCP): each received
//! instance goes through the upload's ingest, created by a system account
//! named after the calling AE title (`dicom:ORTHANC`: usernames of people
//! cannot hold a colon, so the two never collide); an SR instance is
//! imported as boxes on the image it references (`sr_import`), by the same
//! account.

pub mod peers;

use crate::error::AppError;
use crate::state::AppState;
use axum::http::StatusCode;
use carina_net::{ReceivedInstance, Refusal, Scp, ScpConfig, StoreHandler};

/// The account name recorded for instances received from `calling_ae`.
pub fn system_user(calling_ae: &str) -> String {
    format!("dicom:{}", calling_ae.trim())
}

/// Binds the DICOM node when `dicom_bind` is set.
pub async fn bind(state: &AppState) -> anyhow::Result<Option<Scp>> {
    use anyhow::Context;
    let Some(bind) = &state.config.dicom_bind else {
        return Ok(None);
    };
    let c = &state.config;
    let config = ScpConfig {
        allowed_calling: c.dicom_peers.allowed_calling(),
        // Part 10 meta adds a few hundred bytes: the upload limit holds the data set.
        max_instance_bytes: c.max_upload_bytes(),
        acse_timeout: std::time::Duration::from_secs(c.dicom_timeout_secs),
        dimse_timeout: std::time::Duration::from_secs(c.dicom_timeout_secs),
        ..ScpConfig::new(c.dicom_ae.clone())
    };
    let scp = Scp::bind(bind, config)
        .await
        .with_context(|| format!("cannot listen for DICOM on {bind}"))?;
    tracing::info!(
        addr = %scp.local_addr(),
        ae = %c.dicom_ae,
        peers = c.dicom_peers.0.len(),
        "DICOM node listening"
    );
    Ok(Some(scp))
}

/// The SCP's handler: the shared ingest.
pub struct Ingest {
    pub state: AppState,
}

impl StoreHandler for Ingest {
    async fn store(&self, calling_ae: &str, instance: ReceivedInstance) -> Result<(), Refusal> {
        let user = system_user(calling_ae);
        let bytes: bytes::Bytes = instance.part10.into();
        // An SR about a stored image is imported as boxes, as POST /images/{id}/sr does.
        if crate::sr_import::is_sr(&bytes) {
            return match crate::sr_import::import_sr(&self.state, bytes, &user, None, None).await {
                Ok(done) => {
                    tracing::info!(
                        image_id = done.image_id,
                        restored = done.restored,
                        added = done.added,
                        calling_ae,
                        "DICOM SR imported"
                    );
                    Ok(())
                }
                Err(e) => Err(refusal(e)),
            };
        }
        let name = format!("{}.dcm", instance.sop_instance_uid);
        let files = vec![(name, bytes)];
        match crate::routes::ingest::ingest_files(&self.state, files, &user).await {
            Ok(done) => {
                for image in &done.images {
                    let created = done.created_ids.contains(&image.id);
                    tracing::info!(
                        image_id = image.id,
                        created,
                        calling_ae,
                        "DICOM instance ingested"
                    );
                }
                Ok(())
            }
            Err(e) => Err(refusal(e)),
        }
    }
}

/// The C-STORE failure for an ingest refusal: too large or a server fault
/// is "out of resources" (0xA700), anything else the peer's file (0xC000).
fn refusal(e: AppError) -> Refusal {
    if e.status == StatusCode::PAYLOAD_TOO_LARGE || e.status.is_server_error() {
        Refusal::out_of_resources(e.message)
    } else {
        Refusal::cannot_understand(e.message)
    }
}
