//! COCO *instances* and *results* files: the interchange format between the
//! dataset tools, the evaluator, training and `carina predict`.
//!
//! Box coordinates are COCO's `[x, y, width, height]` in pixels. Prepared
//! datasets add optional fields to images (`letterbox`, `synthetic`,
//! `source`) that other COCO readers ignore.

use crate::letterbox::Letterbox;
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
    pub width: u32,
    pub height: u32,
    /// How the image was resized from its original (prepared datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letterbox: Option<Letterbox>,
    /// True for generated radiographs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    /// Where the image came from (dataset and original id), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
