//! One split of a prepared dataset (`carina dataset prepare` / `synth`) as
//! `carina eval model` evaluates it: the image files to run a detector on,
//! and the ground truth mapped back to each image's *original* pixels
//! through the letterbox the manifest records, so that metrics (area ranges
//! included) are those of the original radiographs.
//!
//! Detections a model makes on a prepared image are in that image's pixels;
//! [`PreparedSplit::to_original`] maps them with the same letterbox.

use crate::input::{Detection, GroundTruth, InputError};
use carina_core::coco::CocoDataset;
use carina_core::manifest::{MANIFEST_FILE, MANIFEST_FORMAT, PreparedManifest};
use carina_core::{BBox, Letterbox};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One image of the split.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitImage {
    pub id: i64,
    /// The prepared image file.
    pub path: PathBuf,
    /// Prepared image ↔ original image (identity when the file records none).
    pub letterbox: Letterbox,
}

/// A split, read and checked.
#[derive(Debug, Clone)]
pub struct PreparedSplit {
    pub dir: PathBuf,
    pub manifest: PreparedManifest,
    pub split: String,
    /// The split's COCO file as written (boxes in prepared-image pixels).
    pub coco: CocoDataset,
    pub images: Vec<SplitImage>,
    /// True when the manifest or any image of the split is marked synthetic.
    pub synthetic: bool,
}

fn invalid(file: &Path, place: String, message: impl Into<String>) -> InputError {
    InputError::Invalid {
        file: file.display().to_string(),
        place,
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<String, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
        file: path.display().to_string(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            file: path.display().to_string(),
        });
    }
    Ok(text)
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    serde_json::from_str(text).map_err(|e| InputError::Json {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

impl PreparedSplit {
    /// Reads `dir/manifest.json` and the COCO file of `split`, and checks
    /// that every image file exists and every letterbox fits its image.
    pub fn load(dir: &Path, split: &str) -> Result<Self, InputError> {
        let mpath = dir.join(MANIFEST_FILE);
        let manifest: PreparedManifest = parse(&mpath, &read(&mpath)?)?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(invalid(
                &mpath,
                "format".into(),
                format!(
                    "{:?} is not {MANIFEST_FORMAT:?} (not a prepared dataset?)",
                    manifest.format
                ),
            ));
        }
        let Some(file) = manifest.splits.get(split) else {
            let known: Vec<&str> = manifest.splits.keys().map(String::as_str).collect();
            return Err(invalid(
                &mpath,
                "splits".into(),
                format!("no split {split:?} (it has {})", known.join(", ")),
            ));
        };
        let cpath = dir.join(file);
        let text = read(&cpath)?;
        // The evaluator's own reader checks ids, boxes and areas with their places.
        GroundTruth::from_json(&text, &cpath.display().to_string())?;
        let coco: CocoDataset = parse(&cpath, &text)?;
        for (k, c) in coco.categories.iter().enumerate() {
            let expected = usize::try_from(c.id)
                .ok()
                .and_then(|i| manifest.class_names.get(i));
            if expected != Some(&c.name) {
                return Err(invalid(
                    &cpath,
                    format!("categories[{k}]"),
                    format!(
                        "category {} {:?} does not match the manifest's class names {:?}",
                        c.id, c.name, manifest.class_names
                    ),
                ));
            }
        }
        let images_dir = dir.join(&manifest.images_dir);
        let images = coco
            .images
            .iter()
            .enumerate()
            .map(|(k, im)| split_image(&cpath, &images_dir, k, im))
            .collect::<Result<Vec<_>, _>>()?;
        if images.is_empty() {
            return Err(invalid(&cpath, "images".into(), "the split has no images"));
        }
        let synthetic = manifest.synthetic || coco.images.iter().any(|i| i.synthetic == Some(true));
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            split: split.to_string(),
            coco,
            images,
            synthetic,
        })
    }

    /// The ground truth in original pixels: each box mapped back through
    /// its image's letterbox (and clipped to the original image), its
    /// `area` recomputed there. Crowd and ignore flags are kept.
    pub fn ground_truth_original(&self) -> Result<GroundTruth, InputError> {
        let lb: HashMap<i64, Letterbox> = self.images.iter().map(|i| (i.id, i.letterbox)).collect();
        let mut coco = self.coco.clone();
        for (k, a) in coco.annotations.iter_mut().enumerate() {
            let t = lb.get(&a.image_id).ok_or_else(|| InputError::Invalid {
                file: "ground truth".into(),
                place: format!("annotations[{k}]"),
                message: format!("image_id {} is not an image of the split", a.image_id),
            })?;
            let [x, y, w, h] = a.bbox;
            let b = BBox::from_xywh(x, y, w, h).map_err(|e| InputError::Invalid {
                file: "ground truth".into(),
                place: format!("annotations[{k}] (id {})", a.id),
                message: e.to_string(),
            })?;
            let o = t.to_original(&b);
            a.bbox = o.to_xywh();
            a.area = o.area();
        }
        for im in &mut coco.images {
            if let Some(t) = lb.get(&im.id) {
                im.width = Some(t.orig_width);
                im.height = Some(t.orig_height);
                im.letterbox = None;
            }
        }
        GroundTruth::from_coco(&coco)
    }

    /// A box in prepared-image pixels of image `image_id`, in original pixels.
    pub fn to_original(&self, image_id: i64, b: &BBox) -> Option<BBox> {
        self.images
            .iter()
            .find(|i| i.id == image_id)
            .map(|i| i.letterbox.to_original(b))
    }
}

/// A detection in original pixels as the evaluator takes it.
pub fn detection(image_id: i64, category_id: i64, b: &BBox, score: f64) -> Detection {
    Detection {
        image_id,
        category_id,
        bbox: b.to_xywh(),
        score,
    }
}

/// Image `k` of a split's COCO file, checked: its size, a valid letterbox
/// of that size, and its file in `images_dir`.
fn split_image(
    cpath: &Path,
    images_dir: &Path,
    k: usize,
    im: &carina_core::coco::CocoImage,
) -> Result<SplitImage, InputError> {
    let place = format!("images[{k}] (id {})", im.id);
    let Some((width, height)) = im.size() else {
        return Err(invalid(cpath, place, "no width and height"));
    };
    let letterbox = im.letterbox.unwrap_or(Letterbox {
        orig_width: width,
        orig_height: height,
        size: width.max(height),
        scale: 1.0,
        pad_x: 0.0,
        pad_y: 0.0,
    });
    let valid = letterbox.scale.is_finite()
        && letterbox.scale > 0.0
        && letterbox.pad_x.is_finite()
        && letterbox.pad_y.is_finite()
        && letterbox.orig_width > 0
        && letterbox.orig_height > 0;
    if !valid {
        return Err(invalid(
            cpath,
            place,
            format!("letterbox {letterbox:?} is not a valid transform"),
        ));
    }
    if letterbox.size != width.max(height) {
        return Err(invalid(
            cpath,
            place,
            format!(
                "letterbox size {} does not match the image's {width}x{height}",
                letterbox.size
            ),
        ));
    }
    if im.file_name.is_empty() {
        return Err(invalid(cpath, place, "no file_name"));
    }
    let path = images_dir.join(&im.file_name);
    if !path.is_file() {
        return Err(invalid(
            cpath,
            place,
            format!("image file {} does not exist", path.display()),
        ));
    }
    Ok(SplitImage {
        id: im.id,
        path,
        letterbox,
    })
}

/// Inference time statistics, in milliseconds per image.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TimingStats {
    pub images: usize,
    pub median_ms: f64,
    /// 95th percentile, linear interpolation between order statistics.
    pub p95_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

/// Linear-interpolated quantile of sorted values (`q` in [0, 1]).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The median of `values` (the mean of the two middle ones for an even
/// count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    quantile(&s, 0.5)
}

impl TimingStats {
    /// `None` for no samples.
    pub fn from_ms(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        Some(Self {
            images: s.len(),
            median_ms: quantile(&s, 0.5),
            p95_ms: quantile(&s, 0.95),
            mean_ms: s.iter().sum::<f64>() / s.len() as f64,
            max_ms: s[s.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_as_numpy_linear() {
        let t = TimingStats::from_ms(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(t.median_ms, 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        // numpy.percentile([1,2,3,4,5], 95) == 4.8
        assert!((t.p95_ms - 4.8).abs() < 1e-12);
        assert_eq!(t.mean_ms, 3.0);
        assert_eq!(t.max_ms, 5.0);
        let one = TimingStats::from_ms(&[7.0]).unwrap();
        assert_eq!((one.median_ms, one.p95_ms), (7.0, 7.0));
        assert!(TimingStats::from_ms(&[]).is_none());
    }

    fn write_split(dir: &Path, letterbox: serde_json::Value, file: &str) {
        std::fs::create_dir_all(dir.join("images")).unwrap();
        std::fs::write(dir.join("images/a.png"), b"not read here").unwrap();
        let coco = serde_json::json!({
            "images": [{"id": 1, "file_name": file, "width": 100, "height": 100, "letterbox": letterbox}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "bbox": [10, 20, 30, 40], "area": 1200}],
            "categories": [{"id": 0, "name": "Nodule/Mass"}]
        });
        std::fs::write(dir.join("val.json"), coco.to_string()).unwrap();
        let manifest = serde_json::json!({
            "format": "carina-prepared/1", "synthetic": false, "description": "t",
            "image_size": 100, "bit_depth": 8, "class_names": ["Nodule/Mass"],
            "splits": {"val": "val.json"}, "images_dir": "images", "created": "x"
        });
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    }

    #[test]
    fn ground_truth_goes_back_to_original_pixels() {
        let tmp = tempfile::tempdir().unwrap();
        let lb = serde_json::json!({"orig_width": 400, "orig_height": 200, "size": 100,
            "scale": 0.25, "pad_x": 0.0, "pad_y": 0.0});
        write_split(tmp.path(), lb, "a.png");
        let s = PreparedSplit::load(tmp.path(), "val").unwrap();
        let gt = s.ground_truth_original().unwrap();
        assert_eq!(gt.annotations[0].bbox, [40.0, 80.0, 120.0, 120.0]);
        assert_eq!(gt.annotations[0].area, 120.0 * 120.0);
        let b = s.to_original(1, &BBox::new(0.0, 0.0, 10.0, 10.0).unwrap());
        assert_eq!(b.unwrap().to_array(), [0.0, 0.0, 40.0, 40.0]);
        let e = PreparedSplit::load(tmp.path(), "test")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no split \"test\"") && e.contains("val"), "{e}");
    }

    #[test]
    fn bad_splits_name_the_file_and_place() {
        let tmp = tempfile::tempdir().unwrap();
        let lb = serde_json::json!({"orig_width": 400, "orig_height": 200, "size": 512,
            "scale": 0.25, "pad_x": 0.0, "pad_y": 0.0});
        write_split(tmp.path(), lb.clone(), "a.png");
        let e = PreparedSplit::load(tmp.path(), "val")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("val.json: images[0] (id 1)") && e.contains("letterbox size"),
            "{e}"
        );
        let tmp = tempfile::tempdir().unwrap();
        let lb = serde_json::json!({"orig_width": 400, "orig_height": 200, "size": 100,
            "scale": 0.25, "pad_x": 0.0, "pad_y": 0.0});
        write_split(tmp.path(), lb, "missing.png");
        let e = PreparedSplit::load(tmp.path(), "val")
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::write(tmp.path().join("manifest.json"), "").unwrap();
        let e = PreparedSplit::load(tmp.path(), "val")
            .unwrap_err()
            .to_string();
        assert!(e.contains("manifest.json") && e.contains("empty"), "{e}");
    }
}
