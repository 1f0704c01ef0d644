//! COCO *instances* JSON (and Carina's own exports of it, whose extra fields
//! carry provenance, status and score). Categories map by name.

use super::{Collector, ImportOptions, PendingBox, valid_box};
use crate::classes::{ClassMapping, SourceFormat, map_class};
use crate::error::DatasetError;
use crate::model::{Annotation, Dataset};
use crate::report::{ImportReport, IssueKind};
use carina_core::coco::{CocoAnnotation, CocoDataset};
use carina_core::{BBox, BoxStatus, Provenance};
use std::collections::HashMap;
use std::path::Path;

/// Reader name for COCO boxes that do not say who drew them.
const COCO_READER: &str = "coco";

/// Reads a COCO file, with a clear error for missing, empty or malformed files.
pub fn read_coco_file(path: &Path) -> Result<CocoDataset, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| DatasetError::json(path, &e))
}

pub fn import_coco(
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Dataset, ImportReport), DatasetError> {
    let coco = read_coco_file(path)?;
    let mut import = CocoImport {
        report: ImportReport::new(&path.display().to_string(), "coco"),
        cats: HashMap::new(),
        col: Collector::default(),
        keys: HashMap::new(),
    };
    import.categories(&coco, opts);
    import.images(&coco);
    import.report.rows = coco.annotations.len();
    for (i, a) in coco.annotations.iter().enumerate() {
        import.annotation(i, a);
    }
    let CocoImport {
        mut report, col, ..
    } = import;
    let mut ds = col.finish(SourceFormat::Coco, path, opts, &mut report)?;
    // A prepared or synthetic COCO file says so per image; keep the flag.
    ds.synthetic = coco.images.iter().any(|i| i.synthetic == Some(true));
    Ok((ds, report))
}

/// The state of one COCO import.
struct CocoImport {
    report: ImportReport,
    /// Category id → source name and its mapping onto the label set.
    cats: HashMap<i64, (String, ClassMapping)>,
    col: Collector,
    /// Image id → the image's key in the dataset.
    keys: HashMap<i64, String>,
}

impl CocoImport {
    fn categories(&mut self, coco: &CocoDataset, opts: &ImportOptions) {
        for c in &coco.categories {
            if self.cats.contains_key(&c.id) {
                self.report.issue(
                    None,
                    IssueKind::DuplicateId,
                    format!(
                        "category id {} defined twice (second, {:?}, ignored)",
                        c.id, c.name
                    ),
                );
                continue;
            }
            let m = map_class(SourceFormat::Coco, &c.name, &opts.labels);
            self.cats.insert(c.id, (c.name.clone(), m));
        }
    }

    fn images(&mut self, coco: &CocoDataset) {
        for (i, img) in coco.images.iter().enumerate() {
            let key = img
                .source
                .clone()
                .filter(|s| !s.is_empty())
                .or_else(|| Some(img.file_name.clone()).filter(|s| !s.is_empty()))
                .unwrap_or_else(|| img.id.to_string());
            if self.keys.contains_key(&img.id) || self.col.contains(&key) {
                self.report.issue(
                    None,
                    IssueKind::DuplicateId,
                    format!(
                        "images[{i}]: image id {} / {key:?} defined twice (ignored)",
                        img.id
                    ),
                );
                continue;
            }
            if img.width == Some(0) || img.height == Some(0) {
                self.report.issue(
                    None,
                    IssueKind::SizeMismatch,
                    format!("images[{i}]: image {key:?} has zero width or height (ignored)"),
                );
                continue;
            }
            self.keys.insert(img.id, key.clone());
            let p = self.col.image(&key, None);
            p.stated_size = img.width.zip(img.height);
            p.file_name = Some(img.file_name.clone()).filter(|s| !s.is_empty());
            p.readers = img.readers.clone();
        }
    }

    /// The `i`th annotation: kept, or counted and reported as dropped.
    fn annotation(&mut self, i: usize, a: &CocoAnnotation) {
        let report = &mut self.report;
        let place = format!("annotations[{i}] (id {})", a.id);
        let Some(key) = self.keys.get(&a.image_id) else {
            report.rows_rejected += 1;
            report.issue(
                None,
                IssueKind::UnknownImageId,
                format!("{place}: image_id {} is not in images", a.image_id),
            );
            return;
        };
        let Some((cat_name, mapping)) = self.cats.get(&a.category_id) else {
            report.rows_rejected += 1;
            report.issue(
                None,
                IssueKind::UnknownClass,
                format!(
                    "{place}: category_id {} is not in categories",
                    a.category_id
                ),
            );
            return;
        };
        let [x, y, w, h] = a.bbox;
        let bbox = match valid_box(BBox::from_xywh(x, y, w, h)) {
            Ok(b) => b,
            Err(msg) => {
                report.rows_rejected += 1;
                report.issue(None, IssueKind::InvalidBox, format!("{place}: {msg}"));
                return;
            }
        };
        report.boxes_read += 1;
        if a.iscrowd != 0 {
            report.issue(
                None,
                IssueKind::InvalidBox,
                format!("{place}: a crowd region (iscrowd=1) is not a finding box"),
            );
            report.class_mut(cat_name, None).dropped_with_issue += 1;
            return;
        }
        let ClassMapping::Label(id, name) = mapping else {
            report.class_mut(cat_name, None).dropped_not_in_label_set += 1;
            return;
        };
        let provenance = a.provenance.clone().unwrap_or(Provenance::Radiologist {
            user: COCO_READER.into(),
        });
        let ann = Annotation {
            class_id: *id,
            bbox,
            provenance,
            status: a.status.unwrap_or(BoxStatus::Manual),
            score: a.score,
            fused_from: a.fused_from.clone(),
        };
        report.class_mut(cat_name, Some(name));
        let img = self.col.image(key, None);
        let reader = ann.reader();
        if ann.fused_from.is_empty() && !img.readers.contains(&reader) {
            img.readers.push(reader);
        }
        img.boxes.push(PendingBox {
            line: None,
            source_class: cat_name.clone(),
            annotation: ann,
        });
    }
}
