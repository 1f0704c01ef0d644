//! The NIH ChestX-ray14 box list (`BBox_List_2017.csv`): `Image Index,
//! Finding Label, Bbox [x,y,w,h]` — the box fills the third to sixth
//! columns, whose headers are `Bbox [x` `y` `w` `h]` or empty — in pixels of
//! the 1024×1024 originals.

use super::{
    Collector, ImportOptions, PendingBox, csv_record_error, open_csv, parse_coord, valid_box,
};
use crate::classes::{ClassMapping, SourceFormat, map_class};
use crate::error::DatasetError;
use crate::model::{Annotation, Dataset};
use crate::report::{ImportReport, IssueKind};
use carina_core::BBox;
use std::path::Path;

/// Width and height of every ChestX-ray14 original.
pub const NIH_IMAGE_SIZE: (u32, u32) = (1024, 1024);

/// The NIH boxes were drawn by board-certified radiologists who are not
/// named per box; they count as one reader.
const NIH_READER: &str = "nih";

pub fn import_nih(
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Dataset, ImportReport), DatasetError> {
    let mut report = ImportReport::new(&path.display().to_string(), "nih");
    let mut rdr = open_csv(path)?;
    check_header(&mut rdr, path)?;
    let mut col = Collector::default();
    for rec in rdr.records() {
        report.rows += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) if e.is_io_error() => {
                return Err(DatasetError::Invalid(format!("{}: {e}", path.display())));
            }
            Err(e) => {
                let (line, msg) = csv_record_error(&e);
                report.rows_rejected += 1;
                report.issue(line, IssueKind::MalformedRow, msg);
                continue;
            }
        };
        if let Some(row) = parse_row(&rec, &mut report) {
            add_box(&mut col, &mut report, opts, row);
        }
    }
    if report.rows == 0 {
        return Err(DatasetError::Format {
            path: path.to_path_buf(),
            line: 1,
            message: "no data rows after the header".into(),
        });
    }
    let ds = col.finish(SourceFormat::Nih, path, opts, &mut report)?;
    Ok((ds, report))
}

fn check_header(rdr: &mut csv::Reader<std::fs::File>, path: &Path) -> Result<(), DatasetError> {
    let headers = rdr.headers().map_err(|e| DatasetError::Format {
        path: path.to_path_buf(),
        line: 1,
        message: format!("unreadable header: {e}"),
    })?;
    let h: Vec<String> = headers.iter().map(|s| s.trim().to_string()).collect();
    let ok = h.len() >= 3
        && h[0].eq_ignore_ascii_case("Image Index")
        && h[1].eq_ignore_ascii_case("Finding Label")
        && h[2].to_ascii_lowercase().starts_with("bbox");
    if !ok {
        return Err(DatasetError::Format {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "expected the header `Image Index,Finding Label,Bbox [x,y,w,h]`, found `{}`",
                h.join(",")
            ),
        });
    }
    Ok(())
}

/// One box of the list.
struct Row {
    line: Option<u64>,
    id: String,
    label: String,
    bbox: BBox,
}

/// The box of one record, or `None` when the record is rejected (counted
/// and reported).
fn parse_row(rec: &csv::StringRecord, report: &mut ImportReport) -> Option<Row> {
    const NAMES: [&str; 4] = ["x", "y", "w", "h"];
    let line = rec.position().map(|p| p.line());
    // Six fields; anything after them must be empty (trailing commas).
    if rec.len() < 6 || rec.iter().skip(6).any(|c| !c.trim().is_empty()) {
        report.rows_rejected += 1;
        report.issue(
            line,
            IssueKind::MalformedRow,
            format!(
                "expected 6 fields (index, label, x, y, w, h), found {}",
                rec.len()
            ),
        );
        return None;
    }
    let id = rec[0].trim().to_string();
    let label = rec[1].trim().to_string();
    if id.is_empty() || label.is_empty() {
        report.rows_rejected += 1;
        report.issue(
            line,
            IssueKind::MalformedRow,
            "Image Index or Finding Label is empty",
        );
        return None;
    }
    let xywh: Result<Vec<f64>, String> =
        (0..4).map(|i| parse_coord(&rec[2 + i], NAMES[i])).collect();
    let bbox = match xywh.map(|v| valid_box(BBox::from_xywh(v[0], v[1], v[2], v[3]))) {
        Err(msg) => {
            report.rows_rejected += 1;
            report.issue(line, IssueKind::MalformedRow, msg);
            report.class_mut(&label, None).dropped_with_issue += 1;
            return None;
        }
        Ok(Err(msg)) => {
            report.rows_rejected += 1;
            report.issue(
                line,
                IssueKind::InvalidBox,
                format!("{label} on {id}: {msg}"),
            );
            report.class_mut(&label, None).dropped_with_issue += 1;
            return None;
        }
        Ok(Ok(b)) => b,
    };
    Some(Row {
        line,
        id,
        label,
        bbox,
    })
}

/// Adds a parsed box to its image, or counts it as dropped.
fn add_box(col: &mut Collector, report: &mut ImportReport, opts: &ImportOptions, row: Row) {
    let Row {
        line,
        id,
        label,
        bbox,
    } = row;
    report.boxes_read += 1;
    let img = col.image(&id, line);
    img.stated_size = Some(NIH_IMAGE_SIZE);
    if img.readers.is_empty() {
        img.readers.push(NIH_READER.into());
    }
    match map_class(SourceFormat::Nih, &label, &opts.labels) {
        ClassMapping::Label(cid, name) => {
            report.class_mut(&label, Some(&name));
            img.boxes.push(PendingBox {
                line,
                source_class: label,
                annotation: Annotation::radiologist(cid, bbox, NIH_READER),
            });
        }
        ClassMapping::NotInLabelSet => {
            report.class_mut(&label, None).dropped_not_in_label_set += 1;
        }
        ClassMapping::NoFinding | ClassMapping::Unknown => {
            report.issue(
                line,
                IssueKind::UnknownClass,
                format!("{label:?} is not a ChestX-ray14 box finding"),
            );
            report.class_mut(&label, None).dropped_with_issue += 1;
        }
    }
}
