//! Carina's DICOM node on dicom-rs's upper layer (`dicom-ul`, tokio API):
//!
//! - [`scp`]: an association acceptor answering C-ECHO and C-STORE for the
//!   storage SOP classes of [`STORAGE_SOP_CLASSES`] in the transfer syntaxes of
//!   [`TRANSFER_SYNTAXES`], with a calling-AE policy, a maximum PDU length, a
//!   cap on concurrent associations, timeouts and an instance size limit
//!   enforced while P-DATA arrives. Each instance is handed, as Part 10 bytes,
//!   to a [`scp::StoreHandler`]; a [`scp::Refusal`] answers a C-STORE failure.
//! - [`scu`]: sends Part 10 files to a peer with C-STORE, one outcome per file.
//!
//! The crate knows nothing of Carina's server: `carina-server` implements the
//! handler with its ingest. `docs/dicom-conformance.md` is the conformance
//! statement.

pub mod dimse;
pub mod part10;
pub mod scp;
pub mod scu;

pub use scp::{ReceivedInstance, Refusal, Scp, ScpConfig, StoreHandler};
pub use scu::{Peer, ScuConfig, SendError, SendOutcome, send};

/// Verification (C-ECHO).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// The storage SOP classes the SCP accepts, with their names.
pub const STORAGE_SOP_CLASSES: &[(&str, &str)] = &[
    (
        "1.2.840.10008.5.1.4.1.1.1",
        "Computed Radiography Image Storage",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.1.1",
        "Digital X-Ray Image Storage - For Presentation",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.1.1.1",
        "Digital X-Ray Image Storage - For Processing",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.7",
        "Secondary Capture Image Storage",
    ),
    ("1.2.840.10008.5.1.4.1.1.88.11", "Basic Text SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.22", "Enhanced SR Storage"),
    ("1.2.840.10008.5.1.4.1.1.88.33", "Comprehensive SR Storage"),
    (
        "1.2.840.10008.5.1.4.1.1.88.34",
        "Comprehensive 3D SR Storage",
    ),
];

/// Implicit VR Little Endian.
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// The transfer syntaxes the SCP accepts (those carina-imaging decodes), in
/// order of preference when a peer proposes several in one context.
pub const TRANSFER_SYNTAXES: &[(&str, &str)] = &[
    (EXPLICIT_VR_LE, "Explicit VR Little Endian"),
    (IMPLICIT_VR_LE, "Implicit VR Little Endian"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    (
        "1.2.840.10008.1.2.4.57",
        "JPEG Lossless, Non-Hierarchical (Process 14)",
    ),
    (
        "1.2.840.10008.1.2.4.70",
        "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [SV1])",
    ),
    (
        "1.2.840.10008.1.2.4.90",
        "JPEG 2000 Image Compression (Lossless Only)",
    ),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
];

/// A UID without the trailing NUL or space padding DICOM values carry.
pub fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

/// Checks an application entity title: 1 to 16 characters of the default
/// character repertoire, no backslash or control character, not only spaces.
/// Returns the title without leading and trailing spaces.
pub fn check_ae_title(title: &str) -> Result<String, String> {
    let t = title.trim();
    if t.is_empty() {
        return Err("an AE title may not be empty".into());
    }
    if t.len() > 16 {
        return Err(format!("AE title {t:?} is longer than 16 characters"));
    }
    if !t
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '\\')
    {
        return Err(format!(
            "AE title {t:?} may hold only printable ASCII characters other than a backslash"
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_titles() {
        assert_eq!(check_ae_title(" ORTHANC ").unwrap(), "ORTHANC");
        assert_eq!(check_ae_title("STORESCU-1").unwrap(), "STORESCU-1");
        for bad in ["", "   ", "A\\B", "SEVENTEEN_CHARS_X", "TAB\tX", "ÄRZTE"] {
            assert!(check_ae_title(bad).is_err(), "{bad:?}");
        }
    }
}
