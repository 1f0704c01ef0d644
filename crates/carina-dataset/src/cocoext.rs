//! The normalised dataset as a COCO *instances* file. Plain COCO readers see
//! an ordinary file; Carina's own fields ride along as optional extras that
//! they ignore:
//!
//! - image: `source` (the dataset's image id), `readers` (everyone who read
//!   the image, including "No finding" readers); `width`/`height` are left
//!   out when the size was never read (an import without `--images`).
//! - annotation: `provenance` (`{kind: radiologist, user}` or
//!   `{kind: model, model, version}`), `status`, `score`, `fused_from`.
//!
//! Category ids are the label set's class ids.

use crate::model::{Annotation, Dataset};
use carina_core::coco::CocoCategory;
use carina_core::{BoxStatus, Letterbox, Provenance};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtCoco {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
    pub images: Vec<ExtImage>,
    #[serde(default)]
    pub annotations: Vec<ExtAnnotation>,
    pub categories: Vec<CocoCategory>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtImage {
    pub id: i64,
    #[serde(default)]
    pub file_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letterbox: Option<Letterbox>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtAnnotation {
    pub id: i64,
    pub image_id: i64,
    pub category_id: i64,
    /// `[x, y, width, height]`.
    pub bbox: [f64; 4],
    #[serde(default)]
    pub area: f64,
    #[serde(default)]
    pub iscrowd: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BoxStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fused_from: Vec<String>,
}

/// The dataset as a COCO file; image ids 1.. and annotation ids 1.. in order.
pub fn to_coco(ds: &Dataset) -> ExtCoco {
    let mut images = Vec::with_capacity(ds.images.len());
    let mut annotations = Vec::new();
    for (i, img) in ds.images.iter().enumerate() {
        let image_id = i as i64 + 1;
        images.push(ExtImage {
            id: image_id,
            file_name: img
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            width: img.size.map(|s| s.0),
            height: img.size.map(|s| s.1),
            letterbox: None,
            synthetic: ds.synthetic.then_some(true),
            source: Some(img.id.clone()),
            readers: img.readers.clone(),
        });
        for a in &img.annotations {
            annotations.push(annotation(a, annotations.len() as i64 + 1, image_id));
        }
    }
    ExtCoco {
        info: Some(serde_json::json!({
            "description": "Carina normalised dataset",
            "sources": ds.sources,
        })),
        images,
        annotations,
        categories: categories(ds),
    }
}

pub(crate) fn categories(ds: &Dataset) -> Vec<CocoCategory> {
    let mut labels: Vec<_> = ds.labels.labels().to_vec();
    labels.sort_by_key(|l| l.id);
    labels
        .into_iter()
        .map(|l| CocoCategory {
            id: i64::from(l.id),
            name: l.name,
            supercategory: Some("finding".into()),
        })
        .collect()
}

pub(crate) fn annotation(a: &Annotation, id: i64, image_id: i64) -> ExtAnnotation {
    ExtAnnotation {
        id,
        image_id,
        category_id: i64::from(a.class_id),
        bbox: a.bbox.to_xywh(),
        area: a.bbox.area(),
        iscrowd: 0,
        provenance: Some(a.provenance.clone()),
        status: Some(a.status),
        score: a.score,
        fused_from: a.fused_from.clone(),
    }
}
