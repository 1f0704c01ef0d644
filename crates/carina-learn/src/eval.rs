//! A detector over one split of a prepared dataset, its boxes mapped back to
//! the original images' pixels through each image's letterbox (as the
//! ground truth is, `carina_eval::prepared`). `carina eval model` and the
//! held-out comparison of fine-tuning share it.

use crate::HeldOutMetrics;
use anyhow::Context;
use carina_detect::{Detector, InputImage, PredictOptions};
use carina_eval::prepared::{PreparedSplit, detection};
use carina_eval::{Detection, GroundTruth, evaluate};
use carina_imaging::{Limits, decode, to_unit_f32};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// For each model class, the ground truth's category of the same name (if any).
pub fn class_categories(detector: &Detector, gt: &GroundTruth) -> Vec<Option<i64>> {
    let category: HashMap<&str, i64> = gt
        .categories
        .iter()
        .map(|c| (c.name.as_str(), c.id))
        .collect();
    detector
        .class_names()
        .iter()
        .map(|name| category.get(name.as_str()).copied())
        .collect()
}

/// Runs `detector` on every image of `split`. Detections of a class with no
/// category (`None` in `class_to_category`) are dropped. Returns the
/// detections in original pixels and each image's model time in ms
/// (pre-processing, network, post-processing; file decoding excluded).
pub fn detect_split(
    detector: &Detector,
    split: &PreparedSplit,
    class_to_category: &[Option<i64>],
    opts: &PredictOptions,
    mut on_image: impl FnMut(),
) -> anyhow::Result<(Vec<Detection>, Vec<f64>)> {
    let mut dets = Vec::new();
    let mut times_ms = Vec::with_capacity(split.images.len());
    for im in &split.images {
        let bytes = std::fs::read(&im.path)
            .with_context(|| format!("cannot read {}", im.path.display()))?;
        let decoded = decode(&bytes, &Limits::default())
            .with_context(|| format!("{} is not a readable image", im.path.display()))?;
        let img = &decoded.image;
        let pixels = to_unit_f32(img, decoded.meta.window);
        let input = InputImage::new(img.width, img.height, &pixels)?;
        let t0 = Instant::now();
        let found = detector
            .predict(&input, opts)
            .with_context(|| format!("predicting on {}", im.path.display()))?;
        times_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        for d in found {
            let Some(category) = class_to_category.get(d.class_id).copied().flatten() else {
                continue;
            };
            let b = im.letterbox.to_original(&d.bbox);
            dets.push(detection(im.id, category, &b, f64::from(d.score)));
        }
        on_image();
    }
    Ok((dets, times_ms))
}

fn defined(v: f64) -> Option<f64> {
    (v >= 0.0).then_some(v)
}

/// Loads the model folder `model_dir` and evaluates it on `split` of the
/// prepared dataset in `data_dir` (COCO AP with pycocotools' rules).
pub fn evaluate_model(
    model_dir: &Path,
    data_dir: &Path,
    split: &str,
) -> anyhow::Result<HeldOutMetrics> {
    let split = PreparedSplit::load(data_dir, split)?;
    let gt = split.ground_truth_original()?;
    let detector = Detector::load(model_dir)
        .with_context(|| format!("cannot load the model {}", model_dir.display()))?;
    let classes = class_categories(&detector, &gt);
    let opts = PredictOptions {
        score_thr: 0.001,
        max_det: 100,
    };
    let (dets, _) = detect_split(&detector, &split, &classes, &opts, || {})?;
    let coco = evaluate(&gt, &dets)?;
    let per_class_ap = coco
        .categories
        .iter()
        .zip(&coco.per_class_ap)
        .map(|(c, &ap)| (c.name.clone(), defined(ap)))
        .collect();
    Ok(HeldOutMetrics {
        images: gt.images.len(),
        boxes: gt.annotations.len(),
        ap: defined(coco.stats.AP),
        ap50: defined(coco.stats.AP50),
        ap75: defined(coco.stats.AP75),
        ar100: defined(coco.stats.AR100),
        per_class_ap,
    })
}
