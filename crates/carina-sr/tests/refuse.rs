//! Bad input: every case an error with a message, never a panic.

use carina_core::BoxStatus;
use carina_sr::{
    ReadLimits, SrError, read_measurement_report, read_measurement_report_with,
    write_measurement_report,
};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::*;

fn carina_sr() -> Vec<u8> {
    write_measurement_report(&image(), &nine_boxes(), &doc()).unwrap()
}

/// Change a child (by concept name code value) of group 0.
fn in_group(bytes: &[u8], name: &str, f: impl FnMut(&mut InMemDicomObject)) -> Vec<u8> {
    let mut path = group_path(bytes, 0);
    path.push(child(bytes, &path, name));
    mutate(bytes, &path, f)
}

fn code_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let mut c = InMemDicomObject::new_empty();
    put_str(&mut c, tags::CODE_VALUE, VR::SH, value);
    put_str(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    put_str(&mut c, tags::CODE_MEANING, VR::LO, meaning);
    c
}

/// A CONTAINER content item nesting `depth` more containers.
fn nested(depth: usize) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put_str(&mut o, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
    put_str(&mut o, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_items(
        &mut o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code_item("1", "99X", "x")],
    );
    put_str(&mut o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    let kids = if depth == 0 {
        vec![]
    } else {
        vec![nested(depth - 1)]
    };
    put_items(&mut o, tags::CONTENT_SEQUENCE, kids);
    o
}

fn expect(
    result: Result<carina_sr::ParsedReport, SrError>,
    what: &str,
    check: impl Fn(&SrError) -> bool,
    needle: &str,
) {
    match result {
        Err(e) => {
            assert!(check(&e), "{what}: unexpected error {e:?}");
            assert!(
                e.to_string().contains(needle),
                "{what}: message {e} lacks {needle:?}"
            );
        }
        Ok(r) => panic!("{what}: accepted ({} boxes)", r.boxes.len()),
    }
}

#[test]
fn not_dicom_or_not_an_sr() {
    expect(
        read_measurement_report(b""),
        "empty",
        |e| matches!(e, SrError::NotDicom),
        "no DICM",
    );
    expect(
        read_measurement_report(b"hello"),
        "text",
        |e| matches!(e, SrError::NotDicom),
        "no DICM",
    );
    expect(
        read_measurement_report(b"\x89PNG\r\n\x1a\n0000"),
        "png",
        |e| matches!(e, SrError::NotDicom),
        "DICM",
    );
    // An image, not a report.
    let img = carina_imaging::GrayImage::new(8, 8, 8, vec![7; 64]).unwrap();
    let meta = carina_imaging::ImageMeta::for_raster(
        &img,
        "MONOCHROME2",
        carina_imaging::Window::full_range(8),
    );
    let sc = carina_imaging::to_secondary_capture(&img, &meta).unwrap();
    expect(
        read_measurement_report(&sc),
        "image",
        |e| matches!(e, SrError::NotSr(_)),
        "SOP class 1.2.840.10008.5.1.4.1.1.7",
    );
    // A Basic Text SR cannot hold image regions.
    let basic = mutate(&carina_sr(), &[], |o| {
        put_str(
            o,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.88.11",
        )
    });
    expect(
        read_measurement_report(&basic),
        "basic text",
        |e| matches!(e, SrError::NotSr(_)),
        "88.11",
    );
}

#[test]
fn wrong_template() {
    let sr = carina_sr();
    let tid = mutate(&sr, &[], |o| {
        let mut t = InMemDicomObject::new_empty();
        put_str(&mut t, tags::MAPPING_RESOURCE, VR::CS, "DCMR");
        put_str(&mut t, tags::TEMPLATE_IDENTIFIER, VR::CS, "2000");
        put_items(o, tags::CONTENT_TEMPLATE_SEQUENCE, vec![t]);
    });
    expect(
        read_measurement_report(&tid),
        "TID 2000",
        |e| matches!(e, SrError::WrongTemplate(_)),
        "TID 2000",
    );
    let untitled = mutate(&sr, &[], |o| {
        o.remove_element(tags::CONTENT_TEMPLATE_SEQUENCE);
        put_items(
            o,
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code_item("18748-4", "LN", "Diagnostic imaging study")],
        );
    });
    expect(
        read_measurement_report(&untitled),
        "title",
        |e| matches!(e, SrError::WrongTemplate(_)),
        "(LN, 18748-4",
    );
    // Without a template identifier, a CID 7021 title is enough.
    let titled = mutate(&sr, &[], |o| {
        o.remove_element(tags::CONTENT_TEMPLATE_SEQUENCE);
    });
    assert_eq!(read_measurement_report(&titled).unwrap().boxes.len(), 9);
    let not_container = mutate(&sr, &[], |o| put_str(o, tags::VALUE_TYPE, VR::CS, "TEXT"));
    expect(
        read_measurement_report(&not_container),
        "root",
        |e| matches!(e, SrError::WrongTemplate(_)),
        "CONTAINER",
    );
}

#[test]
fn no_image_reference() {
    let sr = carina_sr();
    let no_image = in_group(&sr, "111030", |o| {
        put_items(o, tags::CONTENT_SEQUENCE, vec![])
    });
    expect(
        read_measurement_report(&no_image),
        "no SELECTED FROM",
        |e| matches!(e, SrError::NoImageReference(_)),
        "measurement group 1",
    );
    let bad_uid = in_group(&sr, "111030", |o| {
        o.update_value(tags::CONTENT_SEQUENCE, |v| {
            let img = &mut v.items_mut().unwrap()[0];
            img.update_value(tags::REFERENCED_SOP_SEQUENCE, |v| {
                put_str(
                    &mut v.items_mut().unwrap()[0],
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    "",
                );
            });
        });
    });
    expect(
        read_measurement_report(&bad_uid),
        "empty UID",
        |e| matches!(e, SrError::NoImageReference(_)),
        "valid UIDs",
    );
    // No measurements and no evidence: nothing refers to an image.
    let empty = write_measurement_report(&image(), &[], &doc()).unwrap();
    let bare = mutate(&empty, &[], |o| {
        o.remove_element(tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE);
    });
    expect(
        read_measurement_report(&bare),
        "bare",
        |e| matches!(e, SrError::NoImageReference(_)),
        "references no image",
    );
}

#[test]
fn bad_coordinates() {
    let sr = carina_sr();
    let cases: Vec<(&str, Vec<f32>, &str, &str)> = vec![
        (
            "nan",
            vec![f32::NAN, 1.0, 2.0, 3.0, 4.0, 5.0],
            "POLYLINE",
            "not finite",
        ),
        (
            "inf",
            vec![1.0, f32::INFINITY, 2.0, 3.0],
            "POLYLINE",
            "not finite",
        ),
        ("odd", vec![1.0, 2.0, 3.0], "POLYLINE", "3 coordinates"),
        (
            "one point",
            vec![1.0, 2.0],
            "POLYLINE",
            "a POLYLINE with 1 point",
        ),
        (
            "point",
            vec![1.0, 2.0],
            "POINT",
            "POINT region has no extent",
        ),
        (
            "circle",
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "CIRCLE",
            "a CIRCLE with 3 point",
        ),
        ("far", vec![0.0, 0.0, 3e7, 1.0], "POLYLINE", "10^7"),
        (
            "type",
            vec![0.0, 0.0, 1.0, 1.0],
            "POLYGON",
            "POLYGON is not a planar region",
        ),
    ];
    for (what, data, gt, needle) in cases {
        let b = in_group(&sr, "111030", |o| {
            o.put(DataElement::new(
                tags::GRAPHIC_DATA,
                VR::FL,
                PrimitiveValue::F32(data.clone().into()),
            ));
            put_str(o, tags::GRAPHIC_TYPE, VR::CS, gt);
        });
        expect(
            read_measurement_report(&b),
            what,
            |e| matches!(e, SrError::BadGroup { group: 1, .. }),
            needle,
        );
    }
}

#[test]
fn unknown_finding_named_in_the_error() {
    let sr = carina_sr();
    let b = in_group(&sr, "121071", |o| {
        put_items(
            o,
            tags::CONCEPT_CODE_SEQUENCE,
            vec![code_item("22298006", "SCT", "Myocardial infarction")],
        );
    });
    expect(
        read_measurement_report(&b),
        "unknown code",
        |e| matches!(e, SrError::UnknownFinding { group: 1, .. }),
        "(SCT, 22298006, \"Myocardial infarction\") is not in Carina's finding table",
    );
    // A 99CARINA code whose value does not derive from its meaning.
    let forged = in_group(&sr, "121071", |o| {
        put_items(
            o,
            tags::CONCEPT_CODE_SEQUENCE,
            vec![code_item("LFFFFFFFFFFFFFFF", "99CARINA", "Anything")],
        );
    });
    expect(
        read_measurement_report(&forged),
        "forged",
        |e| matches!(e, SrError::UnknownFinding { .. }),
        "LFFFFFFFFFFFFFFF",
    );
    let missing = mutate(&sr, &group_path(&sr, 0), |o| {
        o.update_value(tags::CONTENT_SEQUENCE, |v| {
            v.items_mut()
                .unwrap()
                .retain(|c| c.get(tags::VALUE_TYPE).unwrap().to_str().unwrap().trim() != "CODE");
        });
    });
    expect(
        read_measurement_report(&missing),
        "no finding",
        |e| matches!(e, SrError::BadGroup { .. }),
        "no Finding",
    );
}

#[test]
fn two_regions_in_one_group() {
    let sr = carina_sr();
    let path = group_path(&sr, 0);
    let i = child(&sr, &path, "111030");
    let two = mutate(&sr, &path, |o| {
        o.update_value(tags::CONTENT_SEQUENCE, |v| {
            let items = v.items_mut().unwrap();
            let region = items[i].clone();
            items.push(region);
        });
    });
    expect(
        read_measurement_report(&two),
        "two",
        |e| matches!(e, SrError::BadGroup { .. }),
        "more than one image region",
    );
}

#[test]
fn size_and_structure_limits() {
    let sr = carina_sr();
    let small = ReadLimits {
        max_bytes: 1000,
        ..ReadLimits::default()
    };
    expect(
        read_measurement_report_with(&sr, &small),
        "size",
        |e| matches!(e, SrError::TooLarge { .. }),
        "limit of 1000 bytes",
    );
    let truncated = &sr[..sr.len() / 2];
    expect(
        read_measurement_report(truncated),
        "truncated",
        |e| matches!(e, SrError::Malformed(_)),
        "malformed",
    );
    // A declared length the file cannot back (dicom-rs would allocate it).
    let mut huge = sr.clone();
    let tag = [0x40, 0x00, 0x60, 0xA1, b'U', b'T', 0, 0]; // (0040,A160) Text Value, UT
    let at = huge.windows(8).position(|w| w == tag).unwrap() + 8;
    huge[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    expect(
        read_measurement_report(&huge),
        "length",
        |e| matches!(e, SrError::Malformed(_)),
        "declares 4294967280 bytes",
    );
    // Sequences nested past the pre-scan's limit.
    let deep = mutate(&sr, &group_path(&sr, 0), |o| {
        o.update_value(tags::CONTENT_SEQUENCE, |v| {
            v.items_mut().unwrap().push(nested(40))
        });
    });
    expect(
        read_measurement_report(&deep),
        "deep",
        |e| matches!(e, SrError::Malformed(_)),
        "more than 16 levels deep",
    );
    // Content nested past the tree walk's own limit (the pre-scan allowing it).
    let loose = ReadLimits {
        max_sequence_depth: 64,
        ..ReadLimits::default()
    };
    expect(
        read_measurement_report_with(&deep, &loose),
        "content depth",
        |e| matches!(e, SrError::TooDeep { limit: 10 }),
        "10 levels",
    );
    let few = ReadLimits {
        max_items: 50,
        ..ReadLimits::default()
    };
    expect(
        read_measurement_report_with(&sr, &few),
        "items",
        |e| matches!(e, SrError::TooManyItems { limit: 50 }),
        "more than 50 content items",
    );
    let groups = ReadLimits {
        max_groups: 3,
        ..ReadLimits::default()
    };
    expect(
        read_measurement_report_with(&sr, &groups),
        "groups",
        |e| matches!(e, SrError::TooManyGroups { limit: 3 }),
        "more than 3",
    );
}

#[test]
fn unsupported_transfer_syntax() {
    // The file meta group says JPEG baseline (an encapsulated syntax, so the
    // data set is still explicit VR little endian and passes the pre-scan).
    let sr = carina_sr();
    let ts = [0x02, 0x00, 0x10, 0x00, b'U', b'I'];
    let at = sr.windows(6).position(|w| w == ts).unwrap();
    let old_len = usize::from(u16::from_le_bytes([sr[at + 6], sr[at + 7]]));
    let new_ts = b"1.2.840.10008.1.2.4.50";
    let mut b = sr[..at + 6].to_vec();
    b.extend((new_ts.len() as u16).to_le_bytes());
    b.extend(new_ts);
    b.extend(&sr[at + 8 + old_len..]);
    // (0002,0000) group length, UL, right after the magic.
    let group = u32::from_le_bytes(b[140..144].try_into().unwrap()) + 22 - old_len as u32;
    b[140..144].copy_from_slice(&group.to_le_bytes());
    expect(
        read_measurement_report(&b),
        "jpeg ts",
        |e| matches!(e, SrError::UnsupportedTransferSyntax(_)),
        "1.2.840.10008.1.2.4.50",
    );
}

#[test]
fn many_boxes_read_within_limits() {
    let boxes: Vec<_> = (0..2000)
        .map(|i| {
            let x = f64::from(i);
            sr_box(
                &i.to_string(),
                "Pneumothorax",
                [x, x, x + 1.0, x + 2.0],
                radiologist("ann"),
                BoxStatus::Accepted,
            )
        })
        .collect();
    let sr = write_measurement_report(&image(), &boxes, &doc()).unwrap();
    let report = read_measurement_report(&sr).unwrap();
    assert_eq!(report.boxes.len(), 2000);
    assert!(sr.len() < 2000 * 2000, "{} bytes for 2000 boxes", sr.len());
}
