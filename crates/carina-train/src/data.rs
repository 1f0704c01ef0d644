//! A prepared dataset (manifest + COCO split + images) as training samples:
//! images decoded once and cached in memory, boxes in model-input pixels.
//!
//! Which images a step sees and how they are augmented is a pure function of
//! the seed and the step number, so a run can be repeated and resumed exactly
//! without saving any random-number state.

use crate::TrainError;
use crate::augment::{GrayImage, LabeledBox};
use carina_core::coco::CocoDataset;
use carina_core::manifest::{MANIFEST_FILE, MANIFEST_FORMAT, PreparedManifest};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// One image of a split with its boxes (in the image's own pixels).
#[derive(Debug, Clone)]
pub struct SampleInfo {
    pub image_id: i64,
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    pub boxes: Vec<LabeledBox>,
}

/// A split of a prepared dataset, with a cache of decoded, resized images.
#[derive(Debug)]
pub struct Split {
    pub manifest: PreparedManifest,
    pub coco: CocoDataset,
    pub samples: Vec<SampleInfo>,
    /// Model input size the cached images are letterboxed to.
    pub size: usize,
    cache: Vec<OnceLock<Arc<CachedSample>>>,
}

/// A decoded, letterboxed image and its boxes, kept after the first read.
type CachedSample = (GrayImage, Vec<LabeledBox>);

/// Reads and checks `DIR/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<PreparedManifest, TrainError> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        TrainError::dataset(
            dir,
            format!("cannot read {MANIFEST_FILE}: {e} (is this a prepared dataset?)"),
        )
    })?;
    let m: PreparedManifest = serde_json::from_str(&text)
        .map_err(|e| TrainError::dataset(&path, format!("not a valid manifest: {e}")))?;
    if m.format != MANIFEST_FORMAT {
        return Err(TrainError::dataset(
            &path,
            format!("format {:?}, expected {MANIFEST_FORMAT:?}", m.format),
        ));
    }
    if m.class_names.is_empty() {
        return Err(TrainError::dataset(&path, "the manifest names no classes"));
    }
    Ok(m)
}

impl Split {
    /// Opens split `split` of the prepared dataset in `dir` for a `size`-pixel model.
    pub fn open(dir: &Path, split: &str, size: usize) -> Result<Self, TrainError> {
        let manifest = read_manifest(dir)?;
        let file = manifest.splits.get(split).ok_or_else(|| {
            let known: Vec<&str> = manifest.splits.keys().map(String::as_str).collect();
            TrainError::dataset(
                dir,
                format!("no split {split:?} (the manifest has {known:?})"),
            )
        })?;
        let coco_path = dir.join(file);
        let text = std::fs::read_to_string(&coco_path)
            .map_err(|e| TrainError::dataset(&coco_path, format!("cannot read: {e}")))?;
        let coco: CocoDataset = serde_json::from_str(&text).map_err(|e| {
            TrainError::dataset(&coco_path, format!("not a COCO instances file: {e}"))
        })?;
        let num_classes = manifest.class_names.len() as i64;
        let images_dir = dir.join(&manifest.images_dir);
        let mut by_id: HashMap<i64, usize> = HashMap::new();
        let mut samples = Vec::with_capacity(coco.images.len());
        for img in &coco.images {
            let Some((width, height)) = img.size() else {
                return Err(TrainError::dataset(
                    &coco_path,
                    format!("image {} has no size", img.id),
                ));
            };
            by_id.insert(img.id, samples.len());
            samples.push(SampleInfo {
                image_id: img.id,
                path: images_dir.join(&img.file_name),
                width,
                height,
                boxes: Vec::new(),
            });
        }
        for a in &coco.annotations {
            let i = *by_id.get(&a.image_id).ok_or_else(|| {
                TrainError::dataset(
                    &coco_path,
                    format!("annotation {} names unknown image {}", a.id, a.image_id),
                )
            })?;
            if !(0..num_classes).contains(&a.category_id) {
                return Err(TrainError::dataset(
                    &coco_path,
                    format!(
                        "annotation {} has category {} outside 0..{num_classes}",
                        a.id, a.category_id
                    ),
                ));
            }
            let [x, y, w, h] = a.bbox;
            if !(x.is_finite() && y.is_finite() && w > 0.0 && h > 0.0)
                || a.iscrowd != 0
                || a.ignore == Some(1)
            {
                // Crowd, ignored and empty boxes carry no box to learn.
                continue;
            }
            samples[i].boxes.push(LabeledBox {
                xyxy: [x as f32, y as f32, (x + w) as f32, (y + h) as f32],
                class: a.category_id as u32,
            });
        }
        if samples.is_empty() {
            return Err(TrainError::dataset(&coco_path, "the split has no images"));
        }
        let cache = (0..samples.len()).map(|_| OnceLock::new()).collect();
        Ok(Self {
            manifest,
            coco,
            samples,
            size,
            cache,
        })
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Image `i` letterboxed (top-left) to the model size and its boxes in
    /// model pixels, decoded on first use and then kept in memory.
    pub fn get(&self, i: usize) -> Result<Arc<(GrayImage, Vec<LabeledBox>)>, TrainError> {
        if let Some(v) = self.cache[i].get() {
            return Ok(v.clone());
        }
        let loaded = Arc::new(load_letterboxed(&self.samples[i], self.size)?);
        // Another thread may have won the race; both decoded the same file.
        Ok(self.cache[i].get_or_init(|| loaded).clone())
    }

    /// The sample indices of epoch `epoch`: a permutation drawn from the seed.
    pub fn epoch_order(&self, seed: u64, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, epoch));
        order.shuffle(&mut rng);
        order
    }
}

/// A well-spread 64-bit combination of two numbers (SplitMix64 finaliser),
/// for independent random streams per epoch and per sample.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn load_letterboxed(
    s: &SampleInfo,
    size: usize,
) -> Result<(GrayImage, Vec<LabeledBox>), TrainError> {
    let img = image::open(&s.path)
        .map_err(|e| TrainError::dataset(&s.path, format!("cannot decode image: {e}")))?
        .to_luma16();
    let (w, h) = img.dimensions();
    let scale = size as f64 / f64::from(w.max(h));
    let (nw, nh) = if w as usize == size && h as usize == size {
        (w, h)
    } else {
        (
            ((f64::from(w) * scale).round() as u32).clamp(1, size as u32),
            ((f64::from(h) * scale).round() as u32).clamp(1, size as u32),
        )
    };
    let resized = if (nw, nh) == (w, h) {
        img
    } else {
        image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle)
    };
    let mut out = GrayImage::new(size, size);
    for (x, y, p) in resized.enumerate_pixels() {
        out.data[y as usize * size + x as usize] = f32::from(p.0[0]) / 65535.0;
    }
    // COCO boxes are in the size the COCO file states; the file on disk may differ.
    let box_scale = [nw as f32 / s.width as f32, nh as f32 / s.height as f32];
    let boxes = s
        .boxes
        .iter()
        .map(|b| LabeledBox {
            xyxy: [
                b.xyxy[0] * box_scale[0],
                b.xyxy[1] * box_scale[1],
                b.xyxy[2] * box_scale[0],
                b.xyxy[3] * box_scale[1],
            ],
            class: b.class,
        })
        .collect();
    Ok((out, boxes))
}
