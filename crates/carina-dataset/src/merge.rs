//! Fusing several readers' boxes with Weighted Boxes Fusion, as product.md
//! defines `carina dataset merge`: per image, each reader seen on it
//! (including readers who only said "No finding") is one model of weight 1,
//! every box has score 1, and `carina_eval::wbf` does the fusion.

use crate::error::DatasetError;
use crate::import::vindr::read_rows;
use crate::model::{Annotation, Dataset};
use crate::report::IssueKind;
use carina_core::{BBox, BoxStatus, Provenance};
use carina_eval::wbf::{FusedBox, WbfBox, WbfParams, weighted_boxes_fusion};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// An image's readers in order of appearance and their boxes as
/// `(reader index, class id, box)`.
type ImageReaders = (Vec<String>, Vec<(usize, u32, BBox)>);

/// One fused box: a row of the merge output.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedRow {
    pub image_id: String,
    pub class_name: String,
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
}

/// Output columns of `carina dataset merge`.
pub const MERGE_HEADER: [&str; 8] = [
    "image_id",
    "class_name",
    "class_id",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
    "score",
];

/// `readers` in ascending byte-wise order (product.md: the fusion must not
/// depend on how rows are sorted) and the boxes' reader indices moved with
/// them; each reader's boxes keep their order.
pub fn in_reader_order(
    readers: &[String],
    boxes: &[(usize, u32, BBox)],
) -> (Vec<String>, Vec<(usize, u32, BBox)>) {
    let mut order: Vec<usize> = (0..readers.len()).collect();
    order.sort_by(|&a, &b| readers[a].as_bytes().cmp(readers[b].as_bytes()));
    let mut new_index = vec![0; readers.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let sorted = order.iter().map(|&i| readers[i].clone()).collect();
    let moved = boxes
        .iter()
        .map(|&(r, class_id, bbox)| (new_index[r], class_id, bbox))
        .collect();
    (sorted, moved)
}

/// Fuses one image: `readers` in a fixed order (each one model), and each
/// reader's boxes as `(reader index, class id, box)` in input order.
pub fn fuse_readers(
    n_readers: usize,
    boxes: &[(usize, u32, BBox)],
    params: &WbfParams,
) -> Result<Vec<FusedBox>, DatasetError> {
    let mut models: Vec<Vec<WbfBox>> = vec![Vec::new(); n_readers];
    for &(r, class_id, bbox) in boxes {
        models[r].push(WbfBox::new(class_id, bbox, 1.0));
    }
    weighted_boxes_fusion(&models, None, params)
        .map_err(|e| DatasetError::Invalid(format!("weighted boxes fusion: {e}")))
}

/// Reads a VinDr-format CSV and fuses each image's readers. The input must
/// be clean: any malformed row or invalid box is an error naming its line,
/// because a fusion that silently lacked a reader's box would be wrong.
/// Images whose readers drew no box (only "No finding") give no rows.
pub fn merge_csv(path: &Path, params: &WbfParams) -> Result<Vec<MergedRow>, DatasetError> {
    let mut problems = Vec::new();
    let rows = read_rows(path, |line, kind, msg, _| problems.push((line, kind, msg)))?;
    // Class ids label the fusion; each id must keep one name.
    let mut names: HashMap<u32, (String, Option<u64>)> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut images: HashMap<String, ImageReaders> = HashMap::new();
    for row in &rows {
        let entry = images.entry(row.image_id.clone()).or_insert_with(|| {
            order.push(row.image_id.clone());
            (Vec::new(), Vec::new())
        });
        let reader = match entry.0.iter().position(|r| *r == row.rad_id) {
            Some(i) => i,
            None => {
                entry.0.push(row.rad_id.clone());
                entry.0.len() - 1
            }
        };
        let Some(bbox) = row.bbox else { continue };
        let Ok(class_id) = row.class_id.parse::<u32>() else {
            problems.push((
                row.line,
                IssueKind::MalformedRow,
                format!("class_id {:?} is not a non-negative integer", row.class_id),
            ));
            continue;
        };
        match names.get(&class_id) {
            Some((name, first)) if *name != row.class_name => problems.push((
                row.line,
                IssueKind::MalformedRow,
                format!(
                    "class_id {class_id} is {:?} here but {name:?} on line {}",
                    row.class_name,
                    first.unwrap_or(0)
                ),
            )),
            Some(_) => {}
            None => {
                names.insert(class_id, (row.class_name.clone(), row.line));
            }
        }
        entry.1.push((reader, class_id, bbox));
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.0);
        let n = problems.len();
        let listed: Vec<String> = problems
            .iter()
            .take(20)
            .map(|(line, kind, msg)| {
                format!(
                    "{}:{}: {kind:?}: {msg}",
                    path.display(),
                    line.map(|l| l.to_string()).unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        return Err(DatasetError::Invalid(format!(
            "{n} bad row(s), nothing merged:\n{}{}",
            listed.join("\n"),
            if n > 20 { "\n…" } else { "" }
        )));
    }
    if rows.is_empty() {
        return Err(DatasetError::Format {
            path: path.to_path_buf(),
            line: 1,
            message: "no data rows after the header".into(),
        });
    }
    let mut out = Vec::new();
    for id in order {
        let (readers, boxes) = &images[&id];
        let (readers, boxes) = in_reader_order(readers, boxes);
        for f in fuse_readers(readers.len(), &boxes, params)? {
            out.push(MergedRow {
                image_id: id.clone(),
                class_name: names[&f.class_id].0.clone(),
                class_id: f.class_id,
                bbox: f.bbox,
                score: f.score,
            });
        }
    }
    Ok(out)
}

/// Writes merge rows as CSV with [`MERGE_HEADER`]. Numbers are written in
/// Rust's shortest round-trip form, so nothing is lost.
pub fn write_merged<W: Write>(rows: &[MergedRow], w: W) -> Result<(), csv::Error> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(MERGE_HEADER)?;
    for r in rows {
        let [x0, y0, x1, y1] = r.bbox.to_array();
        wtr.write_record([
            r.image_id.clone(),
            r.class_name.clone(),
            r.class_id.to_string(),
            x0.to_string(),
            y0.to_string(),
            x1.to_string(),
            y1.to_string(),
            r.score.to_string(),
        ])?;
    }
    wtr.flush()?;
    Ok(())
}

/// Replaces each image's radiologist boxes by their fusion (each reader in
/// `ImageRecord::readers` one model). Model boxes are left as they are.
/// A fused box's provenance names its readers (`R1+R3`), `fused_from` lists
/// them and `score` is the fused score.
pub fn fuse_dataset(ds: &Dataset, params: &WbfParams) -> Result<Dataset, DatasetError> {
    let mut out = ds.clone();
    for img in &mut out.images {
        let mut readers = img.readers.clone();
        let mut boxes = Vec::new();
        let mut kept = Vec::new();
        for a in img.annotations.drain(..) {
            if !matches!(a.provenance, Provenance::Radiologist { .. }) || !a.fused_from.is_empty() {
                kept.push(a);
                continue;
            }
            let reader = a.reader();
            let r = match readers.iter().position(|x| *x == reader) {
                Some(i) => i,
                None => {
                    readers.push(reader);
                    readers.len() - 1
                }
            };
            boxes.push((r, a.class_id, a.bbox));
        }
        let (readers, boxes) = in_reader_order(&readers, &boxes);
        for f in fuse_readers(readers.len(), &boxes, params)? {
            let mut from: Vec<String> =
                f.members.iter().map(|m| readers[m.model].clone()).collect();
            from.sort();
            from.dedup();
            kept.push(Annotation {
                class_id: f.class_id,
                bbox: f.bbox,
                provenance: Provenance::Radiologist {
                    user: from.join("+"),
                },
                status: BoxStatus::Manual,
                score: Some(f.score),
                fused_from: from,
            });
        }
        img.annotations = kept;
    }
    Ok(out)
}
