//! One measurement group (TID 1410, or another tool's TID 1501/1411) to a box.

use carina_core::{BBox, Provenance};
use dicom_dictionary_std::tags;

use crate::codes::{self, label_for_code};
use crate::items::Obj;
use crate::tree::{children, code_in, concept_name, is, seq_items, string};
use crate::uid::is_valid_uid;
use crate::{Observer, ParsedBox, SrError};

/// What a measurement group gave.
pub(crate) enum Outcome {
    Box(Box<ParsedBox>),
    /// No planar image region: why.
    Skipped(String),
}

fn bad(group: usize, message: impl Into<String>) -> SrError {
    SrError::BadGroup {
        group,
        message: message.into(),
    }
}

/// Observers stated by the HAS OBS CONTEXT items of `items` (TID 1002: an
/// Observer Type item starts each observer, its identifying items follow).
pub(crate) fn observers(items: &[Obj]) -> Vec<Observer> {
    let mut out: Vec<Observer> = Vec::new();
    for it in items {
        if string(it, tags::RELATIONSHIP_TYPE).as_deref() != Some("HAS OBS CONTEXT") {
            continue;
        }
        let Some(name) = concept_name(it) else {
            continue;
        };
        let dcm = |c: codes::C| name.same_concept(c.0, c.1);
        if dcm(codes::OBSERVER_TYPE) {
            match code_in(it, tags::CONCEPT_CODE_SEQUENCE) {
                Some(t) if t.same_concept(codes::DEVICE.0, codes::DEVICE.1) => {
                    out.push(Observer::Device {
                        uid: String::new(),
                        name: None,
                        manufacturer: None,
                        model_name: None,
                    })
                }
                Some(t) if t.same_concept(codes::PERSON.0, codes::PERSON.1) => {
                    out.push(Observer::Person {
                        name: String::new(),
                    })
                }
                _ => {}
            }
        } else if dcm(codes::PERSON_OBSERVER_NAME) {
            let value = string(it, tags::PERSON_NAME).unwrap_or_default();
            match out.last_mut() {
                Some(Observer::Person { name }) if name.is_empty() => *name = value,
                // The person observer is the default type (TID 1002 row 1).
                _ => out.push(Observer::Person { name: value }),
            }
        } else if let Some(Observer::Device {
            uid,
            name: dev_name,
            manufacturer,
            model_name,
        }) = out.last_mut()
        {
            if dcm(codes::DEVICE_OBSERVER_UID) {
                *uid = string(it, tags::UID).unwrap_or_default();
            } else if dcm(codes::DEVICE_OBSERVER_NAME) {
                *dev_name = string(it, tags::TEXT_VALUE);
            } else if dcm(codes::DEVICE_OBSERVER_MANUFACTURER) {
                *manufacturer = string(it, tags::TEXT_VALUE);
            } else if dcm(codes::DEVICE_OBSERVER_MODEL_NAME) {
                *model_name = string(it, tags::TEXT_VALUE);
            }
        }
    }
    out.retain(|o| !matches!(o, Observer::Person { name } if name.is_empty()));
    out
}

/// The first child of `kids` of `value_type` named `name`.
fn find<'a>(kids: &'a [Obj], value_type: &str, name: codes::C) -> Option<&'a Obj> {
    kids.iter().find(|k| is(k, value_type, name))
}

fn text_of(kids: &[Obj], name: codes::C) -> Option<String> {
    find(kids, "TEXT", name).and_then(|k| string(k, tags::TEXT_VALUE))
}

/// Read measurement group number `group` (1-based).
pub(crate) fn parse_group(g: &Obj, group: usize, made_by_carina: bool) -> Result<Outcome, SrError> {
    let kids = children(g);
    let value_type = |k: &Obj| string(k, tags::VALUE_TYPE).unwrap_or_default();
    let regions: Vec<&Obj> = kids.iter().filter(|k| value_type(k) == "SCOORD").collect();
    let region = match regions.as_slice() {
        [] => {
            let why = if kids.iter().any(|k| value_type(k) == "SCOORD3D") {
                "a 3D region (SCOORD3D), not a region of an image"
            } else if kids
                .iter()
                .any(|k| matches!(value_type(k).as_str(), "IMAGE" | "COMPOSITE"))
            {
                "a segmentation or whole-image reference, not a region"
            } else {
                "no image region"
            };
            return Ok(Outcome::Skipped(why.to_string()));
        }
        [one] => *one,
        _ => return Err(bad(group, "more than one image region")),
    };
    let finding = find(kids, "CODE", codes::FINDING)
        .and_then(|k| code_in(k, tags::CONCEPT_CODE_SEQUENCE))
        .ok_or_else(|| bad(group, "no Finding (DCM 121071) coded"))?;
    let label = label_for_code(&finding).ok_or(SrError::UnknownFinding {
        group,
        code: finding.clone(),
    })?;
    let (graphic_type, bbox) = region_bbox(region).map_err(|m| bad(group, m))?;
    let (referenced_sop_class_uid, referenced_sop_instance_uid) = image_of(region).ok_or_else(|| {
        SrError::NoImageReference(format!(
            "measurement group {group}: the image region is not SELECTED FROM an image with valid UIDs"
        ))
    })?;
    let observers = observers(kids);
    let algorithm = match (
        text_of(kids, codes::ALGORITHM_NAME),
        text_of(kids, codes::ALGORITHM_VERSION),
    ) {
        (Some(n), v) => Some((n, v.unwrap_or_default())),
        _ => None,
    };
    let status = find(kids, "CODE", codes::BOX_STATUS)
        .and_then(|k| code_in(k, tags::CONCEPT_CODE_SEQUENCE))
        .and_then(|c| {
            codes::STATUS_CODES
                .iter()
                .find(|(_, s)| c.same_concept(s.0, s.1))
                .map(|(k, _)| *k)
        });
    let provenance = if made_by_carina {
        provenance(&observers, algorithm.as_ref())
    } else {
        None
    };
    Ok(Outcome::Box(Box::new(ParsedBox {
        group,
        tracking_id: text_of(kids, codes::TRACKING_IDENTIFIER),
        tracking_uid: find(kids, "UIDREF", codes::TRACKING_UID).and_then(|k| string(k, tags::UID)),
        finding,
        label,
        finding_site: find(kids, "CODE", codes::FINDING_SITE)
            .and_then(|k| code_in(k, tags::CONCEPT_CODE_SEQUENCE)),
        bbox,
        graphic_type,
        referenced_sop_class_uid,
        referenced_sop_instance_uid,
        observers,
        algorithm,
        status,
        provenance,
    })))
}

/// Who made a box of Carina's: a device observer is the model, one person a
/// radiologist, several persons a consensus (the reviewer first).
fn provenance(observers: &[Observer], algorithm: Option<&(String, String)>) -> Option<Provenance> {
    match observers.first()? {
        Observer::Device {
            name, model_name, ..
        } => {
            let (model, version) = match algorithm {
                Some((n, v)) => (n.clone(), v.clone()),
                None => (model_name.clone().or(name.clone())?, String::new()),
            };
            Some(Provenance::Model { model, version })
        }
        Observer::Person { name } => {
            let readers: Vec<String> = observers[1..]
                .iter()
                .filter_map(|o| match o {
                    Observer::Person { name } => Some(name.clone()),
                    Observer::Device { .. } => None,
                })
                .collect();
            Some(if readers.is_empty() {
                Provenance::Radiologist { user: name.clone() }
            } else {
                Provenance::Consensus {
                    user: name.clone(),
                    readers,
                }
            })
        }
    }
}

/// The image a SCOORD item was SELECTED FROM: (SOP class, SOP instance).
fn image_of(region: &Obj) -> Option<(String, String)> {
    let img = children(region).iter().find(|k| {
        string(k, tags::VALUE_TYPE).as_deref() == Some("IMAGE")
            && string(k, tags::RELATIONSHIP_TYPE).as_deref() == Some("SELECTED FROM")
    })?;
    let sop = seq_items(img, tags::REFERENCED_SOP_SEQUENCE).first()?;
    let class = string(sop, tags::REFERENCED_SOP_CLASS_UID)?;
    let instance = string(sop, tags::REFERENCED_SOP_INSTANCE_UID)?;
    (is_valid_uid(&class) && is_valid_uid(&instance)).then_some((class, instance))
}

/// Coordinates further from the origin than this are refused.
const MAX_COORDINATE: f64 = 1e7;

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The graphic type and the axis-aligned bounding box of a SCOORD region.
fn region_bbox(region: &Obj) -> Result<(String, BBox), String> {
    let graphic_type =
        string(region, tags::GRAPHIC_TYPE).ok_or("the image region has no Graphic Type")?;
    let data = region
        .get(tags::GRAPHIC_DATA)
        .ok_or("the image region has no Graphic Data")?
        .to_multi_float64()
        .map_err(|_| "the image region's Graphic Data are not numbers")?;
    if data.len() % 2 != 0 {
        return Err(format!(
            "the image region has {} coordinates, not (column, row) pairs",
            data.len()
        ));
    }
    if data.iter().any(|v| !v.is_finite()) {
        return Err("the image region's coordinates are not finite numbers".into());
    }
    if data.iter().any(|v| v.abs() > MAX_COORDINATE) {
        return Err("the image region lies more than 10^7 pixels from the origin".into());
    }
    let pts: Vec<[f64; 2]> = data.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    let need = |n: usize, exact: bool| -> Result<(), String> {
        let ok = if exact {
            pts.len() == n
        } else {
            pts.len() >= n
        };
        if ok {
            Ok(())
        } else {
            Err(format!("a {graphic_type} with {} point(s)", pts.len()))
        }
    };
    let [x0, y0, x1, y1] = match graphic_type.as_str() {
        "POLYLINE" | "MULTIPOINT" => {
            need(2, false)?;
            let fold = |f: fn(f64, f64) -> f64, i: usize, init: f64| {
                pts.iter().map(|p| p[i]).fold(init, f)
            };
            [
                fold(f64::min, 0, f64::INFINITY),
                fold(f64::min, 1, f64::INFINITY),
                fold(f64::max, 0, f64::NEG_INFINITY),
                fold(f64::max, 1, f64::NEG_INFINITY),
            ]
        }
        "CIRCLE" => {
            // Centre, then a point on the circle.
            need(2, true)?;
            let [c, p] = [pts[0], pts[1]];
            let r = (p[0] - c[0]).hypot(p[1] - c[1]);
            [c[0] - r, c[1] - r, c[0] + r, c[1] + r]
        }
        "ELLIPSE" => {
            // Major axis end points, then minor axis end points.
            need(4, true)?;
            let c = [(pts[0][0] + pts[1][0]) / 2.0, (pts[0][1] + pts[1][1]) / 2.0];
            let a = [(pts[1][0] - pts[0][0]) / 2.0, (pts[1][1] - pts[0][1]) / 2.0];
            let b = [(pts[3][0] - pts[2][0]) / 2.0, (pts[3][1] - pts[2][1]) / 2.0];
            let hx = a[0].hypot(b[0]);
            let hy = a[1].hypot(b[1]);
            [c[0] - hx, c[1] - hy, c[0] + hx, c[1] + hy]
        }
        "POINT" => return Err("a POINT region has no extent".into()),
        other => {
            return Err(format!(
                "graphic type {other} is not a planar region Carina reads"
            ));
        }
    };
    let bbox =
        BBox::new(round3(x0), round3(y0), round3(x1), round3(y1)).map_err(|e| e.to_string())?;
    Ok((graphic_type, bbox))
}
