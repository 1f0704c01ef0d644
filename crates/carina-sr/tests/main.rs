//! Black-box tests of carina-sr: round trips, refusals, and external readers
//! (dcmtk's `dsrdump`, highdicom).

mod encapsulated;
mod external;
mod refuse;
mod report;
mod roundtrip;

use std::time::{Duration, UNIX_EPOCH};

use carina_core::{BBox, BoxStatus, Finding, Provenance};
use carina_sr::{SrBox, SrDocument, SrImageRef};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};

pub const IMAGE_UID: &str = "2.25.301234567890123456789012345678901234567";
pub const WIDTH: f64 = 3000.0;
pub const HEIGHT: f64 = 2500.0;

pub fn image() -> SrImageRef {
    SrImageRef {
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.1.1".into(),
        sop_instance_uid: IMAGE_UID.into(),
        study_instance_uid: "2.25.111".into(),
        series_instance_uid: "2.25.222".into(),
        patient_id: "PSEUDO-7F3A".into(),
        patient_name: "PSEUDO-7F3A".into(),
        patient_sex: Some("O".into()),
        study_date: Some("20200102".into()),
        study_time: Some("101500".into()),
        study_id: Some("S1".into()),
        accession_number: None,
        patient_birth_date: None,
    }
}

pub fn doc() -> SrDocument {
    SrDocument::new(
        UNIX_EPOCH + Duration::from_secs(1_795_637_703),
        "0.1.0-test",
    )
}

pub fn sr_box(
    id: &str,
    label: &str,
    b: [f64; 4],
    provenance: Provenance,
    status: BoxStatus,
) -> SrBox {
    SrBox {
        box_id: id.into(),
        label: label.into(),
        bbox: BBox::new(b[0], b[1], b[2], b[3]).unwrap(),
        provenance,
        status,
    }
}

pub fn radiologist(user: &str) -> Provenance {
    Provenance::Radiologist { user: user.into() }
}

/// One box per finding, at awkward coordinates: half pixels, the image's
/// edges, ~10^4 pixels, a zero-width box.
pub fn nine_boxes() -> Vec<SrBox> {
    let coords: [[f64; 4]; 9] = [
        [0.5, 0.5, 10.5, 20.5],
        [0.0, 0.0, WIDTH, HEIGHT],
        [1234.567, 89.01, 2345.678, 1999.99],
        [9999.5, 9998.25, 10000.0, 10000.0],
        [12.3, 45.6, 12.3, 78.9],
        [2999.49, 2499.51, WIDTH, HEIGHT],
        [100.125, 200.375, 300.625, 400.875],
        [0.01, 0.02, 0.03, 0.04],
        [1500.0, 1.5, 2999.5, 2498.5],
    ];
    Finding::ALL
        .iter()
        .zip(coords)
        .enumerate()
        .map(|(i, (f, c))| {
            let prov = match i % 3 {
                0 => radiologist("ann"),
                1 => Provenance::Model {
                    model: "carina-demo".into(),
                    version: "3".into(),
                },
                _ => Provenance::Consensus {
                    user: "rev".into(),
                    readers: vec!["ann".into(), "bob".into()],
                },
            };
            sr_box(
                &format!("box-{}", i + 1),
                f.name(),
                c,
                prov,
                BoxStatus::ALL[i % 5],
            )
        })
        .collect()
}

/// Parse a Part 10 file for a test to inspect or change.
pub fn open(bytes: &[u8]) -> dicom_object::DefaultDicomObject {
    OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Never)
        .from_reader(&bytes[128..])
        .unwrap()
}

/// Write an object back as a Part 10 file.
pub fn save(obj: &dicom_object::DefaultDicomObject) -> Vec<u8> {
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

/// The file after `f` changed the content item at `path` (indices into
/// nested Content Sequences; `[]` is the root data set).
pub fn mutate(bytes: &[u8], path: &[usize], mut f: impl FnMut(&mut InMemDicomObject)) -> Vec<u8> {
    let mut obj = open(bytes);
    at(&mut obj, path, &mut f);
    save(&obj)
}

fn at(obj: &mut InMemDicomObject, path: &[usize], f: &mut dyn FnMut(&mut InMemDicomObject)) {
    match path.split_first() {
        None => f(obj),
        Some((i, rest)) => {
            assert!(obj.update_value(tags::CONTENT_SEQUENCE, |v| {
                at(&mut v.items_mut().unwrap()[*i], rest, f)
            }));
        }
    }
}

/// Index of the child of the item at `path` whose concept name has `value`.
pub fn child(bytes: &[u8], path: &[usize], value: &str) -> usize {
    let obj = open(bytes);
    let mut o: &InMemDicomObject = &obj;
    for i in path {
        o = &o.get(tags::CONTENT_SEQUENCE).unwrap().items().unwrap()[*i];
    }
    o.get(tags::CONTENT_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .position(|c| {
            c.get(tags::CONCEPT_NAME_CODE_SEQUENCE)
                .unwrap()
                .items()
                .unwrap()[0]
                .get(tags::CODE_VALUE)
                .unwrap()
                .to_str()
                .unwrap()
                .trim()
                == value
        })
        .unwrap_or_else(|| panic!("no child named {value}"))
}

/// Path of measurement group `n` (0-based) in a Carina SR.
pub fn group_path(bytes: &[u8], n: usize) -> Vec<usize> {
    vec![child(bytes, &[], "126010"), n]
}

pub fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(tag, vr, v));
}

pub fn put_items(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(
        tag,
        VR::SQ,
        DataSetSequence::new(items, Length::UNDEFINED),
    ));
}

/// Whether a test that needs an external tool must run: under CI it must.
pub fn required() -> bool {
    std::env::var_os("CI").is_some()
}
