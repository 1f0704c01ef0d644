//! `prepare`: a normalised dataset → a prepared training folder (the layout
//! `carina_core::manifest` documents), as the seed prepared VinDr-CXR:
//! images letterboxed to the model size (8-bit JPEG with the default window,
//! or 16-bit PNG), readers fused with WBF, a seeded stratified 80/20 split,
//! COCO files per split with boxes in model-input pixels and each image's
//! `letterbox`, and `summary.json`. `manifest.json` is written last, so a
//! folder without it was never finished.

mod convert;

use crate::error::DatasetError;
use crate::merge::fuse_dataset;
use crate::model::Dataset;
use crate::split::stratified_split;
use carina_core::coco::{CocoAnnotation, CocoDataset, CocoImage};
use carina_core::manifest::{MANIFEST_FILE, MANIFEST_FORMAT, PreparedManifest};
use carina_eval::wbf::WbfParams;
use convert::convert_image;
pub(crate) use convert::safe_stem;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// How to prepare.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// Square model input size.
    pub size: u32,
    /// 8 (JPEG, windowed) or 16 (PNG, original values).
    pub bit_depth: u8,
    /// IoU threshold of reader fusion; `None` keeps every reader's boxes.
    pub fuse_iou: Option<f64>,
    pub val_fraction: f64,
    pub seed: u64,
    pub jpeg_quality: u8,
    /// Free text for the manifest.
    pub description: String,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        Self {
            size: 512,
            bit_depth: 8,
            fuse_iou: Some(0.6),
            val_fraction: 0.2,
            seed: 42,
            jpeg_quality: 95,
            description: String::new(),
        }
    }
}

/// Counts of one class in one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassSplitCounts {
    pub images: usize,
    pub boxes: usize,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrepareSummary {
    pub synthetic: bool,
    pub seed: u64,
    pub image_size: u32,
    pub bit_depth: u8,
    pub fuse_iou: Option<f64>,
    /// split → number of images.
    pub images: BTreeMap<String, usize>,
    /// split → number of boxes.
    pub boxes: BTreeMap<String, usize>,
    /// split → images without any box.
    pub images_without_boxes: BTreeMap<String, usize>,
    /// class name → split → counts.
    pub per_class: BTreeMap<String, BTreeMap<String, ClassSplitCounts>>,
    /// E.g. a class with a single image, which cannot be in both parts.
    pub warnings: Vec<String>,
}

const SPLITS: [&str; 2] = ["train", "val"];

/// Prepares `ds` into `out`, which must not exist or be empty. Every image
/// needs its file (import with an images folder). `on_image` is called once
/// per converted image (for a progress bar). On any error the folder is
/// removed again, so nothing half-written is left behind.
pub fn prepare(
    ds: &Dataset,
    out: &Path,
    opts: &PrepareOptions,
    on_image: &(dyn Fn() + Sync),
) -> Result<PrepareSummary, DatasetError> {
    check_options(opts)?;
    if ds.images.is_empty() {
        return Err(DatasetError::Invalid("the dataset has no images".into()));
    }
    if let Some(img) = ds.images.iter().find(|i| i.path.is_none()) {
        return Err(DatasetError::Invalid(format!(
            "image {} has no file: give the images folder (--images)",
            img.id
        )));
    }
    create_empty_dir(out)?;
    let result = prepare_into(ds, out, opts, on_image);
    if result.is_err() {
        // Only what this call created: the folder was empty or absent.
        let _ = std::fs::remove_dir_all(out);
    }
    result
}

fn check_options(o: &PrepareOptions) -> Result<(), DatasetError> {
    let bad = |m: String| Err(DatasetError::Invalid(m));
    if !(32..=4096).contains(&o.size) {
        return bad(format!("size {} is not in 32..=4096", o.size));
    }
    if o.bit_depth != 8 && o.bit_depth != 16 {
        return bad(format!("bit depth must be 8 or 16, not {}", o.bit_depth));
    }
    if !(o.val_fraction > 0.0 && o.val_fraction < 1.0) {
        return bad(format!(
            "validation fraction {} is not in (0, 1)",
            o.val_fraction
        ));
    }
    if let Some(t) = o.fuse_iou
        && !(0.0..=1.0).contains(&t)
    {
        return bad(format!("fusion IoU threshold {t} is not in [0, 1]"));
    }
    if !(1..=100).contains(&o.jpeg_quality) {
        return bad(format!("JPEG quality {} is not in 1..=100", o.jpeg_quality));
    }
    Ok(())
}

fn create_empty_dir(out: &Path) -> Result<(), DatasetError> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(|e| DatasetError::io(out, e))?;
        if entries.next().is_some() {
            return Err(DatasetError::Invalid(format!(
                "{}: the output folder is not empty",
                out.display()
            )));
        }
    }
    std::fs::create_dir_all(out.join("images")).map_err(|e| DatasetError::io(out, e))
}

fn prepare_into(
    ds: &Dataset,
    out: &Path,
    opts: &PrepareOptions,
    on_image: &(dyn Fn() + Sync),
) -> Result<PrepareSummary, DatasetError> {
    let ds = match opts.fuse_iou {
        Some(iou_thr) => fuse_dataset(
            ds,
            &WbfParams {
                iou_thr,
                skip_box_thr: 0.0,
            },
        )?,
        None => ds.clone(),
    };
    let classes: Vec<BTreeSet<u32>> = ds
        .images
        .iter()
        .map(|i| i.annotations.iter().map(|a| a.class_id).collect())
        .collect();
    let part = stratified_split(&classes, opts.val_fraction, opts.seed);

    // Unique file names, decided before the parallel part.
    let ext = if opts.bit_depth == 16 { "png" } else { "jpg" };
    let mut used = HashSet::new();
    let names: Vec<String> = ds
        .images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            let stem = safe_stem(&img.id);
            let mut name = format!("{stem}.{ext}");
            if !used.insert(name.to_ascii_lowercase()) {
                name = format!("{stem}_{i}.{ext}");
                used.insert(name.to_ascii_lowercase());
            }
            name
        })
        .collect();
    let images_dir = out.join("images");
    let converted: Vec<Result<convert::Converted, String>> = ds
        .images
        .par_iter()
        .zip(&names)
        .map(|(img, name)| {
            let src = img.path.as_deref().expect("checked above");
            let r = convert_image(
                src,
                &images_dir.join(name),
                opts.size,
                opts.bit_depth,
                opts.jpeg_quality,
            );
            on_image();
            r
        })
        .collect();

    let mut cocos = [coco_for(&ds), coco_for(&ds)];
    let mut summary = PrepareSummary {
        synthetic: ds.synthetic,
        seed: opts.seed,
        image_size: opts.size,
        bit_depth: opts.bit_depth,
        fuse_iou: opts.fuse_iou,
        images: BTreeMap::new(),
        boxes: BTreeMap::new(),
        images_without_boxes: BTreeMap::new(),
        per_class: BTreeMap::new(),
        warnings: Vec::new(),
    };
    for name in ds.labels.names() {
        let e = summary.per_class.entry(name).or_default();
        for s in SPLITS {
            e.insert(s.to_string(), ClassSplitCounts::default());
        }
    }
    for s in SPLITS {
        summary.images.insert(s.into(), 0);
        summary.boxes.insert(s.into(), 0);
        summary.images_without_boxes.insert(s.into(), 0);
    }
    let mut ann_id = 0i64;
    for (i, ((img, conv), name)) in ds.images.iter().zip(converted).zip(&names).enumerate() {
        let conv = conv.map_err(|e| DatasetError::Invalid(format!("image {}: {e}", img.id)))?;
        if let Some(size) = img.size
            && size != conv.orig
        {
            return Err(DatasetError::Invalid(format!(
                "image {}: decoded as {}x{}, imported as {}x{}",
                img.id, conv.orig.0, conv.orig.1, size.0, size.1
            )));
        }
        let s = part[i];
        let split = SPLITS[s];
        let image_id = i as i64 + 1;
        cocos[s].images.push(CocoImage {
            id: image_id,
            file_name: name.clone(),
            width: opts.size,
            height: opts.size,
            letterbox: Some(conv.letterbox),
            synthetic: Some(ds.synthetic),
            source: Some(img.id.clone()),
        });
        *summary.images.get_mut(split).expect("split") += 1;
        if img.annotations.is_empty() {
            *summary.images_without_boxes.get_mut(split).expect("split") += 1;
        }
        let mut seen = BTreeSet::new();
        for a in &img.annotations {
            let b = conv.letterbox.to_model(&a.bbox);
            ann_id += 1;
            cocos[s].annotations.push(CocoAnnotation {
                id: ann_id,
                image_id,
                category_id: i64::from(a.class_id),
                bbox: b.to_xywh(),
                area: b.area(),
                iscrowd: 0,
                ignore: None,
            });
            *summary.boxes.get_mut(split).expect("split") += 1;
            let c = summary
                .per_class
                .entry(ds.class_name(a.class_id))
                .or_default()
                .entry(split.to_string())
                .or_default();
            c.boxes += 1;
            if seen.insert(a.class_id) {
                c.images += 1;
            }
        }
    }
    for (name, counts) in &summary.per_class {
        let (t, v) = (counts["train"].images, counts["val"].images);
        if (t == 0) != (v == 0) {
            summary.warnings.push(format!(
                "{name}: {} image(s), all in {}; it cannot be in both parts",
                t + v,
                if t > 0 { "train" } else { "val" }
            ));
        }
    }
    for (s, coco) in SPLITS.iter().zip(&cocos) {
        write_json(&out.join(format!("{s}.json")), coco)?;
    }
    write_json(&out.join("summary.json"), &summary)?;
    let manifest = PreparedManifest {
        format: MANIFEST_FORMAT.into(),
        synthetic: ds.synthetic,
        description: if opts.description.is_empty() {
            format!(
                "prepared by carina dataset prepare: {} px, {}-bit, fusion {}, val fraction {}",
                opts.size,
                opts.bit_depth,
                opts.fuse_iou
                    .map(|t| format!("WBF iou {t}"))
                    .unwrap_or_else(|| "off".into()),
                opts.val_fraction
            )
        } else {
            opts.description.clone()
        },
        image_size: opts.size,
        bit_depth: opts.bit_depth,
        class_names: ds.labels.names(),
        splits: SPLITS
            .iter()
            .map(|s| (s.to_string(), format!("{s}.json")))
            .collect(),
        images_dir: "images".into(),
        seed: Some(opts.seed),
        created: carina_core::time::now_rfc3339(),
        sources: ds.sources.clone(),
    };
    write_json(&out.join(MANIFEST_FILE), &manifest)?;
    Ok(summary)
}

fn coco_for(ds: &Dataset) -> CocoDataset {
    CocoDataset {
        info: Some(serde_json::json!({"description": "Carina prepared dataset"})),
        images: Vec::new(),
        annotations: Vec::new(),
        categories: crate::cocoext::categories(ds),
    }
}

/// Writes JSON through a temporary file and a rename, so a reader never sees
/// half a file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), DatasetError> {
    let tmp: PathBuf = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| DatasetError::Invalid(format!("{}: {e}", path.display())))?;
    std::fs::write(&tmp, bytes).map_err(|e| DatasetError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DatasetError::io(path, e))
}
