//! Importers: VinDr-CXR `train.csv`, the NIH ChestX-ray14 box list and COCO
//! JSON, each into one normalised [`Dataset`] plus an [`ImportReport`].
//!
//! Every importer parses rows into pending images and boxes, then
//! [`Collector::finish`] resolves the image files (when an images folder is
//! given), checks boxes against the image sizes and counts what was kept.

mod coco;
mod nih;
pub(crate) mod vindr;

pub use coco::import_coco;
pub use nih::{NIH_IMAGE_SIZE, import_nih};
pub use vindr::import_vindr;

use crate::classes::SourceFormat;
use crate::error::DatasetError;
use crate::images::{ImageIndex, probe_size};
use crate::model::{Annotation, Dataset, ImageRecord};
use crate::report::{ImportReport, IssueKind};
use carina_core::{BBox, LabelSet};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The label set to map source classes onto.
    pub labels: LabelSet,
    /// Folder of the images; when given, each image must be there and its
    /// boxes are checked against its real size.
    pub images: Option<PathBuf>,
}

/// Imports `path` in `format`.
pub fn import(
    format: SourceFormat,
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Dataset, ImportReport), DatasetError> {
    match format {
        SourceFormat::Vindr => import_vindr(path, opts),
        SourceFormat::Nih => import_nih(path, opts),
        SourceFormat::Coco => import_coco(path, opts),
    }
}

pub(crate) struct PendingBox {
    pub line: Option<u64>,
    pub source_class: String,
    pub annotation: Annotation,
}

pub(crate) struct PendingImage {
    pub id: String,
    pub first_line: Option<u64>,
    pub readers: Vec<String>,
    pub boxes: Vec<PendingBox>,
    /// A size the input itself states (COCO, NIH's fixed 1024×1024).
    pub stated_size: Option<(u32, u32)>,
    /// A file name the input states (COCO `file_name`).
    pub file_name: Option<String>,
}

#[derive(Default)]
pub(crate) struct Collector {
    pub images: Vec<PendingImage>,
    index: HashMap<String, usize>,
}

impl Collector {
    pub fn image(&mut self, id: &str, line: Option<u64>) -> &mut PendingImage {
        let i = *self.index.entry(id.to_string()).or_insert_with(|| {
            self.images.push(PendingImage {
                id: id.to_string(),
                first_line: line,
                readers: Vec::new(),
                boxes: Vec::new(),
                stated_size: None,
                file_name: None,
            });
            self.images.len() - 1
        });
        &mut self.images[i]
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Resolves images, checks boxes against sizes and builds the dataset.
    pub fn finish(
        self,
        format: SourceFormat,
        source: &Path,
        opts: &ImportOptions,
        report: &mut ImportReport,
    ) -> Result<Dataset, DatasetError> {
        report.images_seen = self.images.len();
        let index = match &opts.images {
            Some(dir) => Some(ImageIndex::scan(dir)?),
            None => None,
        };
        // Locate and measure every image first (in parallel: a VinDr folder
        // holds 15,000 files), then judge the boxes in input order.
        let located: Vec<Located> = self
            .images
            .par_iter()
            .map(|img| locate(img, index.as_ref()))
            .collect();
        if index.is_none() && self.images.iter().any(|i| i.stated_size.is_none()) {
            report.notes.push(
                "no images folder given: image sizes unknown, boxes checked only for \
                 validity and negative coordinates"
                    .into(),
            );
        }
        let mut ds = Dataset::new(opts.labels.clone());
        ds.sources
            .push(format!("{}:{}", format.as_str(), source.display()));
        for (img, loc) in self.images.into_iter().zip(located) {
            let (path, size) = match loc {
                Located::Missing => {
                    report.issue(
                        img.first_line,
                        IssueKind::MissingImage,
                        format!(
                            "image {} not found in the images folder ({} boxes dropped)",
                            img.id,
                            img.boxes.len()
                        ),
                    );
                    drop_all(&img, report);
                    continue;
                }
                Located::Unreadable(path, why) => {
                    report.issue(
                        img.first_line,
                        IssueKind::UnreadableImage,
                        format!("image {} ({}): {why}", img.id, file_name(&path)),
                    );
                    drop_all(&img, report);
                    continue;
                }
                Located::Found(path, size) => {
                    if let Some(stated) = img.stated_size
                        && stated != size
                    {
                        report.issue(
                            img.first_line,
                            IssueKind::SizeMismatch,
                            format!(
                                "image {} is {}x{}, the input says {}x{}",
                                img.id, size.0, size.1, stated.0, stated.1
                            ),
                        );
                        drop_all(&img, report);
                        continue;
                    }
                    (Some(path), Some(size))
                }
                Located::NotChecked => (img.file_name.as_ref().map(PathBuf::from), img.stated_size),
            };
            let mut rec = ImageRecord {
                id: img.id,
                path,
                size,
                readers: img.readers,
                annotations: Vec::new(),
            };
            for b in img.boxes {
                if let Err(why) = inside(&b.annotation.bbox, size) {
                    report.issue(b.line, IssueKind::OutsideImage, why);
                    report.class_mut(&b.source_class, None).dropped_with_issue += 1;
                    continue;
                }
                report.class_mut(&b.source_class, None).kept += 1;
                report.boxes_kept += 1;
                rec.annotations.push(b.annotation);
            }
            ds.images.push(rec);
        }
        report.images_kept = ds.images.len();
        Ok(ds)
    }
}

enum Located {
    NotChecked,
    Missing,
    Unreadable(PathBuf, String),
    Found(PathBuf, (u32, u32)),
}

fn locate(img: &PendingImage, index: Option<&ImageIndex>) -> Located {
    let Some(index) = index else {
        return Located::NotChecked;
    };
    let found = img
        .file_name
        .as_deref()
        .and_then(|f| {
            index
                .find(f)
                .or_else(|| index.find(file_name(Path::new(f))))
        })
        .or_else(|| index.find(&img.id));
    match found {
        None => Located::Missing,
        Some(p) => match probe_size(p) {
            Ok(size) => Located::Found(p.to_path_buf(), size),
            Err(e) => Located::Unreadable(p.to_path_buf(), e),
        },
    }
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn drop_all(img: &PendingImage, report: &mut ImportReport) {
    for b in &img.boxes {
        report.class_mut(&b.source_class, None).dropped_with_issue += 1;
    }
}

/// Negative coordinates are outside any image; the far edges only when the
/// size is known.
fn inside(b: &BBox, size: Option<(u32, u32)>) -> Result<(), String> {
    if b.x_min() < 0.0 || b.y_min() < 0.0 {
        return Err(format!("box {:?} has negative coordinates", b.to_array()));
    }
    if let Some((w, h)) = size {
        b.check_within(w, h).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Parses one coordinate cell; `Err` names the column.
pub(crate) fn parse_coord(cell: &str, column: &str) -> Result<f64, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Err(format!("{column} is empty"));
    }
    t.parse::<f64>()
        .map_err(|_| format!("{column} is not a number: {t:?}"))
}

/// A box that is finite, ordered and has an area; `Err` says why not.
pub(crate) fn valid_box(b: Result<BBox, carina_core::BBoxError>) -> Result<BBox, String> {
    let b = b.map_err(|e| e.to_string())?;
    if b.width() <= 0.0 || b.height() <= 0.0 {
        return Err(format!("box {:?} has zero width or height", b.to_array()));
    }
    Ok(b)
}

/// Turns csv's per-record errors into a line number and a message.
pub(crate) fn csv_record_error(e: &csv::Error) -> (Option<u64>, String) {
    let line = e.position().map(|p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("not valid UTF-8 ({err})"),
        _ => e.to_string(),
    };
    (line, msg)
}

/// Opens a CSV file (headers on), refusing missing and empty files.
pub(crate) fn open_csv(path: &Path) -> Result<csv::Reader<std::fs::File>, DatasetError> {
    let meta = std::fs::metadata(path).map_err(|e| DatasetError::io(path, e))?;
    if meta.len() == 0 {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(f))
}

/// Column indices of `required` names in the header (trimmed, case-insensitive).
pub(crate) fn header_columns(
    rdr: &mut csv::Reader<std::fs::File>,
    path: &Path,
    required: &[&str],
) -> Result<Vec<usize>, DatasetError> {
    let headers = rdr.headers().map_err(|e| DatasetError::Format {
        path: path.to_path_buf(),
        line: 1,
        message: format!("unreadable header: {e}"),
    })?;
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    required
        .iter()
        .map(|r| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(r))
                .ok_or_else(|| DatasetError::Format {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!("missing column {r:?} (header: {})", names.join(",")),
                })
        })
        .collect()
}
