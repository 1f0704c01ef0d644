//! carina-net's SCU against its own SCP, over loopback, with the shared
//! sample DICOMs (CR uncompressed and JPEG 2000, SC JPEG baseline).

use carina_net::{
    Peer, ReceivedInstance, Refusal, Scp, ScpConfig, ScuConfig, SendError, StoreHandler, part10,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Keeps what arrives; refuses SOP instance UIDs ending in ".666".
#[derive(Default)]
struct Keep(Mutex<Vec<(String, ReceivedInstance)>>);

impl StoreHandler for Keep {
    async fn store(&self, calling_ae: &str, instance: ReceivedInstance) -> Result<(), Refusal> {
        if instance.sop_instance_uid.ends_with(".666") {
            return Err(Refusal::cannot_understand("not this one"));
        }
        self.0
            .lock()
            .unwrap()
            .push((calling_ae.to_string(), instance));
        Ok(())
    }
}

fn samples() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples/dicom");
    ["RG1_UNCR.dcm", "RG1_J2KR.dcm", "siim_cr_jpeg_baseline.dcm"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect()
}

struct Running {
    port: u16,
    handler: Arc<Keep>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(config: ScpConfig) -> Running {
    let scp = Scp::bind("127.0.0.1:0", config).await.unwrap();
    let port = scp.local_addr().port();
    let handler = Arc::new(Keep::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = handler.clone();
    let task = tokio::spawn(scp.run(h, async move {
        let _ = rx.await;
    }));
    Running {
        port,
        handler,
        stop: Some(tx),
        task,
    }
}

impl Running {
    fn peer(&self) -> Peer {
        Peer {
            ae_title: "CARINA".into(),
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the SCP stops when asked")
            .unwrap();
    }
}

#[tokio::test]
async fn scu_sends_samples_to_scp_byte_for_byte() {
    let mut config = ScpConfig::new("CARINA");
    config.allowed_calling = Some(vec!["TESTSCU".into()]);
    config.max_pdu_length = 16_384;
    let scp = start(config).await;
    let files = samples();
    let out = carina_net::send(&scp.peer(), &ScuConfig::new("TESTSCU"), &files).await;
    assert_eq!(out.len(), 3);
    for o in &out {
        assert_eq!(o.result, Ok(0), "{o:?}");
    }
    let got = scp.handler.0.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    for ((calling, inst), file) in got.iter().zip(&files) {
        assert_eq!(calling, "TESTSCU");
        let sent = part10::split(file).unwrap();
        let back = part10::split(&inst.part10).unwrap();
        assert_eq!(back.sop_instance_uid, sent.sop_instance_uid);
        assert_eq!(back.sop_class_uid, sent.sop_class_uid);
        assert_eq!(back.transfer_syntax, sent.transfer_syntax);
        assert_eq!(inst.transfer_syntax, sent.transfer_syntax);
        assert!(
            back.data_set == sent.data_set,
            "the data set arrives unchanged"
        );
    }

    // A caller the SCP does not know is rejected: every file says so.
    let out = carina_net::send(&scp.peer(), &ScuConfig::new("STRANGER"), &files[2..]).await;
    match &out[0].result {
        Err(SendError::Association { message, .. }) => {
            assert!(message.to_lowercase().contains("reject"), "{message}")
        }
        other => panic!("expected a rejected association, got {other:?}"),
    }
    // Wrong called AE title: rejected too.
    let mut other = scp.peer();
    other.ae_title = "NOT-CARINA".into();
    let out = carina_net::send(&other, &ScuConfig::new("TESTSCU"), &files[2..]).await;
    assert!(
        matches!(out[0].result, Err(SendError::Association { .. })),
        "{out:?}"
    );
    assert_eq!(scp.handler.0.lock().unwrap().len(), 3);
    scp.stop().await;
}

#[tokio::test]
async fn refusals_limits_and_bad_files() {
    let mut config = ScpConfig::new("CARINA");
    config.max_instance_bytes = 1 << 20;
    let scp = start(config).await;
    let files = samples();
    // The SC sample (127 KB) with a UID the handler refuses.
    let sc = part10::split(&files[2]).unwrap();
    let refused = part10::build(
        &sc.sop_class_uid,
        "1.2.3.666",
        &sc.transfer_syntax,
        sc.data_set,
    );
    let batch = vec![
        files[0].clone(),
        refused,
        b"not dicom".to_vec(),
        files[2].clone(),
    ];
    let out = carina_net::send(&scp.peer(), &ScuConfig::new("ANY"), &batch).await;
    match &out[0].result {
        Err(SendError::Refused {
            status: 0xA700,
            comment: Some(c),
            ..
        }) => {
            assert!(c.contains("limit"), "{c}")
        }
        other => panic!("over the size limit: {other:?}"),
    }
    match &out[1].result {
        Err(SendError::Refused {
            status: 0xC000,
            comment,
            ..
        }) => {
            assert_eq!(comment.as_deref(), Some("not this one"))
        }
        other => panic!("refused by the handler: {other:?}"),
    }
    assert!(
        matches!(out[2].result, Err(SendError::NotPart10(_))),
        "{:?}",
        out[2]
    );
    assert_eq!(
        out[3].result,
        Ok(0),
        "the association goes on after refusals"
    );
    assert_eq!(scp.handler.0.lock().unwrap().len(), 1);
    scp.stop().await;
}

#[tokio::test]
async fn silent_peer_is_dropped_and_the_scp_goes_on() {
    let mut config = ScpConfig::new("CARINA");
    config.max_associations = 1;
    config.acse_timeout = Duration::from_millis(500);
    let scp = start(config).await;
    // Connects and says nothing: holds the only association slot until the timeout.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", scp.port))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("the SCP closes a silent connection");
    assert_eq!(n.unwrap(), 0, "closed without a reply");
    assert!(started.elapsed() < Duration::from_secs(2));
    let files = samples();
    let out = carina_net::send(&scp.peer(), &ScuConfig::new("ANY"), &files[2..]).await;
    assert_eq!(out[0].result, Ok(0), "a new association is served");
    // A partial PDU then silence: aborted after the timeout, no panic.
    let mut partial = tokio::net::TcpStream::connect(("127.0.0.1", scp.port))
        .await
        .unwrap();
    partial
        .write_all(&[0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00])
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), partial.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    let out = carina_net::send(&scp.peer(), &ScuConfig::new("ANY"), &files[2..]).await;
    assert_eq!(out[0].result, Ok(0));
    scp.stop().await;
}
