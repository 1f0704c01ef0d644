//! De-identification against every attribute of PS3.15 Table E.1-1: a file
//! holding all 621 (and nested copies, private attributes, an icon, an
//! overlay, a curve) keeps none of their values; the samples still display
//! and measure the same.

use carina_imaging::deid_fixture::{Nesting, Planted, every_attribute_dicom, find_planted};
use carina_imaging::{BurnedIn, DeidConfig, Limits, allowed_top_level, decode, deidentify_dicom};
use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};

use crate::common::read_sample;

fn open(bytes: &[u8]) -> dicom_object::DefaultDicomObject {
    OpenFileOptions::new().from_reader(&bytes[128..]).unwrap()
}

/// Every leaf element of a data set, recursively: (tag, value bytes).
fn leaves(obj: &InMemDicomObject, out: &mut Vec<(Tag, Vec<u8>)>) {
    for e in obj.iter() {
        match e.value() {
            Value::Sequence(seq) => {
                for item in seq.items() {
                    leaves(item, out);
                }
            }
            Value::Primitive(p) => out.push((e.tag(), p.to_bytes().into_owned())),
            Value::PixelSequence(px) => {
                for f in px.fragments() {
                    out.push((e.tag(), f.clone()));
                }
            }
        }
    }
}

fn trimmed(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |i| i + 1);
    &v[..end]
}

fn check_nothing_survives(input: &[u8], planted: &[Planted], output: &[u8]) {
    assert!(
        planted.len() > 2 * 621,
        "only {} values planted",
        planted.len()
    );
    let in_leaves = {
        let mut v = Vec::new();
        leaves(&open(input), &mut v);
        v
    };
    let out_obj = open(output);
    let mut out_leaves = Vec::new();
    leaves(&out_obj, &mut out_leaves);
    let meta_sop = out_obj
        .meta()
        .media_storage_sop_instance_uid()
        .as_bytes()
        .to_vec();
    out_leaves.push((Tag(0x0002, 0x0003), meta_sop));
    let needles: Vec<&[u8]> = planted.iter().map(|p| p.value.as_slice()).collect();
    let (in_input, in_output) = (
        find_planted(input, &needles),
        find_planted(output, &needles),
    );
    for (i, p) in planted.iter().enumerate() {
        // The setup: the value is really in the input.
        if p.distinctive {
            assert!(in_input[i], "test setup: {} not in the input", p.what);
            assert!(
                !in_output[i],
                "{} survived: {:?}",
                p.what,
                String::from_utf8_lossy(&p.value)
            );
        } else {
            assert!(
                in_leaves
                    .iter()
                    .any(|(t, v)| *t == p.tag && trimmed(v) == p.value.as_slice()),
                "test setup: {} not in the input",
                p.what
            );
        }
        // Attribute by attribute too (also for short values).
        assert!(
            !out_leaves
                .iter()
                .any(|(t, v)| *t == p.tag && trimmed(v) == trimmed(&p.value)),
            "{} survived as an attribute",
            p.what
        );
    }
    // Nothing outside the allow-list, no private, overlay, curve or icon attribute.
    let allowed: Vec<Tag> = allowed_top_level().collect();
    for e in out_obj.iter() {
        assert!(
            allowed.contains(&e.tag()),
            "{} is not on the allow-list",
            e.tag()
        );
    }
    for (t, _) in &out_leaves {
        assert!(t.group() % 2 == 0, "private {t} kept");
        assert!(!(0x5000..=0x60FF).contains(&t.group()), "{t} kept");
    }
    assert!(out_obj.get(Tag(0x0088, 0x0200)).is_none(), "icon kept");
}

#[test]
fn no_value_of_any_table_attribute_survives() {
    let cfg = DeidConfig::new(b"every-secret".to_vec());
    for base in ["dicom/RG1_UNCR.dcm", "dicom/siim_cr_jpeg_baseline.dcm"] {
        let (input, planted) =
            every_attribute_dicom(&read_sample(base), Nesting::KeptSequenceToo).unwrap();
        let out = deidentify_dicom(&input, &cfg).unwrap();
        check_nothing_survives(&input, &planted, &out.bytes);
    }
}

#[test]
fn the_planted_file_still_displays_the_same() {
    let cfg = DeidConfig::new(b"every-secret".to_vec());
    let base = read_sample("dicom/RG1_UNCR.dcm");
    let (input, planted) = every_attribute_dicom(&base, Nesting::RemovedSequence).unwrap();
    let out = deidentify_dicom(&input, &cfg).unwrap();
    check_nothing_survives(&input, &planted, &out.bytes);
    let before = decode(&base, &Limits::default()).unwrap();
    let after = decode(&out.bytes, &Limits::default()).unwrap();
    assert!(before.image == after.image);
    assert_eq!(before.meta.window, after.meta.window);
    assert_eq!(before.meta.pixel_spacing, after.meta.pixel_spacing);
}

/// The raw pixel data: the value, or each fragment of an encapsulated one.
fn pixel_data(obj: &InMemDicomObject) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let e = obj.element(tags::PIXEL_DATA).unwrap();
    match e.value() {
        Value::Primitive(p) => out.push(p.to_bytes().into_owned()),
        Value::PixelSequence(px) => out.extend(px.fragments().iter().cloned()),
        Value::Sequence(_) => panic!("pixel data as a sequence"),
    }
    out
}

#[test]
fn samples_display_and_measure_identically() {
    let cfg = DeidConfig::new(b"secret".to_vec());
    for name in [
        "RG1_UNCR.dcm",
        "RG1_J2KR.dcm",
        "RG1_J2KI.dcm",
        "siim_cr_jpeg_baseline.dcm",
        "siim_cr_monochrome1.dcm",
    ] {
        let input = read_sample(&format!("dicom/{name}"));
        let out = deidentify_dicom(&input, &cfg).unwrap();
        assert!(
            pixel_data(&open(&input)) == pixel_data(&open(&out.bytes)),
            "{name}: pixel data changed"
        );
        let a = decode(&input, &Limits::default()).unwrap();
        let b = decode(&out.bytes, &Limits::default()).unwrap();
        assert!(a.image == b.image, "{name}");
        let (a, b) = (&a.meta, &b.meta);
        assert_eq!(a.window, b.window, "{name}");
        assert_eq!(a.window_from_file, b.window_from_file, "{name}");
        assert_eq!(a.pixel_spacing, b.pixel_spacing, "{name}");
        assert_eq!(a.photometric, b.photometric, "{name}");
        assert_eq!(a.bits_stored, b.bits_stored, "{name}");
        assert_eq!(
            (a.rescale_slope, a.rescale_intercept),
            (b.rescale_slope, b.rescale_intercept),
            "{name}"
        );
        assert_eq!(a.modality, b.modality, "{name}");
        assert_eq!(a.frames, b.frames, "{name}");
        assert_eq!(a.transfer_syntax_uid, b.transfer_syntax_uid, "{name}");
        assert_eq!(a.burned_in_annotation, b.burned_in_annotation, "{name}");
        assert_eq!(
            Some(out.burned_in_annotation),
            b.burned_in_annotation,
            "{name}"
        );
        let o = open(&out.bytes);
        for t in [
            tags::VIEW_POSITION,
            tags::PHOTOMETRIC_INTERPRETATION,
            tags::MODALITY,
            tags::SOP_CLASS_UID,
        ] {
            assert_eq!(
                open(&input)
                    .get(t)
                    .map(|e| e.to_str().unwrap().into_owned()),
                o.get(t).map(|e| e.to_str().unwrap().into_owned()),
                "{name}: {t}"
            );
        }
    }
}

fn with(base: &str, elems: &[(Tag, VR, &str)]) -> Vec<u8> {
    let mut obj = open(&read_sample(base));
    for (t, vr, v) in elems {
        if v.is_empty() {
            obj.remove_element(*t);
        } else {
            obj.put(DataElement::new(*t, *vr, PrimitiveValue::from(*v)));
        }
    }
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

#[test]
fn burned_in_annotation_is_reported() {
    let cfg = DeidConfig::new(b"k".to_vec());
    let verdict = |bytes: &[u8]| {
        let out = deidentify_dicom(bytes, &cfg).unwrap();
        let shown = decode(&out.bytes, &Limits::default()).unwrap();
        assert_eq!(
            shown.meta.burned_in_annotation,
            Some(out.burned_in_annotation)
        );
        out.burned_in_annotation
    };
    let bia = tags::BURNED_IN_ANNOTATION;
    // A CR acquisition that says nothing: no.
    assert_eq!(verdict(&read_sample("dicom/RG1_UNCR.dcm")), BurnedIn::No);
    assert_eq!(
        verdict(&with("dicom/RG1_UNCR.dcm", &[(bia, VR::CS, "YES")])),
        BurnedIn::Yes
    );
    // A secondary capture that says nothing: unknown; one that says NO: no.
    assert_eq!(
        verdict(&read_sample("dicom/siim_cr_jpeg_baseline.dcm")),
        BurnedIn::Unknown
    );
    assert_eq!(
        verdict(&with(
            "dicom/siim_cr_jpeg_baseline.dcm",
            &[(bia, VR::CS, "NO")]
        )),
        BurnedIn::No
    );
    assert_eq!(
        verdict(&with(
            "dicom/siim_cr_jpeg_baseline.dcm",
            &[(bia, VR::CS, "YES")]
        )),
        BurnedIn::Yes
    );
    // Modalities where text is common.
    assert_eq!(
        verdict(&with(
            "dicom/RG1_UNCR.dcm",
            &[(tags::MODALITY, VR::CS, "US")]
        )),
        BurnedIn::Unknown
    );
    assert_eq!(
        verdict(&with(
            "dicom/RG1_UNCR.dcm",
            &[(tags::MODALITY, VR::CS, "OT")]
        )),
        BurnedIn::Unknown
    );
    // PNG carries no such attribute.
    let png = decode(&read_sample("png/00000001_000.png"), &Limits::default()).unwrap();
    assert_eq!(png.meta.burned_in_annotation, None);
}
