//! `CARINA_DICOM_PEERS` / `dicom_peers`: the DICOM nodes Carina knows.

use serde::Deserialize;

/// A known DICOM node: it may call Carina, and when it has an address
/// Carina may send to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomPeer {
    pub ae_title: String,
    /// `(host, port)`; `None` for a bare `AETITLE` (may call Carina only).
    pub address: Option<(String, u16)>,
}

/// The configured peers (empty: any calling AE title is accepted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PeersRepr")]
pub struct DicomPeers(pub Vec<DicomPeer>);

/// TOML may give one comma-separated string or a list of entries.
#[derive(Deserialize)]
#[serde(untagged)]
enum PeersRepr {
    One(String),
    Many(Vec<String>),
}

impl TryFrom<PeersRepr> for DicomPeers {
    type Error = String;
    fn try_from(r: PeersRepr) -> Result<Self, String> {
        match r {
            PeersRepr::One(s) => DicomPeers::parse(&s),
            PeersRepr::Many(v) => DicomPeers::parse(&v.join(",")),
        }
    }
}

impl DicomPeers {
    /// Parses `AETITLE@host:port` or bare `AETITLE` entries separated by commas.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut peers: Vec<DicomPeer> = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let peer = parse_peer(entry)?;
            if peers.iter().any(|p| p.ae_title == peer.ae_title) {
                return Err(format!("AE title {} is listed twice", peer.ae_title));
            }
            peers.push(peer);
        }
        Ok(DicomPeers(peers))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The AE titles allowed to call Carina: `None` (any) when no peer is configured.
    pub fn allowed_calling(&self) -> Option<Vec<String>> {
        (!self.0.is_empty()).then(|| self.0.iter().map(|p| p.ae_title.clone()).collect())
    }

    pub fn get(&self, ae_title: &str) -> Option<&DicomPeer> {
        self.0.iter().find(|p| p.ae_title == ae_title.trim())
    }
}

fn parse_peer(entry: &str) -> Result<DicomPeer, String> {
    let (ae, address) = match entry.split_once('@') {
        None => (entry, None),
        Some((ae, addr)) => {
            let (host, port) = addr.rsplit_once(':').ok_or_else(|| {
                format!("{entry:?}: expected AETITLE@host:port or AETITLE (no port after the host)")
            })?;
            let host = host.trim().trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || host.contains(char::is_whitespace) {
                return Err(format!("{entry:?}: the host is empty or has spaces"));
            }
            let port = port
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{entry:?}: the port must be a number from 1 to 65535"))?;
            (ae, Some((host.to_string(), port)))
        }
    };
    let ae_title = carina_net::check_ae_title(ae).map_err(|e| format!("{entry:?}: {e}"))?;
    Ok(DicomPeer { ae_title, address })
}

/// Checks `host:port` for `CARINA_DICOM_BIND`.
pub fn check_bind(bind: &str) -> Result<(), String> {
    let ok = bind
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!("{bind:?}: expected host:port, e.g. 0.0.0.0:11112"))
    }
}

/// Checks the DICOM settings after every layer applied (the AE title is
/// stored trimmed).
pub fn check(config: &mut crate::Config) -> Result<(), crate::ConfigError> {
    let invalid = |setting, message| crate::ConfigError::Invalid { setting, message };
    config.dicom_ae = carina_net::check_ae_title(&config.dicom_ae)
        .map_err(|m| invalid("CARINA_DICOM_AE (dicom_ae)", m))?;
    if let Some(ae) = &config.dicom_send_on_sign {
        let known = config
            .dicom_peers
            .get(ae)
            .is_some_and(|p| p.address.is_some());
        if !known {
            return Err(invalid(
                "CARINA_DICOM_SEND_ON_SIGN (dicom_send_on_sign)",
                format!(
                    "{ae:?} is not a peer with an address in CARINA_DICOM_PEERS (AETITLE@host:port)"
                ),
            ));
        }
    }
    if let Some(bind) = &config.dicom_bind {
        check_bind(bind).map_err(|m| invalid("CARINA_DICOM_BIND (dicom_bind)", m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_bad_entries_say_why() {
        let p = DicomPeers::parse(" ORTHANC@127.0.0.1:4242, MODALITY ,PACS@[::1]:104").unwrap();
        assert_eq!(p.0.len(), 3);
        assert_eq!(
            p.get("ORTHANC").unwrap().address,
            Some(("127.0.0.1".into(), 4242))
        );
        assert_eq!(p.get("MODALITY").unwrap().address, None);
        assert_eq!(p.get("PACS").unwrap().address, Some(("::1".into(), 104)));
        assert_eq!(p.allowed_calling().unwrap().len(), 3);
        assert!(DicomPeers::parse("").unwrap().allowed_calling().is_none());
        for (bad, why) in [
            ("ORTHANC@host", "port"),
            ("ORTHANC@host:0", "port"),
            ("ORTHANC@host:99999", "port"),
            ("@host:104", "empty"),
            ("A_TITLE_LONGER_THAN_16", "16"),
            ("A,A", "twice"),
            ("X@:104", "host"),
        ] {
            let e = DicomPeers::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(check_bind("0.0.0.0:11112").is_ok());
        assert!(check_bind("11112").is_err());
        assert!(check_bind("host:port").is_err());
        let env = |k: &str, v: &str| [(k.to_string(), v.to_string())];
        let c = crate::Config::load(None, env("CARINA_DICOM_PEERS", "A@h:1,B")).unwrap();
        assert_eq!(c.dicom_peers.0.len(), 2);
        assert_eq!(c.dicom_ae, "CARINA");
        let env2 = [
            ("CARINA_DICOM_PEERS".to_string(), "PACS@h:104".to_string()),
            ("CARINA_DICOM_SEND_ON_SIGN".to_string(), "PACS".to_string()),
        ];
        let c = crate::Config::load(None, env2).unwrap();
        assert_eq!(c.dicom_send_on_sign.as_deref(), Some("PACS"));
        for (k, v) in [
            ("CARINA_DICOM_PEERS", "A@h"),
            ("CARINA_DICOM_AE", "A\\B"),
            ("CARINA_DICOM_AE", " "),
            ("CARINA_DICOM_BIND", "11112"),
            ("CARINA_DICOM_SEND_ON_SIGN", "PACS"),
        ] {
            let e = crate::Config::load(None, env(k, v))
                .unwrap_err()
                .to_string();
            assert!(e.contains(k), "{k}={v}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "dicom_bind = \"127.0.0.1:0\"\ndicom_peers = [\"ORTHANC@localhost:4242\"]\n",
        )
        .unwrap();
        let c = crate::Config::load(Some(&file), []).unwrap();
        assert_eq!(
            c.dicom_peers.get("ORTHANC").unwrap().address,
            Some(("localhost".into(), 4242))
        );
        std::fs::write(&file, "dicom_peers = \"ORTHANC@localhost\"\n").unwrap();
        let e = crate::Config::load(Some(&file), [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("port"), "{e}");
    }
}
