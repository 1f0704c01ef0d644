//! The pre-scan on files built byte by byte: nesting, declared lengths,
//! truncation, encapsulated fragments, deflate and its cap.

use super::*;
use crate::decode::source::inflate_dataset;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

use carina_testkit::dicom::{element as el, item_tag, long_header};

/// Preamble, magic and file meta group for `ts`, then `dataset`.
fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut out = carina_testkit::dicom::part10_header("1.2.840.10008.5.1.4.1.1.7", "1.2.3.4", ts);
    out.extend_from_slice(dataset);
    out
}

/// `depth` sequences, each the only element of an item of the one around it.
fn nested_undefined(depth: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..depth {
        out.extend(long_header(0x0040, 0xA730, b"SQ", UNDEFINED));
        out.extend(item_tag(0xE000, UNDEFINED));
    }
    out.extend(el(0x0040, 0xA040, b"CS", b"TEXT"));
    for _ in 0..depth {
        out.extend(item_tag(0xE00D, 0));
        out.extend(item_tag(0xE0DD, 0));
    }
    out
}

/// The same nesting with defined lengths throughout.
fn nested_defined(depth: usize) -> Vec<u8> {
    let mut inner = el(0x0040, 0xA040, b"CS", b"TEXT");
    for _ in 0..depth {
        let mut item = item_tag(0xE000, inner.len() as u32);
        item.extend(&inner);
        let mut seq = long_header(0x0040, 0xA730, b"SQ", item.len() as u32);
        seq.extend(item);
        inner = seq;
    }
    inner
}

fn image_attrs(rows: u16, cols: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(el(0x0028, 0x0002, b"US", &1u16.to_le_bytes()));
    out.extend(el(0x0028, 0x0008, b"IS", b"3 "));
    out.extend(el(0x0028, 0x0010, b"US", &rows.to_le_bytes()));
    out.extend(el(0x0028, 0x0011, b"US", &cols.to_le_bytes()));
    out.extend(el(0x0028, 0x0100, b"US", &16u16.to_le_bytes()));
    out
}

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn nesting_up_to_the_limit_passes_and_one_more_is_refused() {
    for build in [nested_undefined, nested_defined] {
        let ok = scan(&part10(EXPLICIT_LE, &build(16)), &limits()).unwrap();
        assert_eq!(ok.max_depth, 16);
        let err = scan(&part10(EXPLICIT_LE, &build(17)), &limits()).unwrap_err();
        assert!(
            matches!(err, ImagingError::DicomTooDeep { limit: 16 }),
            "{err}"
        );
        assert!(err.to_string().contains("16 levels"), "{err}");
    }
    // The limit is configurable.
    let deeper = Limits {
        max_depth: 20,
        ..limits()
    };
    assert!(scan(&part10(EXPLICIT_LE, &nested_undefined(17)), &deeper).is_ok());
}

#[test]
fn deidentification_reads_under_the_callers_limits() {
    // A file the caller's decode accepts (depth 17 under a limit of 20) must
    // not be refused by de-identification's own default of 16.
    let bytes = part10(EXPLICIT_LE, &nested_undefined(17));
    let cfg = crate::DeidConfig::new(b"secret".to_vec());
    let err = crate::deidentify_dicom(&bytes, &cfg).unwrap_err();
    assert!(
        matches!(err, ImagingError::DicomTooDeep { limit: 16 }),
        "{err}"
    );
    let deeper = cfg.with_limits(Limits {
        max_depth: 20,
        ..limits()
    });
    let out = crate::deidentify_dicom(&bytes, &deeper);
    assert!(out.is_ok(), "{:?}", out.err());
}

#[test]
fn three_thousand_levels_are_refused_without_recursion() {
    let bytes = part10(EXPLICIT_LE, &nested_undefined(3000));
    let err = scan(&bytes, &limits()).unwrap_err();
    assert!(matches!(err, ImagingError::DicomTooDeep { .. }), "{err}");
    // Through the one way into dicom-rs as well (it would overflow the stack).
    let err = super::super::read_object(&bytes).unwrap_err();
    assert!(matches!(err, ImagingError::DicomTooDeep { .. }), "{err}");
}

#[test]
fn implicit_vr_sequences_are_known_from_the_dictionary() {
    // (0008,1140) Referenced Image Sequence, defined lengths, implicit VR:
    // only the dictionary says it is a sequence.
    let mut inner = Vec::new();
    for _ in 0..17 {
        let mut item = item_tag(0xE000, inner.len() as u32);
        item.extend(&inner);
        let mut seq = vec![0x08, 0x00, 0x40, 0x11];
        seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
        seq.extend(item);
        inner = seq;
    }
    let err = scan(&part10(IMPLICIT_VR_LE, &inner), &limits()).unwrap_err();
    assert!(matches!(err, ImagingError::DicomTooDeep { .. }), "{err}");
}

#[test]
fn an_overlong_declared_length_is_refused_before_reading() {
    let mut ds = el(0x0008, 0x0060, b"CS", b"DX");
    ds.extend(long_header(0x0009, 0x1010, b"OB", 0xFFFF_FFF0));
    ds.extend_from_slice(&[0u8; 64]);
    let err = scan(&part10(EXPLICIT_LE, &ds), &limits()).unwrap_err();
    match &err {
        ImagingError::DicomLengthOverrun {
            tag,
            declared,
            available,
            ..
        } => {
            assert_eq!(tag, "(0009,1010)");
            assert_eq!(*declared, 0xFFFF_FFF0);
            assert_eq!(*available, 64);
        }
        other => panic!("expected DicomLengthOverrun, got {other:?}"),
    }
    assert!(err.to_string().contains("4294967280"), "{err}");
    // De-identification reads through the same gate.
    let err = super::super::read_object(&part10(EXPLICIT_LE, &ds)).unwrap_err();
    assert!(
        matches!(err, ImagingError::DicomLengthOverrun { .. }),
        "{err}"
    );
}

#[test]
fn truncated_files_are_refused() {
    let mut ds = image_attrs(4, 4);
    ds.extend(el(0x7FE0, 0x0010, b"OW", &[0u8; 32]));
    let whole = part10(EXPLICIT_LE, &ds);
    assert!(scan(&whole, &limits()).is_ok());
    // Cut inside the pixel data value.
    let err = scan(&whole[..whole.len() - 5], &limits()).unwrap_err();
    assert!(
        matches!(err, ImagingError::DicomLengthOverrun { .. }),
        "{err}"
    );
    // Cut inside a header.
    let cut = whole.len() - 32 - 6;
    assert!(scan(&whole[..cut], &limits()).is_err());
    // Cut inside a sequence.
    let nested = part10(EXPLICIT_LE, &nested_undefined(3));
    let err = scan(&nested[..nested.len() - 8], &limits()).unwrap_err();
    assert!(err.to_string().contains("inside a sequence"), "{err}");
    // Cut inside the file meta group.
    assert!(scan(&whole[..150], &limits()).is_err());
}

#[test]
fn an_element_overrunning_its_item_is_refused() {
    let value = el(0x0040, 0xA040, b"CS", b"TEXT");
    // The item says 4 bytes, the element inside it takes 12.
    let mut ds = long_header(0x0040, 0xA730, b"SQ", UNDEFINED);
    ds.extend(item_tag(0xE000, 4));
    ds.extend(&value);
    ds.extend(item_tag(0xE0DD, 0));
    let err = scan(&part10(EXPLICIT_LE, &ds), &limits()).unwrap_err();
    assert!(err.to_string().contains("item"), "{err}");
}

fn encapsulated(fragments: &[Vec<u8>], end: bool) -> Vec<u8> {
    let mut ds = image_attrs(8, 8);
    ds.extend(long_header(0x7FE0, 0x0010, b"OB", UNDEFINED));
    ds.extend(item_tag(0xE000, 0)); // empty basic offset table
    for f in fragments {
        ds.extend(item_tag(0xE000, f.len() as u32));
        ds.extend(f);
    }
    if end {
        ds.extend(item_tag(0xE0DD, 0));
    }
    ds
}

#[test]
fn encapsulated_fragments_are_walked() {
    let frags = vec![vec![1u8; 10], vec![2u8; 30]];
    let ds = encapsulated(&frags, true);
    let s = scan(&part10("1.2.840.10008.1.2.4.50", &ds), &limits()).unwrap();
    assert!(s.image.pixel_data && s.image.encapsulated);
    assert_eq!(s.image.rows, Some(8));
    assert_eq!(s.image.columns, Some(8));
    assert_eq!(s.image.frames, Some(3));
    assert_eq!(s.image.bits_allocated, Some(16));
    // Five attributes, the pixel data element, the offset table and two fragments.
    assert_eq!(s.elements, 5 + 1 + 1 + 2);
    assert_eq!(s.dataset_len, ds.len() as u64);
    // Without the final delimiter dicom-rs ends gracefully; so does the scan.
    let no_end = encapsulated(&frags, false);
    assert!(scan(&part10("1.2.840.10008.1.2.4.50", &no_end), &limits()).is_ok());

    // A fragment that claims more than the file holds.
    let mut ds = encapsulated(&[], false);
    ds.extend(item_tag(0xE000, 1_000_000));
    ds.extend_from_slice(&[0u8; 100]);
    let err = scan(&part10("1.2.840.10008.1.2.4.50", &ds), &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::DicomLengthOverrun {
                declared: 1_000_000,
                ..
            }
        ),
        "{err}"
    );
    // A fragment of undefined length.
    let mut ds = encapsulated(&[], false);
    ds.extend(item_tag(0xE000, UNDEFINED));
    let err = scan(&part10("1.2.840.10008.1.2.4.50", &ds), &limits()).unwrap_err();
    assert!(err.to_string().contains("undefined length"), "{err}");
    // Something other than an item among the fragments.
    let mut ds = encapsulated(&[], false);
    ds.extend(el(0x0008, 0x0060, b"CS", b"DX"));
    assert!(scan(&part10("1.2.840.10008.1.2.4.50", &ds), &limits()).is_err());
}

#[test]
fn nested_image_attributes_are_not_the_images() {
    let mut ds = image_attrs(100, 200);
    // An icon-like sequence with its own Rows.
    ds.extend(long_header(0x0088, 0x0200, b"SQ", UNDEFINED));
    ds.extend(item_tag(0xE000, UNDEFINED));
    ds.extend(el(0x0028, 0x0010, b"US", &7u16.to_le_bytes()));
    ds.extend(item_tag(0xE00D, 0));
    ds.extend(item_tag(0xE0DD, 0));
    ds.extend(el(0x7FE0, 0x0010, b"OW", &[0u8; 8]));
    let s = scan(&part10(EXPLICIT_LE, &ds), &limits()).unwrap();
    assert_eq!((s.image.rows, s.image.columns), (Some(100), Some(200)));
    assert!(s.image.pixel_data && !s.image.encapsulated);
    assert_eq!(s.max_depth, 1);
}

#[test]
fn text_values_are_counted() {
    let mut ds = el(0x0008, 0x0008, b"CS", b"A\\B\\C\\D ");
    ds.extend(el(0x0010, 0x0010, b"PN", b"X^Y "));
    let s = scan(&part10(EXPLICIT_LE, &ds), &limits()).unwrap();
    assert_eq!(s.text_values, 5);
    assert_eq!(s.elements, 2);
}

#[test]
fn explicit_big_endian_is_walked() {
    let mut ds = Vec::new();
    // (0028,0010) US 2 = 300, big endian.
    ds.extend_from_slice(&[0x00, 0x28, 0x00, 0x10, b'U', b'S', 0x00, 0x02, 0x01, 0x2C]);
    // (0009,1010) OB with an overlong length.
    ds.extend_from_slice(&[0x00, 0x09, 0x10, 0x10, b'O', b'B', 0, 0, 0x7F, 0, 0, 0]);
    let err = scan(&part10(EXPLICIT_VR_BE, &ds), &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::DicomLengthOverrun {
                declared: 0x7F00_0000,
                ..
            }
        ),
        "{err}"
    );
    let s = scan(&part10(EXPLICIT_VR_BE, &ds[..10]), &limits()).unwrap();
    assert_eq!(s.image.rows, Some(300));
}

#[test]
fn the_meta_group_must_start_with_its_length() {
    let mut bytes = part10(EXPLICIT_LE, &[]);
    bytes[134] = 0x01; // (0002,0001) instead of (0002,0000)
    assert!(scan(&bytes, &limits()).is_err());
}

fn deflated(dataset: &[u8]) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec(dataset, 6);
    part10(DEFLATED[0], &packed)
}

#[test]
fn deflated_data_sets_are_scanned_while_inflating() {
    let mut ds = image_attrs(16, 16);
    for i in 0..2000u16 {
        ds.extend(el(0x0009, 0x1000 + i, b"LO", b"PRIVATE VALUE   "));
    }
    ds.extend(el(0x7FE0, 0x0010, b"OW", &[7u8; 512]));
    let bytes = deflated(&ds);
    let s = scan(&bytes, &limits()).unwrap();
    assert!(s.deflated);
    assert_eq!(s.dataset_len, ds.len() as u64);
    assert_eq!(s.image.rows, Some(16));
    let back = inflate_dataset(&bytes[s.dataset_offset..], s.dataset_len).unwrap();
    assert_eq!(back, ds);

    // Many small elements: the running total hits the cap.
    let small_cap = Limits {
        max_inflated_bytes: 20_000,
        ..limits()
    };
    let err = scan(&bytes, &small_cap).unwrap_err();
    assert!(
        matches!(err, ImagingError::InflatedTooLarge { limit: 20_000 }),
        "{err}"
    );
    assert!(err.to_string().contains("20000"), "{err}");
}

#[test]
fn a_deflated_element_past_the_cap_is_refused_before_inflating_it() {
    // A private element declaring 1 GiB; only its first bytes are present.
    let mut ds = image_attrs(16, 16);
    ds.extend(long_header(0x0009, 0x1010, b"OB", 1 << 30));
    ds.extend_from_slice(&[0u8; 4096]);
    let bytes = deflated(&ds);
    let err = scan(&bytes, &limits()).unwrap_err();
    assert!(
        matches!(err, ImagingError::InflatedTooLarge { limit } if limit == 1 << 30),
        "{err}"
    );
    // Under a larger cap it is what it is: a length the data cannot back.
    let big = Limits {
        max_inflated_bytes: 4 << 30,
        ..limits()
    };
    let err = scan(&bytes, &big).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::DicomLengthOverrun {
                available: 4096,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn corrupt_deflate_is_an_error() {
    let mut bytes = part10(DEFLATED[0], &[0xFF; 64]);
    bytes.extend_from_slice(&[0xFF; 64]);
    assert!(scan(&bytes, &limits()).is_err());
}
