//! VinDr-CXR `train.csv`: `image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max`,
//! one row per reader and box; "No finding" rows have empty coordinates.

use super::{
    Collector, ImportOptions, csv_record_error, header_columns, open_csv, parse_coord, valid_box,
};
use crate::classes::{ClassMapping, SourceFormat, map_class};
use crate::error::DatasetError;
use crate::model::{Annotation, Dataset};
use crate::report::{ImportReport, IssueKind};
use carina_core::BBox;
use std::path::Path;

/// One parsed VinDr-format row.
pub(crate) struct VindrRow {
    pub line: Option<u64>,
    pub image_id: String,
    pub class_name: String,
    pub class_id: String,
    pub rad_id: String,
    /// `None` for a row without a box ("No finding").
    pub bbox: Option<BBox>,
}

const COLUMNS: [&str; 7] = [
    "image_id",
    "class_name",
    "rad_id",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
];

/// Reads the rows of a VinDr-format CSV. Rows that cannot be used are
/// reported as issues (`on_issue(line, kind, message, class_name)`, the class
/// when the row got far enough to name one) and skipped; only a
/// file that cannot be read at all is an error.
pub(crate) fn read_rows(
    path: &Path,
    mut on_issue: impl FnMut(Option<u64>, IssueKind, String, Option<&str>),
) -> Result<Vec<VindrRow>, DatasetError> {
    let mut rdr = open_csv(path)?;
    let cols = header_columns(&mut rdr, path, &COLUMNS)?;
    let class_id_col = header_columns(&mut rdr, path, &["class_id"])
        .ok()
        .map(|c| c[0]);
    let width = rdr.headers().map(|h| h.len()).unwrap_or(0);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) if e.is_io_error() => {
                return Err(DatasetError::Invalid(format!("{}: {e}", path.display())));
            }
            Err(e) => {
                let (line, msg) = csv_record_error(&e);
                on_issue(line, IssueKind::MalformedRow, msg, None);
                continue;
            }
        };
        let line = rec.position().map(|p| p.line());
        if rec.len() != width {
            on_issue(
                line,
                IssueKind::MalformedRow,
                format!("{} fields, the header has {width}", rec.len()),
                rec.get(cols[1]).map(str::trim).filter(|c| !c.is_empty()),
            );
            continue;
        }
        let get = |i: usize| rec.get(cols[i]).unwrap_or("").trim().to_string();
        let image_id = get(0);
        let class_name = get(1);
        if image_id.is_empty() || class_name.is_empty() {
            on_issue(
                line,
                IssueKind::MalformedRow,
                "image_id or class_name is empty".into(),
                None,
            );
            continue;
        }
        let coords: Vec<String> = (3..7).map(get).collect();
        let bbox = if coords.iter().all(|c| c.is_empty()) {
            None
        } else {
            let parsed: Result<Vec<f64>, String> = coords
                .iter()
                .zip(&COLUMNS[3..7])
                .map(|(c, n)| parse_coord(c, n))
                .collect();
            match parsed {
                Err(msg) => {
                    on_issue(line, IssueKind::MalformedRow, msg, Some(&class_name));
                    continue;
                }
                Ok(v) => match valid_box(BBox::new(v[0], v[1], v[2], v[3])) {
                    Ok(b) => Some(b),
                    Err(msg) => {
                        on_issue(
                            line,
                            IssueKind::InvalidBox,
                            format!("{class_name} on {image_id}: {msg}"),
                            Some(&class_name),
                        );
                        continue;
                    }
                },
            }
        };
        rows.push(VindrRow {
            line,
            image_id,
            class_name,
            class_id: class_id_col
                .and_then(|c| rec.get(c))
                .unwrap_or("")
                .trim()
                .to_string(),
            rad_id: get(2),
            bbox,
        });
    }
    Ok(rows)
}

/// Imports a VinDr-CXR `train.csv` (and, with `opts.images`, checks its images).
pub fn import_vindr(
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Dataset, ImportReport), DatasetError> {
    let mut report = ImportReport::new(&path.display().to_string(), "vindr");
    let mut pending = Vec::new();
    let rows = read_rows(path, |line, kind, msg, class| {
        pending.push((line, kind, msg, class.map(str::to_string)))
    })?;
    for (line, kind, msg, class) in pending {
        report.issue(line, kind, msg);
        if let Some(c) = class {
            report.class_mut(&c, None).dropped_with_issue += 1;
        }
    }
    report.rows_rejected = report.issues.len();
    report.rows = rows.len() + report.rows_rejected;
    if report.rows == 0 {
        return Err(DatasetError::Format {
            path: path.to_path_buf(),
            line: 1,
            message: "no data rows after the header".into(),
        });
    }
    let mut col = Collector::default();
    for row in rows {
        let reader = if row.rad_id.is_empty() {
            "unknown".to_string()
        } else {
            row.rad_id.clone()
        };
        let img = col.image(&row.image_id, row.line);
        if !img.readers.contains(&reader) {
            img.readers.push(reader.clone());
        }
        let mapping = map_class(SourceFormat::Vindr, &row.class_name, &opts.labels);
        let Some(bbox) = row.bbox else {
            if mapping == ClassMapping::NoFinding {
                report.no_finding_rows += 1;
            } else {
                report.boxes_read += 1;
                report.issue(
                    row.line,
                    IssueKind::MalformedRow,
                    format!("{} without coordinates", row.class_name),
                );
                report.class_mut(&row.class_name, None).dropped_with_issue += 1;
            }
            continue;
        };
        report.boxes_read += 1;
        match mapping {
            ClassMapping::Label(id, name) => {
                report.class_mut(&row.class_name, Some(&name));
                img.boxes.push(super::PendingBox {
                    line: row.line,
                    source_class: row.class_name,
                    annotation: Annotation::radiologist(id, bbox, &reader),
                });
            }
            ClassMapping::NotInLabelSet => {
                report
                    .class_mut(&row.class_name, None)
                    .dropped_not_in_label_set += 1;
            }
            ClassMapping::NoFinding | ClassMapping::Unknown => {
                report.issue(
                    row.line,
                    IssueKind::UnknownClass,
                    format!("class {:?} is not a VinDr-CXR class", row.class_name),
                );
                report.class_mut(&row.class_name, None).dropped_with_issue += 1;
            }
        }
    }
    let ds = col.finish(SourceFormat::Vindr, path, opts, &mut report)?;
    Ok((ds, report))
}
