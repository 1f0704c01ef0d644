//! COCO *instances* and *results* files: the interchange format between the
//! dataset tools, the evaluator, training and `carina predict`.
//!
//! Box coordinates are COCO's `[x, y, width, height]` in pixels. Carina's own
//! fields ride along as optional extras that other COCO readers ignore:
//!
//! - image: `letterbox` (prepared datasets), `synthetic`, `source` (the
//!   dataset's image id), `readers` (everyone who read the image, including
//!   "No finding" readers); `width`/`height` are left out when the size was
//!   never read (an import without `--images`; a prepared dataset always has them).
//! - annotation: `provenance` (`{kind: radiologist, user}` or
//!   `{kind: model, model, version}`), `status`, `score`, `fused_from`.
//!
//! One set of types for every COCO file Carina reads or writes: prepared
//! datasets, the normalised dataset export, imports and training.

use crate::letterbox::Letterbox;
use crate::provenance::{BoxStatus, Provenance};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CocoDataset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
    pub images: Vec<CocoImage>,
    #[serde(default)]
    pub annotations: Vec<CocoAnnotation>,
    pub categories: Vec<CocoCategory>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoImage {
    pub id: i64,
    #[serde(default)]
    pub file_name: String,
    /// Absent when the size was never read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// How the image was resized from its original (prepared datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letterbox: Option<Letterbox>,
    /// True for generated radiographs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    /// Where the image came from (dataset and original id), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Everyone who read the image (including "No finding" readers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
}

impl CocoImage {
    /// An image of a known size, without Carina's extras.
    pub fn new(id: i64, file_name: impl Into<String>, width: u32, height: u32) -> Self {
        Self {
            id,
            file_name: file_name.into(),
            width: Some(width),
            height: Some(height),
            letterbox: None,
            synthetic: None,
            source: None,
            readers: Vec::new(),
        }
    }

    /// `(width, height)` when both are stated and non-zero.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.width.zip(self.height).filter(|&(w, h)| w > 0 && h > 0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoAnnotation {
    pub id: i64,
    pub image_id: i64,
    pub category_id: i64,
    /// `[x, y, width, height]`.
    pub bbox: [f64; 4],
    #[serde(default)]
    pub area: f64,
    #[serde(default)]
    pub iscrowd: u8,
    /// pycocotools honours an `ignore` flag on ground truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<u8>,
    /// Who made the box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BoxStatus>,
    /// A model's confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The readers a fused box was made from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fused_from: Vec<String>,
}

impl CocoAnnotation {
    /// A box `[x, y, width, height]` with its area, without Carina's extras.
    pub fn new(id: i64, image_id: i64, category_id: i64, bbox: [f64; 4]) -> Self {
        Self {
            id,
            image_id,
            category_id,
            bbox,
            area: bbox[2] * bbox[3],
            iscrowd: 0,
            ignore: None,
            provenance: None,
            status: None,
            score: None,
            fused_from: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CocoCategory {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supercategory: Option<String>,
}

/// One row of a COCO *results* list (detections).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoDetection {
    pub image_id: i64,
    pub category_id: i64,
    pub bbox: [f64; 4],
    pub score: f64,
}

impl CocoDataset {
    /// Categories for a label-name list, ids 0.. in order (Carina's class ids).
    pub fn categories_for(names: &[String]) -> Vec<CocoCategory> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| CocoCategory {
                id: i as i64,
                name: n.clone(),
                supercategory: Some("finding".into()),
            })
            .collect()
    }
}
