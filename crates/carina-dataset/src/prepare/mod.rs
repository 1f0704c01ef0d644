//! `prepare`: a normalised dataset → a prepared training folder (the layout
//! `carina_core::manifest` documents), as the seed prepared VinDr-CXR:
//! images letterboxed to the model size (8-bit JPEG with the default window,
//! or 16-bit PNG), readers fused with WBF, a seeded stratified 80/20 split,
//! COCO files per split with boxes in model-input pixels and each image's
//! `letterbox`, and `summary.json`, written with [`PreparedWriter`]
//! ([`write`]): `manifest.json` last, in a temporary folder renamed into
//! place, so a folder without it was never finished.

mod convert;
pub mod write;

use crate::error::DatasetError;
use crate::merge::fuse_dataset;
use crate::model::{Dataset, ImageRecord};
use crate::split::stratified_split;
use carina_core::coco::{CocoDataset, CocoImage};
use carina_core::manifest::{MANIFEST_FORMAT, PreparedManifest};
use carina_eval::wbf::WbfParams;
pub(crate) use convert::safe_stem;
use convert::{Converted, convert_image};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
pub use write::{ClassSplitCounts, PreparedWriter, SplitCounts, box_annotation, write_json};

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

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrepareSummary {
    pub synthetic: bool,
    pub seed: u64,
    pub image_size: u32,
    pub bit_depth: u8,
    pub fuse_iou: Option<f64>,
    /// Images, boxes and classes per split.
    #[serde(flatten)]
    pub counts: SplitCounts,
    /// E.g. a class with a single image, which cannot be in both parts.
    pub warnings: Vec<String>,
}

const SPLITS: [&str; 2] = ["train", "val"];

/// Prepares `ds` into `out`, which must not exist or be empty. Every image
/// needs its file (import with an images folder). `on_image` is called once
/// per converted image (for a progress bar). On any error nothing is left
/// behind: the folder is written beside `out` and renamed into place.
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
    let writer = PreparedWriter::create(out, ".carina-prepare-")?;
    prepare_into(ds, writer, opts, on_image)
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

fn prepare_into(
    ds: &Dataset,
    mut writer: PreparedWriter,
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
    let names = file_names(&ds, opts.bit_depth);
    let images_dir = writer.images_dir();
    let converted: Vec<Result<Converted, String>> = ds
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

    let mut parts = Parts::new(&ds, opts.size);
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
        parts.add(i, img, &conv, name, part[i]);
    }
    let warnings = split_warnings(&parts.counts);
    let summary = PrepareSummary {
        synthetic: ds.synthetic,
        seed: opts.seed,
        image_size: opts.size,
        bit_depth: opts.bit_depth,
        fuse_iou: opts.fuse_iou,
        counts: parts.counts,
        warnings,
    };
    for (s, coco) in SPLITS.iter().zip(&parts.cocos) {
        writer.write_split(s, coco)?;
    }
    let manifest = PreparedManifest {
        format: MANIFEST_FORMAT.into(),
        synthetic: ds.synthetic,
        description: description(opts),
        image_size: opts.size,
        bit_depth: opts.bit_depth,
        class_names: ds.labels.names(),
        splits: writer.splits().clone(),
        images_dir: "images".into(),
        seed: Some(opts.seed),
        created: carina_core::time::now_rfc3339(),
        sources: ds.sources.clone(),
    };
    writer.finish(&summary, &manifest)?;
    Ok(summary)
}

/// Unique file names of the prepared images, decided before the parallel
/// part: the image id made safe, with its index when two would clash.
fn file_names(ds: &Dataset, bit_depth: u8) -> Vec<String> {
    let ext = if bit_depth == 16 { "png" } else { "jpg" };
    let mut used = HashSet::new();
    ds.images
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
        .collect()
}

/// The COCO files and counts of the two parts, filled image by image.
struct Parts<'a> {
    ds: &'a Dataset,
    size: u32,
    cocos: [CocoDataset; 2],
    counts: SplitCounts,
    /// Annotation ids run on across both parts.
    ann_id: i64,
}

impl<'a> Parts<'a> {
    fn new(ds: &'a Dataset, size: u32) -> Self {
        let mut counts = SplitCounts::default();
        for s in SPLITS {
            counts.open(s, &ds.labels.names());
        }
        Parts {
            ds,
            size,
            cocos: [coco_for(ds), coco_for(ds)],
            counts,
            ann_id: 0,
        }
    }

    /// Image `i`, converted as `conv` into `file_name`, goes to part `s`.
    fn add(&mut self, i: usize, img: &ImageRecord, conv: &Converted, file_name: &str, s: usize) {
        let split = SPLITS[s];
        let image_id = i as i64 + 1;
        let coco = &mut self.cocos[s];
        coco.images.push(CocoImage {
            letterbox: Some(conv.letterbox),
            synthetic: Some(self.ds.synthetic),
            source: Some(img.id.clone()),
            ..CocoImage::new(image_id, file_name, self.size, self.size)
        });
        for a in &img.annotations {
            let b = conv.letterbox.to_model(&a.bbox);
            self.ann_id += 1;
            coco.annotations.push(box_annotation(
                self.ann_id,
                image_id,
                i64::from(a.class_id),
                &b,
            ));
        }
        let names: Vec<String> = img
            .annotations
            .iter()
            .map(|a| self.ds.class_name(a.class_id))
            .collect();
        self.counts
            .add_image(split, names.iter().map(String::as_str));
    }
}

/// A class with images in one part only.
fn split_warnings(counts: &SplitCounts) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, counts) in &counts.per_class {
        let (t, v) = (counts["train"].images, counts["val"].images);
        if (t == 0) != (v == 0) {
            warnings.push(format!(
                "{name}: {} image(s), all in {}; it cannot be in both parts",
                t + v,
                if t > 0 { "train" } else { "val" }
            ));
        }
    }
    warnings
}

/// The manifest's description: the options' own, or how it was prepared.
fn description(opts: &PrepareOptions) -> String {
    if opts.description.is_empty() {
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
    }
}

fn coco_for(ds: &Dataset) -> CocoDataset {
    CocoDataset {
        info: Some(serde_json::json!({"description": "Carina prepared dataset"})),
        images: Vec::new(),
        annotations: Vec::new(),
        categories: crate::cocoext::categories(ds),
    }
}
