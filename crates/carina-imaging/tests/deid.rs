//! De-identification: no original identifier survives, pixels are untouched,
//! pseudonyms are stable.

use carina_imaging::{DeidConfig, Limits, decode, deidentify_dicom};
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};

use crate::common::read_sample;

const PHI: &[&str] = &[
    "DOE^JANE",
    "MRN-4815162342",
    "19610412",
    "42 WALLABY WAY SYDNEY",
    "+1-555-0199",
    "ST ELSEWHERE HOSPITAL",
    "HOUSE^GREGORY",
    "ACC-99887766",
    "OTHER-ID-777",
    "SECRET PRIVATE NOTE",
    "CUDDY^LISA",
    "XR-ROOM-7",
    "SN-0042-1337",
    "CHEST FOR JANE DOE",
    "1.2.999.123456.7",
    "20240229",
    "UNKNOWN-PHI-55",
    "OLD-MRN-31337",
];

fn s(v: &str) -> PrimitiveValue {
    PrimitiveValue::from(v)
}

/// The SIIM sample with identifying attributes added at the top level, inside
/// a sequence, and in a private block.
fn file_with_phi(patient_id: &str) -> (Vec<u8>, Vec<String>) {
    let bytes = read_sample("dicom/siim_cr_jpeg_baseline.dcm");
    let mut obj = OpenFileOptions::new().from_reader(&bytes[128..]).unwrap();
    let mut put = |tag, vr, v: &str| {
        obj.put(DataElement::new(tag, vr, s(v)));
    };
    put(tags::PATIENT_NAME, VR::PN, "DOE^JANE");
    put(tags::PATIENT_ID, VR::LO, patient_id);
    put(tags::PATIENT_BIRTH_DATE, VR::DA, "19610412");
    put(tags::PATIENT_ADDRESS, VR::LO, "42 WALLABY WAY SYDNEY");
    put(tags::PATIENT_TELEPHONE_NUMBERS, VR::SH, "+1-555-0199");
    put(tags::PATIENT_SEX, VR::CS, "F");
    put(Tag(0x0010, 0x1000), VR::LO, "OLD-MRN-31337");
    put(tags::INSTITUTION_NAME, VR::LO, "ST ELSEWHERE HOSPITAL");
    put(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "HOUSE^GREGORY");
    put(tags::ACCESSION_NUMBER, VR::SH, "ACC-99887766");
    put(tags::STATION_NAME, VR::SH, "XR-ROOM-7");
    put(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-0042-1337");
    put(tags::STUDY_DESCRIPTION, VR::LO, "CHEST FOR JANE DOE");
    put(tags::STUDY_DATE, VR::DA, "20240229");
    put(tags::FRAME_OF_REFERENCE_UID, VR::UI, "1.2.999.123456.7");
    // An identifier hidden in a sequence item, next to a name the table does not list.
    let item = InMemDicomObject::from_element_iter([
        DataElement::new(tags::PATIENT_ID, VR::LO, s("OTHER-ID-777")),
        DataElement::new(Tag(0x0040, 0xA123), VR::PN, s("CUDDY^LISA")),
    ]);
    obj.put(DataElement::new(
        tags::OTHER_PATIENT_I_DS_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(vec![item.clone()], Length::UNDEFINED),
    ));
    obj.put(DataElement::new(
        tags::CONTENT_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(vec![item], Length::UNDEFINED),
    ));
    // A public-group tag this dictionary does not know, as an implicit-VR file would give.
    obj.put(DataElement::new(
        Tag(0x0040, 0x9999),
        VR::UN,
        PrimitiveValue::U8(b"UNKNOWN-PHI-55".to_vec().into()),
    ));
    obj.put(DataElement::new(Tag(0x0029, 0x0010), VR::LO, s("ACME 1.0")));
    obj.put(DataElement::new(
        Tag(0x0029, 0x1001),
        VR::LO,
        s("SECRET PRIVATE NOTE"),
    ));
    let originals = [
        "STUDY_INSTANCE_UID",
        "SERIES_INSTANCE_UID",
        "SOP_INSTANCE_UID",
    ]
    .iter()
    .zip([
        tags::STUDY_INSTANCE_UID,
        tags::SERIES_INSTANCE_UID,
        tags::SOP_INSTANCE_UID,
    ])
    .map(|(_, t)| {
        obj.element(t)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string()
    })
    .collect();
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    (out, originals)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn no_phi_survives_and_pixels_are_unchanged() {
    let (input, uids) = file_with_phi("MRN-4815162342");
    for needle in PHI.iter().copied().chain(uids.iter().map(String::as_str)) {
        assert!(
            contains(&input, needle),
            "test setup: {needle} not in input"
        );
    }
    let cfg = DeidConfig::new(b"test-secret".to_vec());
    let out = deidentify_dicom(&input, &cfg).unwrap();
    for needle in PHI.iter().copied().chain(uids.iter().map(String::as_str)) {
        assert!(
            !contains(&out.bytes, needle),
            "{needle} survived de-identification"
        );
    }
    assert!(!uids.contains(&out.study_uid));

    let before = decode(&input, &Limits::default()).unwrap();
    let after = decode(&out.bytes, &Limits::default()).unwrap();
    assert!(before.image == after.image, "pixels changed");
    assert_eq!(
        before.meta.transfer_syntax_uid,
        after.meta.transfer_syntax_uid
    );
    assert!(!before.meta.deidentified && before.meta.patient_pseudonym.is_none());
    assert!(after.meta.deidentified);
    assert_eq!(
        after.meta.patient_pseudonym.as_deref(),
        Some(out.patient_pseudonym.as_str())
    );
    assert_eq!(
        after.meta.study_pseudonym.as_deref(),
        Some(out.study_uid.as_str())
    );

    let obj = OpenFileOptions::new()
        .from_reader(&out.bytes[128..])
        .unwrap();
    let get = |t| {
        obj.element(t)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string()
    };
    assert_eq!(get(tags::PATIENT_IDENTITY_REMOVED), "YES");
    assert_eq!(get(tags::PATIENT_ID), out.patient_pseudonym);
    assert_eq!(get(tags::SOP_INSTANCE_UID), out.sop_instance_uid);
    assert_eq!(
        obj.meta().media_storage_sop_instance_uid(),
        out.sop_instance_uid
    );
    assert!(
        obj.get(tags::PATIENT_SEX)
            .is_none_or(|e| e.to_str().unwrap().trim().is_empty())
    );
    assert!(obj.get(Tag(0x0029, 0x1001)).is_none());
}

#[test]
fn pseudonyms_are_stable_and_keyed() {
    let cfg = DeidConfig::new(b"k1".to_vec());
    let (a, _) = file_with_phi("MRN-1");
    let a1 = deidentify_dicom(&a, &cfg).unwrap();
    let a2 = deidentify_dicom(&a, &cfg).unwrap();
    assert!(a1.bytes == a2.bytes, "de-identification is deterministic");
    assert!(a1.patient_pseudonym.starts_with("P-") && a1.patient_pseudonym.len() == 18);

    // Another file of the same patient: same pseudonym; another patient: different.
    let rg1 = read_sample("dicom/RG1_J2KI.dcm");
    let mut obj = OpenFileOptions::new().from_reader(&rg1[128..]).unwrap();
    obj.put(DataElement::new(tags::PATIENT_ID, VR::LO, s("MRN-1")));
    let mut same_patient = Vec::new();
    obj.write_all(&mut same_patient).unwrap();
    let b = deidentify_dicom(&same_patient, &cfg).unwrap();
    assert_eq!(a1.patient_pseudonym, b.patient_pseudonym);
    assert_ne!(a1.study_uid, b.study_uid);
    let (c, _) = file_with_phi("MRN-2");
    assert_ne!(
        deidentify_dicom(&c, &cfg).unwrap().patient_pseudonym,
        a1.patient_pseudonym
    );

    // Another key: nothing matches.
    let other = deidentify_dicom(&a, &DeidConfig::new(b"k2".to_vec())).unwrap();
    assert_ne!(other.patient_pseudonym, a1.patient_pseudonym);
    assert_ne!(other.study_uid, a1.study_uid);
}

#[test]
fn patient_characteristics_can_be_retained() {
    let (input, _) = file_with_phi("MRN-3");
    let mut cfg = DeidConfig::new(b"k".to_vec());
    cfg.retain_patient_characteristics = true;
    let out = deidentify_dicom(&input, &cfg).unwrap();
    let obj = OpenFileOptions::new()
        .from_reader(&out.bytes[128..])
        .unwrap();
    assert_eq!(
        obj.element(tags::PATIENT_SEX)
            .unwrap()
            .to_str()
            .unwrap()
            .trim(),
        "F"
    );
    assert!(!contains(&out.bytes, "DOE^JANE"));
}

/// Every string value of the given VRs in a data set, recursively.
fn identifying_values(obj: &InMemDicomObject, out: &mut Vec<String>) {
    for e in obj.iter() {
        if let Some(items) = e.items() {
            for it in items {
                identifying_values(it, out);
            }
            continue;
        }
        let identifying = matches!(e.vr(), VR::PN | VR::DA | VR::DT | VR::UI)
            || [
                tags::PATIENT_ID,
                Tag(0x0010, 0x1000), // Other Patient IDs
                tags::ACCESSION_NUMBER,
                tags::INSTITUTION_NAME,
                tags::STUDY_ID,
            ]
            .contains(&e.tag());
        if identifying && let Ok(v) = e.to_str() {
            for part in v.split('\\') {
                let p = part.trim_matches(|c: char| c == '\0' || c == ' ');
                if p.len() >= 6 && !p.starts_with("1.2.840.10008.") {
                    out.push(p.to_string());
                }
            }
        }
    }
}

#[test]
fn real_samples_deidentify_and_still_decode() {
    let cfg = DeidConfig::new(b"secret".to_vec());
    for name in [
        "RG1_UNCR.dcm",
        "RG1_J2KR.dcm",
        "RG1_J2KI.dcm",
        "siim_cr_jpeg_baseline.dcm",
        "siim_cr_monochrome1.dcm",
    ] {
        let input = read_sample(&format!("dicom/{name}"));
        let obj = OpenFileOptions::new().from_reader(&input[128..]).unwrap();
        let mut values = Vec::new();
        identifying_values(&obj, &mut values);
        assert!(!values.is_empty(), "{name}: nothing to check");
        let out = deidentify_dicom(&input, &cfg).unwrap();
        assert!(
            out.bytes[..128].iter().all(|&b| b == 0),
            "{name}: preamble kept"
        );
        for v in &values {
            assert!(!contains(&out.bytes, v), "{name}: {v} survived");
        }
        let before = decode(&input, &Limits::default()).unwrap();
        let after = decode(&out.bytes, &Limits::default()).unwrap();
        assert!(before.image == after.image, "{name}: pixels changed");
        assert_eq!(before.meta.window, after.meta.window, "{name}");
        assert_eq!(
            before.meta.transfer_syntax_uid, after.meta.transfer_syntax_uid,
            "{name}"
        );
        // Compressed pixel data is carried over, not re-encoded.
        let grew = out.bytes.len() as i64 - input.len() as i64;
        assert!(grew.abs() < 4096, "{name}: size changed by {grew} bytes");
    }
}

#[test]
fn garbage_is_refused() {
    let cfg = DeidConfig::new(b"k".to_vec());
    assert!(deidentify_dicom(b"", &cfg).is_err());
    assert!(deidentify_dicom(b"not a dicom file at all", &cfg).is_err());
    let png = read_sample("png/00000001_000.png");
    assert!(deidentify_dicom(&png, &cfg).is_err());
    assert!(format!("{cfg:?}").contains("redacted"));
    let dcm = read_sample("dicom/siim_cr_jpeg_baseline.dcm");
    assert!(deidentify_dicom(&dcm, &DeidConfig::new(Vec::new())).is_err());
}
