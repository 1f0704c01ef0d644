//! The normalised dataset every importer produces and every exporter reads:
//! images (id, optional file path, size) and their boxes in original pixels,
//! each with its class, provenance, review status and optional score.
//!
//! A workbench annotation (store row: `Provenance` + `BoxStatus` + score)
//! converts into an [`Annotation`] field by field, so exporting from the
//! database is building a [`Dataset`] and calling the same exporters.

use carina_core::{BBox, BoxStatus, LabelSet, Provenance};
use std::path::PathBuf;

/// One normalised dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The label set the class ids refer to.
    pub labels: LabelSet,
    pub images: Vec<ImageRecord>,
    /// True when any image is generated.
    pub synthetic: bool,
    /// Where the data came from, e.g. `["vindr:train.csv"]`.
    pub sources: Vec<String>,
}

/// One image and its boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRecord {
    /// The source's id (VinDr `image_id`, NIH `Image Index`, COCO `file_name`
    /// or id); unique within a dataset.
    pub id: String,
    /// The image file, when known.
    pub path: Option<PathBuf>,
    /// Size in pixels; `None` when the image was not read (no `--images`).
    pub size: Option<(u32, u32)>,
    /// Readers seen on this image, including those who only said
    /// "No finding" (each is one model in Weighted Boxes Fusion).
    pub readers: Vec<String>,
    pub annotations: Vec<Annotation>,
}

/// One box in original pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Class id in [`Dataset::labels`].
    pub class_id: u32,
    pub bbox: BBox,
    pub provenance: Provenance,
    pub status: BoxStatus,
    /// Model confidence, or the fused score of a fused box.
    pub score: Option<f64>,
    /// Readers whose boxes were fused into this one; empty for a box that
    /// was not fused.
    pub fused_from: Vec<String>,
}

/// Where a box came from, as `--source` filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Radiologist,
    Model,
    Fused,
}

impl SourceKind {
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s.trim() {
            "radiologist" => Some(SourceKind::Radiologist),
            "model" => Some(SourceKind::Model),
            "fused" => Some(SourceKind::Fused),
            _ => None,
        }
    }
}

impl Annotation {
    /// A radiologist's box as read from a dataset file.
    pub fn radiologist(class_id: u32, bbox: BBox, reader: &str) -> Self {
        Self {
            class_id,
            bbox,
            provenance: Provenance::Radiologist {
                user: reader.to_string(),
            },
            status: BoxStatus::Manual,
            score: None,
            fused_from: Vec::new(),
        }
    }

    pub fn source_kind(&self) -> SourceKind {
        if !self.fused_from.is_empty() {
            SourceKind::Fused
        } else {
            match self.provenance {
                Provenance::Radiologist { .. } => SourceKind::Radiologist,
                Provenance::Model { .. } => SourceKind::Model,
                Provenance::Consensus { .. } => SourceKind::Fused,
            }
        }
    }

    /// The reader (radiologist user or `model:version`) this box belongs to.
    pub fn reader(&self) -> String {
        match &self.provenance {
            Provenance::Radiologist { user } => user.clone(),
            Provenance::Model { model, version } => format!("{model}:{version}"),
            Provenance::Consensus { readers, .. } => readers.join("+"),
        }
    }
}

/// Which boxes an export keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Keep only these sources; empty keeps all.
    pub sources: Vec<SourceKind>,
    /// Keep only these statuses; empty keeps all.
    pub statuses: Vec<BoxStatus>,
}

impl Filter {
    pub fn keeps(&self, a: &Annotation) -> bool {
        (self.sources.is_empty() || self.sources.contains(&a.source_kind()))
            && (self.statuses.is_empty() || self.statuses.contains(&a.status))
    }
}

impl Dataset {
    pub fn new(labels: LabelSet) -> Self {
        Self {
            labels,
            images: Vec::new(),
            synthetic: false,
            sources: Vec::new(),
        }
    }

    pub fn box_count(&self) -> usize {
        self.images.iter().map(|i| i.annotations.len()).sum()
    }

    /// A copy holding only the boxes `filter` keeps (every image stays, so
    /// that images without boxes remain negatives).
    pub fn filtered(&self, filter: &Filter) -> Dataset {
        let mut out = self.clone();
        for img in &mut out.images {
            img.annotations.retain(|a| filter.keeps(a));
        }
        out
    }

    /// Class name of `class_id`, or `class_<id>` for an id outside the
    /// label set.
    pub fn class_name(&self, class_id: u32) -> String {
        self.labels
            .get(class_id)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("class_{class_id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_by_source_and_status() {
        let b = BBox::new(0.0, 0.0, 1.0, 1.0).unwrap();
        let rad = Annotation::radiologist(0, b, "R1");
        let mut model = rad.clone();
        model.provenance = Provenance::Model {
            model: "effdet".into(),
            version: "1".into(),
        };
        model.status = BoxStatus::Proposed;
        let mut fused = rad.clone();
        fused.fused_from = vec!["R1".into(), "R2".into()];
        let f = Filter {
            sources: vec![SourceKind::Radiologist],
            statuses: vec![],
        };
        assert!(f.keeps(&rad) && !f.keeps(&model) && !f.keeps(&fused));
        let f = Filter {
            sources: vec![],
            statuses: vec![BoxStatus::Accepted, BoxStatus::Manual],
        };
        assert!(f.keeps(&rad) && !f.keeps(&model) && f.keeps(&fused));
        assert_eq!(fused.source_kind(), SourceKind::Fused);
        assert_eq!(model.reader(), "effdet:1");
    }
}
