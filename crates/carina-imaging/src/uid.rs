//! Deterministic DICOM UIDs and pseudonyms from keyed hashes.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `domain || 0x00 || value` under `key`.
pub(crate) fn keyed_hash(key: &[u8], domain: &str, value: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(value);
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A UID under the `2.25` root (ITU-T X.667: a UUID as one decimal number),
/// made from the first 128 bits of `hash`. At most 44 characters.
pub(crate) fn uid_from_hash(hash: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    // Mark it as a version-8 (custom) RFC 9562 UUID so the number is a valid UUID.
    b[6] = (b[6] & 0x0F) | 0x80;
    b[8] = (b[8] & 0x3F) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(b))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_valid_and_deterministic() {
        let a = uid_from_hash(&sha256(&[b"k", b"1.2.3"]));
        let b = uid_from_hash(&sha256(&[b"k", b"1.2.3"]));
        let c = uid_from_hash(&sha256(&[b"other", b"1.2.3"]));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.len() <= 64);
        assert!(a.starts_with("2.25."));
        assert!(a.bytes().all(|ch| ch.is_ascii_digit() || ch == b'.'));
        // no leading zero in the number component
        assert_ne!(a.as_bytes()[5], b'0');
    }
}
