//! Deterministic UIDs under the `2.25` root (a UUID as one decimal number,
//! ITU-T X.667), from SHA-256 of a domain and the parts that identify the
//! thing: the same parts give the same UID, different parts another.

use sha2::{Digest, Sha256};

/// `2.25.<u128>` from SHA-256 of `domain`, then each part preceded by its
/// length (so parts cannot run into each other), marked as an RFC 9562
/// version-8 UUID. At most 44 characters.
pub(crate) fn derive_uid(domain: &str, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0F) | 0x80;
    b[8] = (b[8] & 0x3F) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// The Tracking Unique Identifier of a box: the same image and box id give
/// the same UID in every SR Carina writes.
pub fn tracking_uid(image_sop_instance_uid: &str, box_id: &str) -> String {
    derive_uid(
        "carina-sr/tracking",
        &[image_sop_instance_uid.as_bytes(), box_id.as_bytes()],
    )
}

/// Whether `s` is a valid UID (PS3.5 9.1): 1–64 characters, digits and
/// dots, components without leading zeros.
pub fn is_valid_uid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_uids_are_valid_and_stable() {
        let a = tracking_uid("1.2.3", "7");
        assert_eq!(a, tracking_uid("1.2.3", "7"));
        assert_ne!(a, tracking_uid("1.2.3", "8"));
        assert_ne!(a, tracking_uid("1.2.37", ""));
        assert!(is_valid_uid(&a) && a.len() <= 44, "{a}");
        assert!(!is_valid_uid("1.02"));
        assert!(!is_valid_uid("1..2"));
        assert!(!is_valid_uid(""));
        assert!(is_valid_uid("1.0.2"));
    }
}
