//! The normalised dataset as a COCO *instances* file: carina-core's COCO
//! types with Carina's extras filled in (image `source` and `readers`; box
//! `provenance`, `status`, `score`, `fused_from`; sizes left out when they
//! were never read). Plain COCO readers see an ordinary file.
//!
//! Category ids are the label set's class ids.

use crate::model::{Annotation, Dataset};
use carina_core::coco::{CocoAnnotation, CocoCategory, CocoDataset, CocoImage};

/// The dataset as a COCO file; image ids 1.. and annotation ids 1.. in order.
pub fn to_coco(ds: &Dataset) -> CocoDataset {
    let mut images = Vec::with_capacity(ds.images.len());
    let mut annotations = Vec::new();
    for (i, img) in ds.images.iter().enumerate() {
        let image_id = i as i64 + 1;
        images.push(CocoImage {
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
    CocoDataset {
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

pub(crate) fn annotation(a: &Annotation, id: i64, image_id: i64) -> CocoAnnotation {
    CocoAnnotation {
        area: a.bbox.area(),
        provenance: Some(a.provenance.clone()),
        status: Some(a.status),
        score: a.score,
        fused_from: a.fused_from.clone(),
        ..CocoAnnotation::new(id, image_id, i64::from(a.class_id), a.bbox.to_xywh())
    }
}
