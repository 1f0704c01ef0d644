//! The DICOM JSON model (PS3.18 F.2): a data set as an object keyed by the
//! 8-hex-digit tag, each attribute `{vr, Value}` (persons' names as
//! `{Alphabetic}`, sequences as arrays of objects, small binary values as
//! `InlineBinary`). Pixel data and binary values over
//! [`MAX_INLINE_BINARY`] bytes are left without a value (PS3.18 allows the
//! attribute with its VR only): `/metadata` never carries pixels.

use base64::Engine;
use dicom_core::header::Header;
use dicom_core::value::Value as DicomValue;
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use serde_json::{Map, Value, json};

/// Binary values up to this size are sent inline (base64).
pub const MAX_INLINE_BINARY: usize = 1024;

/// The key of `tag`: 8 upper-case hex digits.
pub fn key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

/// A data set (without its file meta group) as DICOM JSON.
pub fn dataset(obj: &InMemDicomObject) -> Value {
    let mut out = Map::new();
    for elem in obj {
        let tag = elem.tag();
        if tag == dicom_dictionary_std::tags::PIXEL_DATA || tag.group() == 0x0002 {
            continue;
        }
        out.insert(key(tag), attribute(elem.vr(), elem.value()));
    }
    Value::Object(out)
}

fn attribute(
    vr: VR,
    value: &DicomValue<InMemDicomObject, dicom_core::value::InMemFragment>,
) -> Value {
    let vr_name = vr.to_string();
    let values = match value {
        DicomValue::Sequence(seq) => Some(Value::Array(seq.items().iter().map(dataset).collect())),
        DicomValue::PixelSequence(_) => None,
        DicomValue::Primitive(p) if p.multiplicity() == 0 => None,
        DicomValue::Primitive(p) => return primitive(vr, vr_name, p),
    };
    match values {
        Some(Value::Array(a)) if !a.is_empty() => json!({"vr": vr_name, "Value": a}),
        _ => json!({"vr": vr_name}),
    }
}

fn primitive(vr: VR, vr_name: &str, p: &dicom_core::PrimitiveValue) -> Value {
    use VR::*;
    let values: Vec<Value> = match vr {
        OB | OD | OF | OL | OV | OW | UN => {
            let bytes = p.to_bytes();
            if bytes.len() > MAX_INLINE_BINARY {
                return json!({"vr": vr_name});
            }
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            return json!({"vr": vr_name, "InlineBinary": b64});
        }
        PN => strings(p)
            .into_iter()
            .map(|s| {
                if s.is_empty() {
                    Value::Null
                } else {
                    json!({"Alphabetic": s})
                }
            })
            .collect(),
        US | SS | UL | SL | UV | SV => match p.to_multi_int::<i64>() {
            Ok(v) => v.into_iter().map(Value::from).collect(),
            Err(_) => Vec::new(),
        },
        FL | FD => match p.to_multi_float64() {
            Ok(v) => v.into_iter().map(number).collect(),
            Err(_) => Vec::new(),
        },
        // Decimal and integer strings are numbers in the JSON model.
        DS | IS => strings(p)
            .into_iter()
            .map(|s| match s.parse::<f64>() {
                Ok(f) if vr == IS && f.fract() == 0.0 => Value::from(f as i64),
                Ok(f) => number(f),
                Err(_) => Value::Null,
            })
            .collect(),
        AT => match p {
            dicom_core::PrimitiveValue::Tags(tags) => {
                tags.iter().map(|t| Value::from(key(*t))).collect()
            }
            _ => Vec::new(),
        },
        _ => strings(p)
            .into_iter()
            .map(|s| {
                if s.is_empty() {
                    Value::Null
                } else {
                    Value::from(s)
                }
            })
            .collect(),
    };
    if values.is_empty() || values.iter().all(Value::is_null) {
        json!({"vr": vr_name})
    } else {
        json!({"vr": vr_name, "Value": values})
    }
}

/// The values of a string attribute without their padding.
fn strings(p: &dicom_core::PrimitiveValue) -> Vec<String> {
    p.to_multi_str()
        .iter()
        .map(|s| s.trim_matches(['\0', ' ']).to_string())
        .collect()
}

fn number(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// `{vr, Value: [..]}`, or `{vr}` when `values` is empty.
pub fn attr(vr: &str, values: Vec<Value>) -> Value {
    if values.is_empty() {
        json!({ "vr": vr })
    } else {
        json!({ "vr": vr, "Value": values })
    }
}

/// A string attribute with one value, or none.
pub fn text(vr: &str, value: Option<&str>) -> Value {
    attr(vr, value.map(|v| vec![Value::from(v)]).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue};
    use dicom_dictionary_std::tags;

    #[test]
    fn writes_the_json_model() {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("P-0123"),
        ));
        obj.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(512_u16),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_SPACING,
            VR::DS,
            PrimitiveValue::Strs(vec!["0.5".into(), "0.25 ".into()].into()),
        ));
        obj.put(DataElement::new(
            tags::STUDY_DATE,
            VR::DA,
            PrimitiveValue::from(""),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(vec![0; 8].into()),
        ));
        let v = dataset(&obj);
        assert_eq!(
            v["00100010"],
            json!({"vr": "PN", "Value": [{"Alphabetic": "P-0123"}]})
        );
        assert_eq!(v["00280010"], json!({"vr": "US", "Value": [512]}));
        assert_eq!(v["00280030"], json!({"vr": "DS", "Value": [0.5, 0.25]}));
        assert_eq!(v["00080020"], json!({"vr": "DA"}));
        assert!(v.get("7FE00010").is_none(), "no pixel data");
    }
}
