//! A DICOM file holding every attribute of PS3.15 Table E.1-1, for the tests
//! of the de-identifier (here and in the server): each row's attribute with
//! a distinctive value of its VR, a copy of every row nested inside a
//! sequence item, every sequence row with identifying items, private
//! attributes, an icon image with pixels, an overlay and a curve.
//! Not part of the stable interface.

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::InMemDicomObject;

use super::profile::{TagMatch, rows};
use crate::ImagingError;
use crate::decode::read_object;

/// One planted value.
#[derive(Debug, Clone)]
pub struct Planted {
    /// The attribute holding it (for a sequence row: the sequence).
    pub tag: Tag,
    /// Where it was planted, e.g. `(0010,0010) Patient's Name` or `… in (0008,1140)`.
    pub what: String,
    /// The value as it is encoded in the file (trailing padding aside).
    pub value: Vec<u8>,
    /// Whether the value is long and unusual enough that finding its bytes
    /// anywhere in a file means it survived (not so for a 2-byte US or a
    /// 4-character age, which are checked attribute by attribute).
    pub distinctive: bool,
}

/// Which of `needles` occur in `haystack` (one pass, filtered on each
/// needle's first two bytes, so thousands of needles in a large file stay fast).
pub fn find_planted(haystack: &[u8], needles: &[&[u8]]) -> Vec<bool> {
    use std::collections::{HashMap, HashSet};
    let mut first = vec![false; 1 << 16];
    let mut by_len: HashMap<usize, HashSet<&[u8]>> = HashMap::new();
    for n in needles.iter().filter(|n| n.len() >= 2) {
        first[usize::from(n[0]) << 8 | usize::from(n[1])] = true;
        by_len.entry(n.len()).or_default().insert(n);
    }
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for i in 0..haystack.len().saturating_sub(1) {
        if !first[usize::from(haystack[i]) << 8 | usize::from(haystack[i + 1])] {
            continue;
        }
        for (len, set) in &by_len {
            if let Some(w) = haystack.get(i..i + len)
                && set.contains(w)
            {
                seen.insert(w);
            }
        }
    }
    needles.iter().map(|n| seen.contains(n)).collect()
}

/// Where the copy of every row is nested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// In an item of Referenced Image Sequence (which the profile removes).
    RemovedSequence,
    /// Also in an item of the VOI LUT Sequence, which the allow-list keeps,
    /// so that only the walk into its items can remove them (the file's
    /// display then differs: use for byte checks only).
    KeptSequenceToo,
}

/// `base` (a DICOM file) with every attribute of the table planted.
pub fn every_attribute_dicom(
    base: &[u8],
    nesting: Nesting,
) -> Result<(Vec<u8>, Vec<Planted>), ImagingError> {
    let mut obj = read_object(base)?;
    let mut planted = Vec::new();
    let top = plant_rows("ZQ", "", &mut planted);
    for e in top {
        if e.tag() == Tag(0x0002, 0x0003) {
            // Media Storage SOP Instance UID lives in the file meta group.
            let uid = e.to_str().map(|s| s.to_string()).unwrap_or_default();
            obj.update_meta(|m| m.media_storage_sop_instance_uid = uid);
        } else {
            obj.put(e);
        }
    }
    // The nested copies.
    let mut nested = vec![(Tag(0x0008, 0x1140), "ZN")];
    if nesting == Nesting::KeptSequenceToo {
        nested.push((Tag(0x0028, 0x3010), "ZV"));
    }
    for (seq, prefix) in nested {
        let mut item = InMemDicomObject::new_empty();
        for e in plant_rows(prefix, &format!(" in {seq}"), &mut planted) {
            item.put(e);
        }
        if seq == Tag(0x0028, 0x3010) {
            item.put(DataElement::new(
                Tag(0x0028, 0x3002),
                VR::US,
                PrimitiveValue::U16(vec![2, 0, 16].into()),
            ));
            item.put(DataElement::new(
                Tag(0x0028, 0x3006),
                VR::OW,
                PrimitiveValue::U16(vec![0, 65535].into()),
            ));
        }
        add_item(&mut obj, seq, item);
    }
    for e in extras(&mut planted) {
        match e.value() {
            // A row's sequence is there already: add the item to it.
            dicom_core::value::Value::Sequence(seq) => {
                for item in seq.items() {
                    add_item(&mut obj, e.tag(), item.clone());
                }
            }
            _ => {
                obj.put(e);
            }
        }
    }
    obj.update_meta(|m| {
        m.source_application_entity_title = Some("ZQSOURCEAEQZ".into());
    });
    planted.push(Planted {
        tag: Tag(0x0002, 0x0016),
        what: "(0002,0016) Source Application Entity Title".into(),
        value: b"ZQSOURCEAEQZ".to_vec(),
        distinctive: true,
    });
    let mut out = Vec::new();
    obj.write_all(&mut out)
        .map_err(|e| ImagingError::MalformedDicom(format!("cannot encode the fixture: {e}")))?;
    Ok((out, planted))
}

/// `base` (a DICOM file) with the given string attributes set, e.g. another
/// patient, study, instance or view position; a new SOP Instance UID is
/// copied into the file meta group too.
/// Tags are `(group, element)`, VRs by name (`UI`, `LO`, `CS`, `SH`, `PN`, `DA`).
pub fn with_strings(
    base: &[u8],
    values: &[((u16, u16), &str, &str)],
) -> Result<Vec<u8>, ImagingError> {
    let mut obj = read_object(base)?;
    for &((group, element), vr, value) in values {
        let tag = Tag(group, element);
        let vr = match vr {
            "UI" => VR::UI,
            "LO" => VR::LO,
            "CS" => VR::CS,
            "SH" => VR::SH,
            "PN" => VR::PN,
            "DA" => VR::DA,
            other => {
                return Err(ImagingError::MalformedDicom(format!(
                    "fixture: VR {other} is not supported here"
                )));
            }
        };
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
        if tag == Tag(0x0008, 0x0018) {
            obj.update_meta(|m| m.media_storage_sop_instance_uid = value.to_string());
        }
    }
    let mut out = Vec::new();
    obj.write_all(&mut out)
        .map_err(|e| ImagingError::MalformedDicom(format!("cannot encode the fixture: {e}")))?;
    Ok(out)
}

/// Adds `item` to the sequence `seq`, creating it if needed.
fn add_item(obj: &mut InMemDicomObject, seq: Tag, item: InMemDicomObject) {
    if obj.get(seq).is_some() {
        let mut item = Some(item);
        obj.update_value(seq, |v| {
            if let (Some(items), Some(it)) = (v.items_mut(), item.take()) {
                items.push(it);
            }
        });
    } else {
        obj.put(sequence(seq, vec![item]));
    }
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

/// One element per row of the table (the private row gets its own below).
fn plant_rows(
    prefix: &str,
    place: &str,
    planted: &mut Vec<Planted>,
) -> Vec<DataElement<InMemDicomObject>> {
    let mut out = Vec::new();
    for (i, row) in rows().iter().enumerate() {
        let tag = match row.tag {
            TagMatch::Exact(g, e) => Tag(g, e),
            // (50xx,xxxx) Curve Data, (60xx,3000) Overlay Data, (60xx,4000) Overlay Comments.
            TagMatch::Masked {
                group,
                element,
                element_mask,
                ..
            } => {
                if element_mask == 0 {
                    Tag(group, 0x3000)
                } else {
                    Tag(group, element)
                }
            }
            TagMatch::PrivateOdd => continue,
        };
        let vr = match row.vr {
            Some("OB or OW") => VR::OW,
            Some(v) => v.parse().unwrap_or(VR::UN),
            None if tag.group() == 0x0000 => VR::UI,
            None if row.name.contains("Comments") => VR::LT,
            None => VR::OB,
        };
        let what = format!("{tag} {}{place}", row.name);
        let elem = if vr == VR::SQ {
            let mut item = InMemDicomObject::new_empty();
            let m = marker(prefix, i, "S");
            item.put(DataElement::new(
                Tag(0x0010, 0x0010),
                VR::PN,
                PrimitiveValue::from(format!("{m}^NAME")),
            ));
            item.put(DataElement::new(
                Tag(0x0010, 0x0020),
                VR::LO,
                PrimitiveValue::from(m.clone()),
            ));
            item.put(DataElement::new(
                Tag(0x0040, 0xA160),
                VR::UT,
                PrimitiveValue::from(format!("{m} TEXT")),
            ));
            planted.push(Planted {
                tag,
                what: format!("{what} item"),
                value: m.into_bytes(),
                distinctive: true,
            });
            sequence(tag, vec![item])
        } else {
            let (value, bytes, distinctive) = value_for(vr, prefix, i);
            planted.push(Planted {
                tag,
                what,
                value: bytes,
                distinctive,
            });
            DataElement::new(tag, vr, value)
        };
        out.push(elem);
    }
    out
}

fn marker(prefix: &str, i: usize, kind: &str) -> String {
    let rev: String = prefix.chars().rev().collect();
    format!("{prefix}{kind}{i:04}{rev}")
}

/// A value of the VR that carries the row's marker where the VR allows text.
fn value_for(vr: VR, prefix: &str, i: usize) -> (PrimitiveValue, Vec<u8>, bool) {
    // Digits for the numeric and date VRs: 7 for the top level, 6 nested.
    let d = if prefix == "ZQ" {
        "7"
    } else if prefix == "ZN" {
        "6"
    } else {
        "5"
    };
    let text = |s: String| (PrimitiveValue::from(s.clone()), s.into_bytes(), true);
    match vr {
        VR::PN => text(format!("{}^DOE", marker(prefix, i, "P"))),
        VR::DA => text(format!("1{d}{i:04}29")),
        VR::TM => text(format!("2{d}{i:04}.987")),
        VR::DT => text(format!("1{d}{i:04}29121212.987")),
        VR::DS => text(format!("{d}{d}{i:04}.5")),
        VR::IS => text(format!("{d}{d}{i:04}")),
        VR::UI => text(format!("1.2.826.0.1.3680043.10.{d}.{i}")),
        VR::UR => text(format!("http://example.invalid/{}", marker(prefix, i, "R"))),
        VR::AS => {
            let s = format!("{:03}Y", i % 1000);
            (PrimitiveValue::from(s.clone()), s.into_bytes(), false)
        }
        VR::US => (
            PrimitiveValue::from(i as u16 + 1000),
            (i as u16 + 1000).to_le_bytes().to_vec(),
            false,
        ),
        VR::SS => (
            PrimitiveValue::from(i as i16),
            (i as i16).to_le_bytes().to_vec(),
            false,
        ),
        VR::OB | VR::OW | VR::UN => {
            let m = marker(prefix, i, "B").into_bytes();
            (PrimitiveValue::U8(m.clone().into()), m, true)
        }
        // LO, SH, LT, ST, UT, UC, CS, AE.
        _ => text(marker(prefix, i, "T")),
    }
}

/// Private attributes, an icon image with its pixels, the rest of an
/// overlay and of a curve.
fn extras(planted: &mut Vec<Planted>) -> Vec<DataElement<InMemDicomObject>> {
    let mut put = |tag: Tag, what: &str, value: &str| {
        planted.push(Planted {
            tag,
            what: what.into(),
            value: value.as_bytes().to_vec(),
            distinctive: true,
        });
    };
    let s = |t: Tag, vr: VR, v: &str| DataElement::new(t, vr, PrimitiveValue::from(v));
    let mut out = vec![
        s(Tag(0x0009, 0x0010), VR::LO, "ZQPRIVCREATORQZ"),
        s(Tag(0x0009, 0x1001), VR::LO, "ZQPRIVATELOQZ"),
        DataElement::new(
            Tag(0x0009, 0x1002),
            VR::UN,
            PrimitiveValue::U8(b"ZQPRIVATEUNQZ ".to_vec().into()),
        ),
        s(Tag(0x0011, 0x0010), VR::LO, "ZQPRIVCREATOR2QZ"),
        sequence(
            Tag(0x0011, 0x1010),
            vec![InMemDicomObject::from_element_iter([s(
                Tag(0x0010, 0x0010),
                VR::PN,
                "ZQPRIVSEQNAMEQZ",
            )])],
        ),
        s(Tag(0x6000, 0x0022), VR::LO, "ZQOVERLAYDESCQZ"),
        s(Tag(0x6000, 0x1500), VR::LO, "ZQOVERLAYLABELQZ"),
        DataElement::new(Tag(0x6000, 0x0010), VR::US, PrimitiveValue::from(8_u16)),
        DataElement::new(Tag(0x6000, 0x0011), VR::US, PrimitiveValue::from(8_u16)),
        s(Tag(0x6000, 0x0040), VR::CS, "G"),
        DataElement::new(
            Tag(0x6000, 0x0050),
            VR::SS,
            PrimitiveValue::I16(vec![1, 1].into()),
        ),
        DataElement::new(Tag(0x6000, 0x0100), VR::US, PrimitiveValue::from(1_u16)),
        DataElement::new(Tag(0x6000, 0x0102), VR::US, PrimitiveValue::from(0_u16)),
        s(Tag(0x5000, 0x0022), VR::LO, "ZQCURVEDESCQZ"),
    ];
    for (t, w, v) in [
        (Tag(0x0009, 0x0010), "private creator", "ZQPRIVCREATORQZ"),
        (Tag(0x0009, 0x1001), "private LO", "ZQPRIVATELOQZ"),
        (Tag(0x0009, 0x1002), "private UN", "ZQPRIVATEUNQZ"),
        (Tag(0x0011, 0x0010), "private creator", "ZQPRIVCREATOR2QZ"),
        (Tag(0x0011, 0x1010), "private sequence", "ZQPRIVSEQNAMEQZ"),
        (
            Tag(0x6000, 0x0022),
            "Overlay Description",
            "ZQOVERLAYDESCQZ",
        ),
        (Tag(0x6000, 0x1500), "Overlay Label", "ZQOVERLAYLABELQZ"),
        (Tag(0x5000, 0x0022), "Curve Description", "ZQCURVEDESCQZ"),
    ] {
        put(t, &format!("{t} {w}"), v);
    }
    // The icon: an 8×8 picture whose pixels spell a marker.
    let pixels: Vec<u8> = b"ZQICONPIXELSQZ--"
        .iter()
        .copied()
        .cycle()
        .take(64)
        .collect();
    put(
        Tag(0x0088, 0x0200),
        "(0088,0200) Icon Image Sequence pixels",
        "ZQICONPIXELSQZ",
    );
    let us = |t: Tag, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
    out.push(sequence(
        Tag(0x0088, 0x0200),
        vec![InMemDicomObject::from_element_iter([
            us(Tag(0x0028, 0x0002), 1),
            s(Tag(0x0028, 0x0004), VR::CS, "MONOCHROME2"),
            us(Tag(0x0028, 0x0010), 8),
            us(Tag(0x0028, 0x0011), 8),
            us(Tag(0x0028, 0x0100), 8),
            us(Tag(0x0028, 0x0101), 8),
            us(Tag(0x0028, 0x0102), 7),
            us(Tag(0x0028, 0x0103), 0),
            DataElement::new(
                Tag(0x7FE0, 0x0010),
                VR::OB,
                PrimitiveValue::U8(pixels.into()),
            ),
        ])],
    ));
    out
}
