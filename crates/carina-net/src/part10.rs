//! DICOM Part 10 files from a received data set, and back.

use dicom_object::meta::{FileMetaTable, FileMetaTableBuilder};

/// Carina's implementation class UID (a UUID-derived `2.25` root).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.262927143880118035779426346612513418553";
/// Carina's implementation version name.
pub const IMPLEMENTATION_VERSION_NAME: &str = "CARINA_NET_01";

/// Why bytes are not a Part 10 file Carina can send.
#[derive(Debug, thiserror::Error)]
pub enum Part10Error {
    #[error("not a DICOM Part 10 file (no 128-byte preamble and DICM)")]
    NoPreamble,
    #[error("unreadable file meta information: {0}")]
    Meta(String),
    #[error("the file meta information names no {0}")]
    Missing(&'static str),
}

/// A Part 10 file: the 128-byte preamble, `DICM`, the file meta group
/// (from the command's SOP class and instance UIDs and the accepted transfer
/// syntax), then the data set as received.
pub fn build(
    sop_class_uid: &str,
    sop_instance_uid: &str,
    transfer_syntax: &str,
    data_set: &[u8],
) -> Vec<u8> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .expect("every required meta element is given");
    let mut out = Vec::with_capacity(data_set.len() + 256);
    out.resize(128, 0);
    out.extend_from_slice(b"DICM");
    meta.write(&mut out)
        .expect("writing the meta group to memory cannot fail");
    out.extend_from_slice(data_set);
    out
}

/// A Part 10 file taken apart for sending.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    /// The data set, encoded in `transfer_syntax`.
    pub data_set: &'a [u8],
}

/// Reads the file meta group of a Part 10 file and finds its data set.
pub fn split(file: &[u8]) -> Result<Split<'_>, Part10Error> {
    if file.len() < 132 || &file[128..132] != b"DICM" {
        return Err(Part10Error::NoPreamble);
    }
    let mut cursor = std::io::Cursor::new(&file[128..]);
    let meta =
        FileMetaTable::from_reader(&mut cursor).map_err(|e| Part10Error::Meta(e.to_string()))?;
    let start = 128 + cursor.position() as usize;
    let need = |s: &str, what| {
        let s = crate::trim_uid(s).trim();
        if s.is_empty() {
            Err(Part10Error::Missing(what))
        } else {
            Ok(s.to_string())
        }
    };
    Ok(Split {
        sop_class_uid: need(
            meta.media_storage_sop_class_uid(),
            "Media Storage SOP Class UID",
        )?,
        sop_instance_uid: need(
            meta.media_storage_sop_instance_uid(),
            "Media Storage SOP Instance UID",
        )?,
        transfer_syntax: need(meta.transfer_syntax(), "Transfer Syntax UID")?,
        data_set: &file[start.min(file.len())..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_split() {
        let data = [0x08u8, 0x00, 0x16, 0x00, 2, 0, 0, 0, b'1', 0];
        let file = build(
            "1.2.840.10008.5.1.4.1.1.7",
            "1.2.3",
            "1.2.840.10008.1.2",
            &data,
        );
        let s = split(&file).unwrap();
        assert_eq!(s.sop_class_uid, "1.2.840.10008.5.1.4.1.1.7");
        assert_eq!(s.sop_instance_uid, "1.2.3");
        assert_eq!(s.transfer_syntax, "1.2.840.10008.1.2");
        assert_eq!(s.data_set, &data);
        assert!(matches!(split(b"not dicom"), Err(Part10Error::NoPreamble)));
        let mut broken = file.clone();
        broken.truncate(140);
        assert!(split(&broken).is_err());
    }
}
