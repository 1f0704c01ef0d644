//! Ground truth and detections as the evaluator takes them, read from COCO
//! *instances* and *results* files with errors that name the file and the place.
//!
//! The files are read with this module's own serde structs rather than
//! [`carina_core::coco`]'s, so that fields pycocotools needs (`area`) are
//! required, values are checked where serde still knows the line and column,
//! and fields the evaluator does not need (`width`, `file_name`) are optional.

use carina_core::coco::{CocoAnnotation, CocoDataset, CocoDetection};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// A ground-truth box. `bbox` is COCO's `[x, y, width, height]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GtBox {
    pub id: i64,
    pub image_id: i64,
    pub category_id: i64,
    pub bbox: [f64; 4],
    /// The annotation's own `area`; pycocotools uses it (not `w × h`) for area ranges.
    pub area: f64,
    pub iscrowd: bool,
    /// Read from the file, but pycocotools' `COCOeval` replaces it with
    /// `iscrowd` before evaluating, so it has no effect on the metrics.
    pub ignore: bool,
}

/// A detection. `bbox` is COCO's `[x, y, width, height]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub image_id: i64,
    pub category_id: i64,
    pub bbox: [f64; 4],
    pub score: f64,
}

/// A category of the ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: i64,
    pub name: String,
}

/// A COCO instances file, checked: ids unique, every annotation on a listed
/// image and of a listed category, sizes finite and not negative.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    pub images: Vec<i64>,
    pub categories: Vec<Category>,
    pub annotations: Vec<GtBox>,
}

/// Why an input was refused. Each message names the file (or "ground truth" /
/// "detections" for data given in memory) and the place in it.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: {message}")]
    Json { file: String, message: String },
    #[error("{file}: {place}: {message}")]
    Invalid {
        file: String,
        place: String,
        message: String,
    },
}

fn invalid(file: &str, place: String, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        file: file.to_owned(),
        place,
        message: message.into(),
    }
}

/// `[x, y, w, h]` with finite values and `w, h >= 0`, checked while serde
/// still knows the position.
#[derive(Deserialize)]
#[serde(try_from = "[f64; 4]")]
struct XywhBox([f64; 4]);

impl TryFrom<[f64; 4]> for XywhBox {
    type Error = String;
    fn try_from(b: [f64; 4]) -> Result<Self, String> {
        if b.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "bbox {b:?} has a value that is not a finite number"
            ));
        }
        if b[2] < 0.0 || b[3] < 0.0 {
            return Err(format!(
                "bbox {b:?} has a negative width or height (COCO boxes are [x, y, width, height])"
            ));
        }
        Ok(Self(b))
    }
}

/// A finite, non-negative number.
#[derive(Deserialize)]
#[serde(try_from = "f64")]
struct NonNegative(f64);

impl TryFrom<f64> for NonNegative {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && v >= 0.0 {
            Ok(Self(v))
        } else {
            Err(format!("area {v} is not a finite number >= 0"))
        }
    }
}

/// COCO files write flags as 0/1 or as booleans.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Int(i64),
}

impl Flag {
    fn get(f: Option<Flag>) -> bool {
        match f {
            Some(Flag::Bool(b)) => b,
            Some(Flag::Int(i)) => i != 0,
            None => false,
        }
    }
}

#[derive(Deserialize)]
struct RawGt {
    images: Vec<RawImage>,
    #[serde(default)]
    annotations: Vec<RawAnn>,
    categories: Vec<RawCat>,
}

#[derive(Deserialize)]
struct RawImage {
    id: i64,
}

#[derive(Deserialize)]
struct RawCat {
    id: i64,
    name: String,
}

#[derive(Deserialize)]
struct RawAnn {
    id: i64,
    image_id: i64,
    category_id: i64,
    bbox: XywhBox,
    area: NonNegative,
    #[serde(default)]
    iscrowd: Option<Flag>,
    #[serde(default)]
    ignore: Option<Flag>,
}

#[derive(Deserialize)]
struct RawDet {
    image_id: i64,
    category_id: i64,
    bbox: XywhBox,
    score: f64,
}

fn read_text(path: &Path) -> Result<String, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
        file: file.clone(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(InputError::Empty { file });
    }
    Ok(text)
}

fn json_error(file: &str, text: &str, e: serde_json::Error) -> InputError {
    let mut message = e.to_string();
    if e.is_syntax() {
        // Python's json module writes NaN and Infinity, which are not JSON.
        let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("");
        let rest: String = line.chars().skip(e.column().saturating_sub(1)).collect();
        let rest = rest.trim_start().trim_start_matches('-');
        if rest.starts_with("NaN") || rest.starts_with("Infinity") {
            message.push_str(" (NaN and Infinity are not valid JSON numbers)");
        }
    }
    InputError::Json {
        file: file.to_owned(),
        message,
    }
}

impl GroundTruth {
    /// Reads and checks a COCO instances file.
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = read_text(path)?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Parses and checks COCO instances JSON; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<Self, InputError> {
        if text.trim().is_empty() {
            return Err(InputError::Empty {
                file: file.to_owned(),
            });
        }
        if text.trim_start().starts_with('[') {
            return Err(InputError::Json {
                file: file.to_owned(),
                message: "expected a COCO instances object {images, annotations, categories}, \
                          found a list (is this a results file?)"
                    .into(),
            });
        }
        let raw: RawGt = serde_json::from_str(text).map_err(|e| json_error(file, text, e))?;
        let gt = GroundTruth {
            images: raw.images.iter().map(|i| i.id).collect(),
            categories: raw
                .categories
                .into_iter()
                .map(|c| Category {
                    id: c.id,
                    name: c.name,
                })
                .collect(),
            annotations: raw
                .annotations
                .into_iter()
                .map(|a| GtBox {
                    id: a.id,
                    image_id: a.image_id,
                    category_id: a.category_id,
                    bbox: a.bbox.0,
                    area: a.area.0,
                    iscrowd: Flag::get(a.iscrowd),
                    ignore: Flag::get(a.ignore),
                })
                .collect(),
        };
        gt.check(file)?;
        Ok(gt)
    }

    /// From Carina's own COCO types (training and `carina eval model`).
    pub fn from_coco(ds: &CocoDataset) -> Result<Self, InputError> {
        let gt = GroundTruth {
            images: ds.images.iter().map(|i| i.id).collect(),
            categories: ds
                .categories
                .iter()
                .map(|c| Category {
                    id: c.id,
                    name: c.name.clone(),
                })
                .collect(),
            annotations: ds.annotations.iter().map(gt_from_coco).collect(),
        };
        gt.check("ground truth")?;
        Ok(gt)
    }

    /// The checks the reference would trip over or silently get wrong.
    pub fn check(&self, file: &str) -> Result<(), InputError> {
        if self.categories.is_empty() {
            return Err(invalid(file, "categories".into(), "no categories"));
        }
        let mut images = HashSet::with_capacity(self.images.len());
        for (i, id) in self.images.iter().enumerate() {
            if !images.insert(*id) {
                return Err(invalid(
                    file,
                    format!("images[{i}]"),
                    format!("image id {id} appears twice"),
                ));
            }
        }
        let mut cats = HashSet::new();
        let mut names = HashSet::new();
        for (i, c) in self.categories.iter().enumerate() {
            if !cats.insert(c.id) {
                return Err(invalid(
                    file,
                    format!("categories[{i}]"),
                    format!("category id {} appears twice", c.id),
                ));
            }
            if !names.insert(c.name.as_str()) {
                return Err(invalid(
                    file,
                    format!("categories[{i}]"),
                    format!("category name {:?} appears twice", c.name),
                ));
            }
        }
        let mut ids = HashSet::with_capacity(self.annotations.len());
        for (i, a) in self.annotations.iter().enumerate() {
            let place = format!("annotations[{i}] (id {})", a.id);
            if !ids.insert(a.id) {
                return Err(invalid(file, place, "annotation id appears twice"));
            }
            if !images.contains(&a.image_id) {
                return Err(invalid(
                    file,
                    place,
                    format!("image_id {} is not in \"images\"", a.image_id),
                ));
            }
            if !cats.contains(&a.category_id) {
                return Err(invalid(
                    file,
                    place,
                    format!("category_id {} is not in \"categories\"", a.category_id),
                ));
            }
            if let Err(m) = XywhBox::try_from(a.bbox) {
                return Err(invalid(file, place, m));
            }
            if let Err(m) = NonNegative::try_from(a.area) {
                return Err(invalid(file, place, m));
            }
        }
        Ok(())
    }

    /// Checks detections against this ground truth: every detection must be
    /// on one of its images and of one of its categories.
    pub fn check_detections(&self, dets: &[Detection], file: &str) -> Result<(), InputError> {
        let images: HashSet<i64> = self.images.iter().copied().collect();
        let cats: HashSet<i64> = self.categories.iter().map(|c| c.id).collect();
        for (i, d) in dets.iter().enumerate() {
            let place = format!("detection [{i}]");
            if !images.contains(&d.image_id) {
                return Err(invalid(
                    file,
                    place,
                    format!(
                        "image_id {} is not an image of the ground truth",
                        d.image_id
                    ),
                ));
            }
            if !cats.contains(&d.category_id) {
                return Err(invalid(
                    file,
                    place,
                    format!(
                        "category_id {} is not a category of the ground truth",
                        d.category_id
                    ),
                ));
            }
            if let Err(m) = XywhBox::try_from(d.bbox) {
                return Err(invalid(file, place, m));
            }
            if !d.score.is_finite() {
                return Err(invalid(file, place, "score is not a finite number"));
            }
        }
        Ok(())
    }

    /// Name of a category id, if it is one.
    pub fn category_name(&self, id: i64) -> Option<&str> {
        self.categories
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.as_str())
    }
}

fn gt_from_coco(a: &CocoAnnotation) -> GtBox {
    GtBox {
        id: a.id,
        image_id: a.image_id,
        category_id: a.category_id,
        bbox: a.bbox,
        area: a.area,
        iscrowd: a.iscrowd != 0,
        ignore: a.ignore.unwrap_or(0) != 0,
    }
}

/// Reads a COCO results file (a JSON list of detections).
pub fn detections_from_file(path: &Path) -> Result<Vec<Detection>, InputError> {
    let text = read_text(path)?;
    detections_from_json(&text, &path.display().to_string())
}

/// Parses a COCO results list; `file` names it in errors.
pub fn detections_from_json(text: &str, file: &str) -> Result<Vec<Detection>, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            file: file.to_owned(),
        });
    }
    if text.trim_start().starts_with('{') {
        return Err(InputError::Json {
            file: file.to_owned(),
            message: "expected a COCO results list [{image_id, category_id, bbox, score}, ...], \
                      found an object (is this an instances file?)"
                .into(),
        });
    }
    let raw: Vec<RawDet> = serde_json::from_str(text).map_err(|e| json_error(file, text, e))?;
    Ok(raw
        .into_iter()
        .map(|d| Detection {
            image_id: d.image_id,
            category_id: d.category_id,
            bbox: d.bbox.0,
            score: d.score,
        })
        .collect())
}

impl GroundTruth {
    /// As a COCO instances JSON document (images carry only their ids).
    pub fn to_json(&self) -> String {
        let images: Vec<_> = self
            .images
            .iter()
            .map(|id| serde_json::json!({"id": id}))
            .collect();
        let categories: Vec<_> = self
            .categories
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "name": c.name}))
            .collect();
        let annotations: Vec<_> = self
            .annotations
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.id, "image_id": a.image_id, "category_id": a.category_id,
                    "bbox": a.bbox, "area": a.area, "iscrowd": u8::from(a.iscrowd),
                })
            })
            .collect();
        serde_json::json!({"images": images, "annotations": annotations, "categories": categories})
            .to_string()
    }
}

/// Detections as a COCO results JSON list.
pub fn detections_to_json(dets: &[Detection]) -> String {
    let rows: Vec<_> = dets
        .iter()
        .map(|d| {
            serde_json::json!({
                "image_id": d.image_id, "category_id": d.category_id,
                "bbox": d.bbox, "score": d.score,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// From Carina's own COCO detection rows.
pub fn detections_from_coco(dets: &[CocoDetection]) -> Vec<Detection> {
    dets.iter()
        .map(|d| Detection {
            image_id: d.image_id,
            category_id: d.category_id,
            bbox: d.bbox,
            score: d.score,
        })
        .collect()
}
