//! The association acceptor: C-ECHO and C-STORE SCP.
//!
//! One tokio task per association, at most [`ScpConfig::max_associations`]
//! at once (a further one is rejected, transient, "local limit exceeded").
//! Every wait is bounded: the association request and the release by
//! [`ScpConfig::acse_timeout`], each PDU once associated by
//! [`ScpConfig::dimse_timeout`]; a peer that stops sending is aborted and its
//! task ends. A PDU longer than the negotiated maximum aborts the association
//! (dicom-ul's strict mode), and an instance's data set is buffered only up to
//! [`ScpConfig::max_instance_bytes`]: past it the rest is discarded as it
//! arrives and the C-STORE answers "out of resources".

mod association;

use dicom_ul::ServerAssociationOptions;
use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJServiceUserReason, AssociationRJSource, Pdu, UserIdentity,
};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How the SCP runs.
#[derive(Debug, Clone)]
pub struct ScpConfig {
    /// This node's AE title: the called AE title associations must name.
    pub ae_title: String,
    /// The calling AE titles allowed to associate; `None`: any.
    pub allowed_calling: Option<Vec<String>>,
    /// The largest PDU this node receives (announced in the association).
    pub max_pdu_length: u32,
    /// Associations served at once; more are rejected (transient).
    pub max_associations: usize,
    /// The longest wait for the association request and for a release reply.
    pub acse_timeout: Duration,
    /// The longest wait for the next PDU (or to send one) once associated.
    pub dimse_timeout: Duration,
    /// The largest data set of one instance; larger ones are answered 0xA700.
    pub max_instance_bytes: usize,
}

impl ScpConfig {
    /// Defaults for `ae_title`: any caller, 64 KiB PDUs, 16 associations,
    /// 30 s ACSE and 60 s DIMSE timeouts, 512 MiB instances.
    pub fn new(ae_title: impl Into<String>) -> Self {
        ScpConfig {
            ae_title: ae_title.into(),
            allowed_calling: None,
            max_pdu_length: 65_536,
            max_associations: 16,
            acse_timeout: Duration::from_secs(30),
            dimse_timeout: Duration::from_secs(60),
            max_instance_bytes: 512 << 20,
        }
    }
}

/// An instance received by C-STORE.
#[derive(Debug, Clone)]
pub struct ReceivedInstance {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// The presentation context's transfer syntax: the data set's encoding.
    pub transfer_syntax: String,
    /// A Part 10 file: file meta from the command and the context, then the data set as received.
    pub part10: Vec<u8>,
}

/// Why a C-STORE is not a success: its status and an Error Comment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{comment} (status {status:#06X})")]
pub struct Refusal {
    pub status: u16,
    pub comment: String,
}

impl Refusal {
    /// 0xA700 Refused: out of resources.
    pub fn out_of_resources(comment: impl Into<String>) -> Self {
        Refusal {
            status: crate::dimse::STATUS_OUT_OF_RESOURCES,
            comment: comment.into(),
        }
    }
    /// 0xC000 Error: cannot understand.
    pub fn cannot_understand(comment: impl Into<String>) -> Self {
        Refusal {
            status: crate::dimse::STATUS_CANNOT_UNDERSTAND,
            comment: comment.into(),
        }
    }
}

/// What the SCP does with each received instance (the server's ingest).
pub trait StoreHandler: Send + Sync + 'static {
    /// Stores `instance` from `calling_ae`; a refusal answers its failure status.
    fn store(
        &self,
        calling_ae: &str,
        instance: ReceivedInstance,
    ) -> impl Future<Output = Result<(), Refusal>> + Send;
}

/// The calling-AE policy, and the called AE title must be this node's.
#[derive(Debug, Clone)]
struct Policy {
    allowed_calling: Option<Vec<String>>,
}

impl AccessControl for Policy {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if called_ae_title.trim() != this_ae_title.trim() {
            tracing::warn!(
                called_ae = called_ae_title.trim(),
                "DICOM association for another AE title rejected"
            );
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        let calling = calling_ae_title.trim();
        if let Some(allowed) = &self.allowed_calling
            && !allowed.iter().any(|a| a == calling)
        {
            tracing::warn!(
                calling_ae = calling,
                "DICOM association from an unknown AE title rejected"
            );
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

type Options =
    ServerAssociationOptions<'static, Policy, dicom_ul::association::server::DefaultNegotiation>;

/// A bound SCP, ready to [`run`](Scp::run).
pub struct Scp {
    listener: TcpListener,
    config: Arc<ScpConfig>,
    options: Arc<Options>,
}

impl Scp {
    /// Binds `bind` (port 0: any free port).
    pub async fn bind(bind: &str, config: ScpConfig) -> std::io::Result<Scp> {
        let listener = TcpListener::bind(bind).await?;
        let mut options = ServerAssociationOptions::new()
            .ae_access_control(Policy {
                allowed_calling: config.allowed_calling.clone(),
            })
            .ae_title(config.ae_title.clone())
            .max_pdu_length(config.max_pdu_length)
            .write_timeout(config.dimse_timeout)
            .with_abstract_syntax(crate::VERIFICATION);
        for (uid, _) in crate::STORAGE_SOP_CLASSES {
            options = options.with_abstract_syntax(*uid);
        }
        for (uid, _) in crate::TRANSFER_SYNTAXES {
            options = options.with_transfer_syntax(*uid);
        }
        Ok(Scp {
            listener,
            config: Arc::new(config),
            options: Arc::new(options),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves associations until `shutdown` completes; then every
    /// association still open is dropped (its connection closed).
    pub async fn run<H: StoreHandler>(self, handler: Arc<H>, shutdown: impl Future<Output = ()>) {
        let permits = Arc::new(Semaphore::new(self.config.max_associations.max(1)));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = self.listener.accept() => {
                    let (socket, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "DICOM accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let acse = self.config.acse_timeout;
                    match permits.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let (options, config, handler) =
                                (self.options.clone(), self.config.clone(), handler.clone());
                            tasks.spawn(async move {
                                association::serve(socket, peer, &options, &config, handler.as_ref()).await;
                                drop(permit);
                            });
                        }
                        Err(_) => {
                            tracing::warn!(%peer, "DICOM association rejected: too many at once");
                            tasks.spawn(reject_busy(socket, acse));
                        }
                    }
                }
            }
        }
        tasks.shutdown().await;
    }
}

/// Reads what the peer sent (its association request) and rejects it:
/// transient, local limit exceeded.
async fn reject_busy(mut socket: TcpStream, acse: Duration) {
    let mut buf = vec![0u8; 16 * 1024];
    let _ = tokio::time::timeout(acse, socket.read(&mut buf)).await;
    let pdu = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    let mut out = Vec::new();
    if dicom_ul::write_pdu(&mut out, &pdu).is_ok() {
        let _ = tokio::time::timeout(acse, socket.write_all(&out)).await;
    }
    let _ = socket.shutdown().await;
}
