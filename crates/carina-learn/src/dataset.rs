//! The workbench's stored boxes as a `carina-dataset` dataset: what
//! `carina dataset export --from-db` writes and what fine-tuning trains on.

use anyhow::Context;
use carina_core::{BoxStatus, LabelSet, Provenance};
use carina_dataset::{Annotation, Dataset, ImageRecord};
use carina_store::{ExportedBox, ExportedImage};
use std::path::PathBuf;

/// A stored box as a dataset annotation. A source kind other than
/// radiologist or model (e.g. a consensus of readers) is kept as a fused box
/// whose reader is its user, or the kind itself.
fn annotation(b: &ExportedBox) -> anyhow::Result<Annotation> {
    let status = BoxStatus::parse(&b.status)
        .with_context(|| format!("box {} has an unknown status {:?}", b.id, b.status))?;
    let (provenance, fused_from) = match b.source_kind.as_str() {
        "model" => (
            Provenance::Model {
                model: b.model_name.clone().unwrap_or_default(),
                version: b.model_version.clone().unwrap_or_default(),
            },
            Vec::new(),
        ),
        "radiologist" => (
            Provenance::Radiologist {
                user: b.source_user.clone().unwrap_or_default(),
            },
            Vec::new(),
        ),
        other => (
            Provenance::Radiologist {
                user: b.source_user.clone().unwrap_or_else(|| other.to_string()),
            },
            vec![other.to_string()],
        ),
    };
    Ok(Annotation {
        class_id: b.class_id,
        bbox: b.bbox,
        provenance,
        status,
        score: b.score,
        fused_from,
    })
}

/// The exported rows as a dataset over `labels`; `path` gives each image's
/// file (or none). Readers are the distinct makers of an image's boxes, or
/// the last editor of an image marked "no finding".
pub fn workbench_dataset(
    labels: LabelSet,
    rows: &[ExportedImage],
    path: impl Fn(&ExportedImage) -> Option<PathBuf>,
) -> anyhow::Result<Dataset> {
    let mut ds = Dataset::new(labels);
    ds.sources = vec!["carina:workbench".into()];
    for r in rows {
        let annotations = r
            .boxes
            .iter()
            .map(annotation)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut readers: Vec<String> = Vec::new();
        for a in &annotations {
            let who = a.reader();
            if !readers.contains(&who) {
                readers.push(who);
            }
        }
        if readers.is_empty() && r.no_finding {
            readers.push(r.updated_by.clone());
        }
        ds.images.push(ImageRecord {
            id: r.id.to_string(),
            path: path(r),
            size: Some((r.width, r.height)),
            readers,
            annotations,
        });
    }
    Ok(ds)
}
