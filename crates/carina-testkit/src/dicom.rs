//! DICOM bytes written by hand, for tests that need files no encoder would
//! write (hostile lengths, deep nesting, truncation): explicit VR little
//! endian elements, item and delimiter tags.

/// The VRs whose explicit-VR header is the short form (2-byte length).
const SHORT_VRS: [&[u8; 2]; 21] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];

/// The header of an explicit VR little endian element declaring `len` bytes,
/// in the form its VR takes (PS3.5 7.1.2).
pub fn header(group: u16, element: u16, vr: &[u8; 2], len: u32) -> Vec<u8> {
    if SHORT_VRS.contains(&vr) {
        let mut out = tag_and_vr(group, element, vr);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out
    } else {
        long_header(group, element, vr, len)
    }
}

/// A long-form header (2 reserved bytes, 4-byte length) whatever the VR, with
/// any declared length (undefined, or far beyond the file).
pub fn long_header(group: u16, element: u16, vr: &[u8; 2], len: u32) -> Vec<u8> {
    let mut out = tag_and_vr(group, element, vr);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out
}

fn tag_and_vr(group: u16, element: u16, vr: &[u8; 2]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out
}

/// An explicit VR little endian element with its value.
pub fn element(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = header(group, element, vr, value.len() as u32);
    out.extend_from_slice(value);
    out
}

/// An item or delimiter tag `(FFFE,element)` with a length (the same in
/// every little endian encoding).
pub fn item_tag(element: u16, len: u32) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out
}

/// `s` padded to an even length with `pad` (a space for text, NUL for UIDs).
pub fn even(s: &str, pad: u8) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(pad);
    }
    v
}

/// The 128-byte preamble, `DICM` and the file meta group (version, SOP
/// class and instance, transfer syntax `ts`, with its group length): the
/// start of a Part 10 file, to which the data set is appended.
pub fn part10_header(sop_class: &str, sop_instance: &str, ts: &str) -> Vec<u8> {
    let mut meta = Vec::new();
    meta.extend(element(0x0002, 0x0001, b"OB", &[0, 1]));
    meta.extend(element(0x0002, 0x0002, b"UI", &even(sop_class, 0)));
    meta.extend(element(0x0002, 0x0003, b"UI", &even(sop_instance, 0)));
    meta.extend(element(0x0002, 0x0010, b"UI", &even(ts, 0)));
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    let group_length = (meta.len() as u32).to_le_bytes();
    out.extend(element(0x0002, 0x0000, b"UL", &group_length));
    out.extend(meta);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms() {
        assert_eq!(
            element(0x0010, 0x0010, b"PN", b"AB"),
            [0x10, 0, 0x10, 0, b'P', b'N', 2, 0, b'A', b'B']
        );
        assert_eq!(
            header(0x7FE0, 0x0010, b"OB", 4),
            [0xE0, 0x7F, 0x10, 0, b'O', b'B', 0, 0, 4, 0, 0, 0]
        );
        assert_eq!(
            item_tag(0xE000, u32::MAX),
            [0xFE, 0xFF, 0, 0xE0, 255, 255, 255, 255]
        );
        assert_eq!(even("1.2", 0), b"1.2\0");
        assert_eq!(even("AB", b' '), b"AB");
        let h = part10_header("1.2", "3.4", "1.2.840.10008.1.2.1");
        assert_eq!(&h[128..132], b"DICM");
        // Group length = the bytes of the meta elements after it.
        let len = u32::from_le_bytes(h[140..144].try_into().unwrap()) as usize;
        assert_eq!(h.len(), 144 + len);
    }
}
