//! Writing a normalised [`Dataset`] as COCO JSON, VinDr-style CSV or YOLO
//! text files. Filter first with [`Dataset::filtered`] (source, status).

use crate::cocoext::to_coco;
use crate::error::DatasetError;
use crate::model::Dataset;
use crate::prepare::write_json;
use std::collections::HashSet;
use std::path::Path;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Coco,
    Vindr,
    Yolo,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "coco" => Some(Self::Coco),
            "vindr" => Some(Self::Vindr),
            "yolo" => Some(Self::Yolo),
            _ => None,
        }
    }
}

/// VinDr-CXR's class id of "No finding".
pub const VINDR_NO_FINDING_ID: u32 = 14;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub images: usize,
    pub boxes: usize,
    /// Files written (one for COCO and VinDr; one per image + classes.txt for YOLO).
    pub files: usize,
}

/// Writes `ds` to `out` (a file for COCO and VinDr, a folder for YOLO).
pub fn export(
    ds: &Dataset,
    format: ExportFormat,
    out: &Path,
) -> Result<ExportSummary, DatasetError> {
    let mut summary = ExportSummary {
        images: ds.images.len(),
        boxes: ds.box_count(),
        files: 1,
    };
    match format {
        ExportFormat::Coco => write_json(out, &to_coco(ds))?,
        ExportFormat::Vindr => {
            let mut buf = Vec::new();
            write_vindr(ds, &mut buf)
                .map_err(|e| DatasetError::Invalid(format!("{}: {e}", out.display())))?;
            std::fs::write(out, buf).map_err(|e| DatasetError::io(out, e))?;
        }
        ExportFormat::Yolo => summary.files = write_yolo(ds, out)?,
    }
    Ok(summary)
}

/// VinDr-style CSV (`image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max`).
/// An image without boxes gets a "No finding" row per reader (one row
/// without `rad_id` if it has no reader), so negatives survive the export.
pub fn write_vindr<W: std::io::Write>(ds: &Dataset, w: W) -> Result<(), csv::Error> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record([
        "image_id",
        "class_name",
        "class_id",
        "rad_id",
        "x_min",
        "y_min",
        "x_max",
        "y_max",
    ])?;
    for img in &ds.images {
        if img.annotations.is_empty() {
            let readers: Vec<&str> = if img.readers.is_empty() {
                vec![""]
            } else {
                img.readers.iter().map(String::as_str).collect()
            };
            for r in readers {
                wtr.write_record([
                    img.id.as_str(),
                    "No finding",
                    &VINDR_NO_FINDING_ID.to_string(),
                    r,
                    "",
                    "",
                    "",
                    "",
                ])?;
            }
            continue;
        }
        for a in &img.annotations {
            let [x0, y0, x1, y1] = a.bbox.to_array();
            wtr.write_record([
                img.id.clone(),
                ds.class_name(a.class_id),
                a.class_id.to_string(),
                a.reader(),
                x0.to_string(),
                y0.to_string(),
                x1.to_string(),
                y1.to_string(),
            ])?;
        }
    }
    wtr.flush()?;
    Ok(())
}

/// YOLO: `DIR/classes.txt` (names, one per line, in class-id order) and per
/// image `DIR/<stem>.txt` with `class cx cy w h` normalised to the image
/// size (an empty file for an image without boxes). Needs every image's size.
pub fn write_yolo(ds: &Dataset, dir: &Path) -> Result<usize, DatasetError> {
    if let Some(img) = ds.images.iter().find(|i| i.size.is_none()) {
        return Err(DatasetError::Invalid(format!(
            "image {}: size unknown, YOLO needs it (import with --images)",
            img.id
        )));
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| DatasetError::io(dir, e))?
            .next()
            .is_some()
    {
        return Err(DatasetError::Invalid(format!(
            "{}: the output folder is not empty",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| DatasetError::io(dir, e))?;
    let mut labels = ds.labels.labels().to_vec();
    labels.sort_by_key(|l| l.id);
    // YOLO class indices are 0..n; a label set with gaps in its ids is
    // renumbered in id order, which classes.txt records.
    let index = |class_id: u32| labels.iter().position(|l| l.id == class_id);
    let names: String = labels.iter().map(|l| format!("{}\n", l.name)).collect();
    let classes = dir.join("classes.txt");
    std::fs::write(&classes, names).map_err(|e| DatasetError::io(&classes, e))?;
    let mut used = HashSet::new();
    let mut files = 1;
    for (i, img) in ds.images.iter().enumerate() {
        let (w, h) = img.size.expect("checked above");
        let (w, h) = (f64::from(w), f64::from(h));
        let stem = Path::new(&img.id)
            .file_stem()
            .and_then(|s| s.to_str())
            .map(crate::prepare::safe_stem)
            .unwrap_or_else(|| "image".into());
        let mut name = format!("{stem}.txt");
        if !used.insert(name.clone()) {
            name = format!("{stem}_{i}.txt");
            used.insert(name.clone());
        }
        let mut text = String::new();
        for a in &img.annotations {
            let Some(c) = index(a.class_id) else {
                return Err(DatasetError::Invalid(format!(
                    "image {}: class id {} is not in the label set",
                    img.id, a.class_id
                )));
            };
            let (cx, cy) = a.bbox.center();
            text += &format!(
                "{c} {:.6} {:.6} {:.6} {:.6}\n",
                cx / w,
                cy / h,
                a.bbox.width() / w,
                a.bbox.height() / h
            );
        }
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| DatasetError::io(&p, e))?;
        files += 1;
    }
    Ok(files)
}
