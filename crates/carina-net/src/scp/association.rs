//! One association: the PDU loop, C-ECHO, and C-STORE with its data set
//! gathered under the size limit.

use super::{Options, ReceivedInstance, Refusal, ScpConfig, StoreHandler};
use crate::dimse::{self, Command};
use dicom_ul::association::AsyncServerAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, PresentationContextResultReason};
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// The largest command set accepted (a C-STORE-RQ is about 200 bytes).
const MAX_COMMAND_BYTES: usize = 64 * 1024;

type Assoc = AsyncServerAssociation<TcpStream>;

/// An instance being received: its command and what arrived of its data set.
struct Pending {
    pc_id: u8,
    command: Command,
    transfer_syntax: String,
    data: Vec<u8>,
    /// Set once the data set cannot be stored: the rest is discarded.
    refusal: Option<Refusal>,
}

/// What to do after a PDV.
enum Next {
    Continue,
    Abort(String),
}

pub(super) async fn serve<H: StoreHandler>(
    socket: TcpStream,
    peer: SocketAddr,
    options: &Options,
    config: &ScpConfig,
    handler: &H,
) {
    let assoc =
        match tokio::time::timeout(config.acse_timeout, options.establish_async(socket)).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                tracing::warn!(%peer, error = %e, "DICOM association not established");
                return;
            }
            Err(_) => {
                tracing::warn!(%peer, "DICOM association request timed out");
                return;
            }
        };
    let calling = dicom_ul::association::Association::peer_ae_title(&assoc)
        .trim()
        .to_string();
    let accepted = assoc
        .presentation_contexts()
        .iter()
        .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
        .count();
    tracing::info!(%peer, calling_ae = %calling, accepted_contexts = accepted, "DICOM association accepted");
    let mut session = Session {
        assoc,
        calling,
        config,
        command: Vec::new(),
        pending: None,
    };
    let outcome = session.run(handler).await;
    let Session { assoc, calling, .. } = session;
    match outcome {
        Ok(()) => tracing::info!(calling_ae = %calling, "DICOM association released"),
        Err(why) => {
            tracing::warn!(calling_ae = %calling, reason = %why, "DICOM association aborted");
            let _ = tokio::time::timeout(config.acse_timeout, assoc.abort()).await;
        }
    }
}

struct Session<'a> {
    assoc: Assoc,
    calling: String,
    config: &'a ScpConfig,
    /// Command fragments not yet complete.
    command: Vec<u8>,
    pending: Option<Pending>,
}

impl Session<'_> {
    /// The PDU loop: `Ok` on a release, `Err(why)` when the association must be aborted.
    async fn run<H: StoreHandler>(&mut self, handler: &H) -> Result<(), String> {
        loop {
            let pdu =
                match tokio::time::timeout(self.config.dimse_timeout, self.assoc.receive()).await {
                    Err(_) => {
                        return Err(format!(
                            "no PDU within {} s",
                            self.config.dimse_timeout.as_secs_f32()
                        ));
                    }
                    Ok(Err(e)) => return Err(e.to_string()),
                    Ok(Ok(pdu)) => pdu,
                };
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        if let Next::Abort(why) = self.on_pdv(pdv, handler).await {
                            return Err(why);
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    if self.pending.is_some() {
                        return Err("release requested in the middle of an instance".into());
                    }
                    let _ = self.assoc.send(&Pdu::ReleaseRP).await;
                    return Ok(());
                }
                Pdu::AbortRQ { .. } => return Err("aborted by the peer".into()),
                other => return Err(format!("unexpected PDU {other:?}")),
            }
        }
    }

    /// The accepted context `id`: its transfer syntax and abstract syntax.
    fn context(&self, id: u8) -> Option<(String, String)> {
        self.assoc
            .presentation_contexts()
            .iter()
            .find(|pc| pc.id == id && pc.reason == PresentationContextResultReason::Acceptance)
            .map(|pc| {
                (
                    crate::trim_uid(&pc.transfer_syntax).to_string(),
                    crate::trim_uid(&pc.abstract_syntax).to_string(),
                )
            })
    }

    async fn on_pdv<H: StoreHandler>(&mut self, pdv: PDataValue, handler: &H) -> Next {
        let Some((ts, abstract_syntax)) = self.context(pdv.presentation_context_id) else {
            return Next::Abort(format!(
                "P-DATA on presentation context {} that was not accepted",
                pdv.presentation_context_id
            ));
        };
        match pdv.value_type {
            PDataValueType::Command => {
                if self.pending.is_some() {
                    return Next::Abort("a command arrived before the data set ended".into());
                }
                if self.command.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                    return Next::Abort("command set too long".into());
                }
                self.command.extend_from_slice(&pdv.data);
                if !pdv.is_last {
                    return Next::Continue;
                }
                let bytes = std::mem::take(&mut self.command);
                match Command::parse(&bytes) {
                    Ok(cmd) => {
                        self.on_command(pdv.presentation_context_id, cmd, ts, abstract_syntax)
                            .await
                    }
                    Err(e) => Next::Abort(e.to_string()),
                }
            }
            PDataValueType::Data => {
                let Some(p) = self
                    .pending
                    .as_mut()
                    .filter(|p| p.pc_id == pdv.presentation_context_id)
                else {
                    return Next::Abort("a data set without its command".into());
                };
                let limit = self.config.max_instance_bytes;
                if p.refusal.is_none() && p.data.len() + pdv.data.len() > limit {
                    p.data = Vec::new();
                    p.refusal = Some(Refusal::out_of_resources(format!(
                        "instance larger than the limit of {} MiB",
                        limit >> 20
                    )));
                }
                if p.refusal.is_none() {
                    p.data.extend_from_slice(&pdv.data);
                }
                if !pdv.is_last {
                    return Next::Continue;
                }
                let p = self.pending.take().expect("checked above");
                self.finish_store(p, handler).await
            }
        }
    }

    async fn on_command(
        &mut self,
        pc_id: u8,
        cmd: Command,
        ts: String,
        abstract_syntax: String,
    ) -> Next {
        match cmd.field {
            dimse::C_ECHO_RQ => {
                let rsp = cmd.response(dimse::C_ECHO_RSP, dimse::STATUS_SUCCESS, None);
                self.respond(pc_id, rsp).await
            }
            dimse::C_STORE_RQ if cmd.data_set_present => {
                let refusal = (cmd.sop_class_uid != abstract_syntax).then(|| Refusal {
                    status: dimse::STATUS_SOP_CLASS_NOT_SUPPORTED,
                    comment: "SOP class differs from the presentation context's".into(),
                });
                self.pending = Some(Pending {
                    pc_id,
                    command: cmd,
                    transfer_syntax: ts,
                    data: Vec::new(),
                    refusal,
                });
                Next::Continue
            }
            dimse::C_STORE_RQ => {
                let rsp = cmd.response(
                    dimse::C_STORE_RSP,
                    dimse::STATUS_CANNOT_UNDERSTAND,
                    Some("C-STORE without a data set".into()),
                );
                self.respond(pc_id, rsp).await
            }
            field if !cmd.data_set_present => {
                let rsp = cmd.response(field | 0x8000, dimse::STATUS_UNRECOGNIZED_OPERATION, None);
                self.respond(pc_id, rsp).await
            }
            field => Next::Abort(format!("unsupported DIMSE command {field:#06X}")),
        }
    }

    async fn finish_store<H: StoreHandler>(&mut self, p: Pending, handler: &H) -> Next {
        let result = match p.refusal {
            Some(r) => Err(r),
            None if p.data.is_empty() => Err(Refusal::cannot_understand("empty data set")),
            None => {
                let part10 = crate::part10::build(
                    &p.command.sop_class_uid,
                    &p.command.sop_instance_uid,
                    &p.transfer_syntax,
                    &p.data,
                );
                drop(p.data);
                let instance = ReceivedInstance {
                    sop_class_uid: p.command.sop_class_uid.clone(),
                    sop_instance_uid: p.command.sop_instance_uid.clone(),
                    transfer_syntax: p.transfer_syntax.clone(),
                    part10,
                };
                handler.store(&self.calling, instance).await
            }
        };
        let rsp = match result {
            Ok(()) => {
                tracing::info!(calling_ae = %self.calling, sop_class = %p.command.sop_class_uid, "C-STORE stored");
                p.command
                    .response(dimse::C_STORE_RSP, dimse::STATUS_SUCCESS, None)
            }
            Err(r) => {
                tracing::warn!(calling_ae = %self.calling, status = %format_args!("{:#06X}", r.status), comment = %r.comment, "C-STORE refused");
                p.command
                    .response(dimse::C_STORE_RSP, r.status, Some(r.comment))
            }
        };
        self.respond(p.pc_id, rsp).await
    }

    async fn respond(&mut self, pc_id: u8, rsp: Command) -> Next {
        let pdu = Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data: rsp.encode(),
            }],
        };
        match self.assoc.send(&pdu).await {
            Ok(()) => Next::Continue,
            Err(e) => Next::Abort(format!("cannot send a response: {e}")),
        }
    }
}
