//! C-STORE SCU: sends Part 10 files to a peer over one association, one
//! outcome per file. Each file's own transfer syntax is proposed (with both
//! uncompressed little-endian syntaxes when it is one of them, transcoding
//! between the two when the peer picks the other), so nothing is
//! decompressed or recompressed.

use crate::dimse::{self, Command};
use crate::part10::{self, Split};
use crate::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::{
    EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
};
use dicom_ul::ClientAssociationOptions;
use dicom_ul::association::AsyncClientAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, PresentationContextResultReason};
use std::time::Duration;
use tokio::net::TcpStream;

/// A peer to send to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub ae_title: String,
    pub host: String,
    pub port: u16,
}

/// How the SCU connects.
#[derive(Debug, Clone)]
pub struct ScuConfig {
    /// The calling AE title (this node's).
    pub own_ae: String,
    /// The longest wait for the TCP connection.
    pub connect_timeout: Duration,
    /// The longest wait for the association, each response, and each file's sending.
    pub read_timeout: Duration,
    /// The largest PDU this node receives.
    pub max_pdu_length: u32,
}

impl ScuConfig {
    /// Defaults: 10 s to connect, 60 s for each reply, 64 KiB PDUs.
    pub fn new(own_ae: impl Into<String>) -> Self {
        ScuConfig {
            own_ae: own_ae.into(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_pdu_length: 65_536,
        }
    }
}

/// Why a file was not stored by the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("not a DICOM Part 10 file: {0}")]
    NotPart10(String),
    #[error("association with {peer} failed: {message}")]
    Association { peer: String, message: String },
    #[error(
        "{peer} accepts no presentation context for SOP class {sop_class} in transfer syntax {transfer_syntax}"
    )]
    NotAccepted {
        peer: String,
        sop_class: String,
        transfer_syntax: String,
    },
    #[error("{peer} answered C-STORE status {status:#06X}{}", comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default())]
    Refused {
        peer: String,
        status: u16,
        comment: Option<String>,
    },
    #[error("sending to {peer} failed: {message}")]
    Transfer { peer: String, message: String },
}

/// One file's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// The file's SOP instance UID, when it could be read.
    pub sop_instance_uid: Option<String>,
    /// The peer's C-STORE status (success or a warning), or why not stored.
    pub result: Result<u16, SendError>,
}

/// The transfer syntaxes proposed for a file in `ts`.
fn proposal(ts: &str) -> Vec<String> {
    match ts {
        EXPLICIT_VR_LE => vec![EXPLICIT_VR_LE.into(), IMPLICIT_VR_LE.into()],
        IMPLICIT_VR_LE => vec![IMPLICIT_VR_LE.into(), EXPLICIT_VR_LE.into()],
        other => vec![other.to_string()],
    }
}

/// Sends `files` (Part 10 bytes) to `peer`; the outcomes are in the files' order.
pub async fn send(peer: &Peer, config: &ScuConfig, files: &[impl AsRef<[u8]>]) -> Vec<SendOutcome> {
    let name = format!("{}@{}:{}", peer.ae_title, peer.host, peer.port);
    let splits: Vec<Result<Split<'_>, SendError>> = files
        .iter()
        .map(|f| part10::split(f.as_ref()).map_err(|e| SendError::NotPart10(e.to_string())))
        .collect();
    let mut contexts: Vec<(String, String)> = Vec::new();
    for s in splits.iter().flatten() {
        let key = (s.sop_class_uid.clone(), s.transfer_syntax.clone());
        if !contexts.contains(&key) && contexts.len() < 128 {
            contexts.push(key);
        }
    }
    let mut assoc = None;
    let mut fatal: Option<SendError> = None;
    if !contexts.is_empty() {
        match associate(peer, config, &contexts).await {
            Ok(a) => assoc = Some(a),
            Err(message) => {
                fatal = Some(SendError::Association {
                    peer: name.clone(),
                    message,
                })
            }
        }
    }
    let mut outcomes = Vec::with_capacity(files.len());
    for (i, split) in splits.into_iter().enumerate() {
        let split = match split {
            Ok(s) => s,
            Err(e) => {
                outcomes.push(SendOutcome {
                    sop_instance_uid: None,
                    result: Err(e),
                });
                continue;
            }
        };
        let uid = Some(split.sop_instance_uid.clone());
        let result = match (&fatal, assoc.as_mut()) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(a)) => {
                let r = store_one(a, &split, i as u16 + 1, config, &name).await;
                if let Err(e @ SendError::Transfer { .. }) = &r {
                    fatal = Some(e.clone());
                }
                r
            }
            (None, None) => unreachable!("an association exists when no error was recorded"),
        };
        outcomes.push(SendOutcome {
            sop_instance_uid: uid,
            result,
        });
    }
    if let Some(a) = assoc {
        let done = if fatal.is_some() {
            tokio::time::timeout(config.read_timeout, a.abort()).await
        } else {
            tokio::time::timeout(config.read_timeout, a.release()).await
        };
        if !matches!(done, Ok(Ok(()))) {
            tracing::debug!(peer = %name, "the association did not end cleanly");
        }
    }
    outcomes
}

async fn associate(
    peer: &Peer,
    config: &ScuConfig,
    contexts: &[(String, String)],
) -> Result<AsyncClientAssociation<TcpStream>, String> {
    let mut options = ClientAssociationOptions::new()
        .calling_ae_title(config.own_ae.clone())
        .called_ae_title(peer.ae_title.clone())
        .max_pdu_length(config.max_pdu_length)
        .connection_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .write_timeout(config.read_timeout);
    for (sop_class, ts) in contexts {
        options = options.with_presentation_context(sop_class.clone(), proposal(ts));
    }
    let addr = format!("{}:{}", peer.host, peer.port);
    let limit = config.connect_timeout + config.read_timeout;
    match tokio::time::timeout(limit, options.establish_async(addr)).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
    }
}

/// Sends one file on the association and reads its C-STORE response.
async fn store_one(
    assoc: &mut AsyncClientAssociation<TcpStream>,
    split: &Split<'_>,
    message_id: u16,
    config: &ScuConfig,
    name: &str,
) -> Result<u16, SendError> {
    let Some((pc_id, ts)) = accepted_context(assoc, split) else {
        return Err(SendError::NotAccepted {
            peer: name.to_string(),
            sop_class: split.sop_class_uid.clone(),
            transfer_syntax: split.transfer_syntax.clone(),
        });
    };
    let transfer = |message: String| SendError::Transfer {
        peer: name.to_string(),
        message,
    };
    let data =
        if ts == split.transfer_syntax {
            std::borrow::Cow::Borrowed(split.data_set)
        } else {
            std::borrow::Cow::Owned(transcode(split.data_set, &split.transfer_syntax).map_err(
                |e| SendError::NotPart10(format!("cannot re-encode the data set in {ts}: {e}")),
            )?)
        };
    if data.is_empty() {
        return Err(SendError::NotPart10("the file holds no data set".into()));
    }
    let rq = Command {
        field: dimse::C_STORE_RQ,
        message_id,
        sop_class_uid: split.sop_class_uid.clone(),
        sop_instance_uid: split.sop_instance_uid.clone(),
        data_set_present: true,
        ..Command::default()
    };
    let sending = async {
        assoc
            .send(&Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: pc_id,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data: rq.encode(),
                }],
            })
            .await
            .map_err(|e| e.to_string())?;
        // One PDV per PDU, as large as the peer takes (dicom-ul's P-DATA
        // writer is not used: its Drop blocks the runtime thread).
        let chunk = (assoc.acceptor_max_pdu_length().clamp(1024, 1 << 20) - 6) as usize;
        let mut parts = data.chunks(chunk).peekable();
        while let Some(part) = parts.next() {
            let pdu = Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: pc_id,
                    value_type: PDataValueType::Data,
                    is_last: parts.peek().is_none(),
                    data: part.to_vec(),
                }],
            };
            assoc.send(&pdu).await.map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    };
    match tokio::time::timeout(config.read_timeout, sending).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(transfer(e)),
        Err(_) => return Err(transfer("timed out while sending".into())),
    }
    let rsp = read_response(assoc, config.read_timeout)
        .await
        .map_err(transfer)?;
    let status = rsp.status.unwrap_or(dimse::STATUS_CANNOT_UNDERSTAND);
    if dimse::is_stored(status) {
        Ok(status)
    } else {
        Err(SendError::Refused {
            peer: name.to_string(),
            status,
            comment: rsp.error_comment,
        })
    }
}

/// The accepted context for `split`'s SOP class in one of the transfer
/// syntaxes proposed for it: its id and transfer syntax.
fn accepted_context(
    assoc: &AsyncClientAssociation<TcpStream>,
    split: &Split<'_>,
) -> Option<(u8, String)> {
    assoc
        .presentation_contexts()
        .iter()
        .find(|pc| {
            pc.reason == PresentationContextResultReason::Acceptance
                && crate::trim_uid(&pc.abstract_syntax) == split.sop_class_uid
                && proposal(&split.transfer_syntax)
                    .iter()
                    .any(|t| t == crate::trim_uid(&pc.transfer_syntax))
        })
        .map(|pc| (pc.id, crate::trim_uid(&pc.transfer_syntax).to_string()))
}

/// The data set re-encoded from one uncompressed little-endian syntax to the other.
fn transcode(data: &[u8], from: &str) -> Result<Vec<u8>, String> {
    let (src, dst) = if from == IMPLICIT_VR_LE {
        (
            IMPLICIT_VR_LITTLE_ENDIAN.erased(),
            EXPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
    } else {
        (
            EXPLICIT_VR_LITTLE_ENDIAN.erased(),
            IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
    };
    let obj = InMemDicomObject::read_dataset_with_ts(data, &src).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    obj.write_dataset_with_ts(&mut out, &dst)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Reads PDUs until a complete command set arrives.
async fn read_response(
    assoc: &mut AsyncClientAssociation<TcpStream>,
    timeout: Duration,
) -> Result<Command, String> {
    let mut bytes = Vec::new();
    loop {
        let pdu = match tokio::time::timeout(timeout, assoc.receive()).await {
            Err(_) => {
                return Err(format!(
                    "no C-STORE response within {} s",
                    timeout.as_secs()
                ));
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(p)) => p,
        };
        match pdu {
            Pdu::PData { data } => {
                for pdv in data {
                    if pdv.value_type != PDataValueType::Command {
                        continue;
                    }
                    bytes.extend_from_slice(&pdv.data);
                    if bytes.len() > 64 * 1024 {
                        return Err("response command set too long".into());
                    }
                    if pdv.is_last {
                        return Command::parse(&bytes).map_err(|e| e.to_string());
                    }
                }
            }
            Pdu::AbortRQ { source } => return Err(format!("the peer aborted ({source:?})")),
            other => return Err(format!("unexpected PDU {other:?}")),
        }
    }
}
