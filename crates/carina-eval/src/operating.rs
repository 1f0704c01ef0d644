//! Metrics at one operating point: a score threshold and an IoU threshold.
//!
//! Definitions (all at IoU ≥ `iou_thr`, detections with score ≥ `score_thr`):
//!
//! - **Matching** is per image and class, greedy by score as in COCO: each
//!   detection, highest score first (ties in input order), takes the
//!   not-yet-taken non-crowd ground truth it overlaps most. A detection that
//!   takes none but covers a crowd region (IoU over its own area) is neither
//!   a true nor a false positive. A matched detection is a true positive (TP),
//!   an unmatched one a false positive (FP), an unmatched non-crowd ground
//!   truth a false negative (FN). No cap on detections per image.
//! - **precision** = TP / (TP + FP), **recall** = TP / (TP + FN),
//!   **F1** = 2·TP / (2·TP + FP + FN); `None` (JSON `null`) where the
//!   denominator is 0.
//! - **accuracy** is image-level, because boxes have no true negatives: for
//!   each class an image is *predicted positive* when it has a detection of
//!   that class with score ≥ `score_thr`, and *actually positive* when it has
//!   a non-crowd ground-truth box of that class (the labels of the per-class
//!   AUC). accuracy = (positive images predicted positive + negative images
//!   predicted negative) / images. The overall accuracy pools every
//!   (image, class) decision.
//! - **overall** precision, recall and F1 are micro-averages: TP, FP and FN
//!   summed over classes.
//! - **best F1**: the score threshold (one of the detection scores) at which
//!   F1 is highest, per class and overall; on a tie the higher threshold wins.
//!   Greedy matching by score makes the matches above any threshold a prefix
//!   of the matches of all detections, so one pass gives every threshold.
//! - **IoU distribution**: the IoU of every TP pair, as quantiles and a
//!   histogram over `[iou_thr, 1]`.

use crate::cocoeval::coco_iou;
use crate::input::{Detection, GroundTruth, GtBox};
use serde::Serialize;
use std::collections::HashMap;

/// Counts and rates of one class, or of all classes pooled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub name: String,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Image-level: (images with a ground-truth box of the class and a
    /// detection of it at score ≥ threshold + images with neither) / images.
    /// Pooled over every (image, class) decision for the overall row.
    pub accuracy: Option<f64>,
    /// Image-level counts behind `accuracy`.
    pub images: ImageCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImageCounts {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub tn: usize,
}

/// The threshold that maximises F1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestF1 {
    pub name: String,
    /// `None` when there is no detection (or F1 is 0 at every threshold).
    pub score_thr: Option<f64>,
    pub f1: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// IoU of the matched pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IouDistribution {
    pub count: usize,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub p25: Option<f64>,
    pub median: Option<f64>,
    pub p75: Option<f64>,
    pub max: Option<f64>,
    /// Lower edges of the histogram bins; the last bin ends at 1 inclusive.
    pub bin_edges: Vec<f64>,
    pub counts: Vec<usize>,
}

/// Everything at one operating point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub score_thr: f64,
    pub iou_thr: f64,
    /// Per category, ascending id order.
    pub per_class: Vec<ClassMetrics>,
    pub overall: ClassMetrics,
    pub best_f1: Vec<BestF1>,
    pub best_f1_overall: BestF1,
    pub iou: IouDistribution,
}

/// What happened to one detection in the greedy pass.
#[derive(Clone, Copy)]
enum Outcome {
    Tp(f64),
    Fp,
    Ignored,
}

/// One greedy matching pass: per category, the detections' (score, outcome)
/// in descending score order, and the number of non-crowd ground truths.
fn greedy_pass(
    gt: &GroundTruth,
    dets: &[Detection],
    cats: &[i64],
    iou_thr: f64,
) -> Vec<(Vec<(f64, Outcome)>, usize)> {
    let k_of: HashMap<i64, usize> = cats.iter().enumerate().map(|(k, c)| (*c, k)).collect();
    let mut gts: HashMap<(usize, i64), Vec<&GtBox>> = HashMap::new();
    let mut n_gt = vec![0usize; cats.len()];
    for a in &gt.annotations {
        if let Some(&k) = k_of.get(&a.category_id) {
            gts.entry((k, a.image_id)).or_default().push(a);
            if !a.iscrowd {
                n_gt[k] += 1;
            }
        }
    }
    let mut by_pair: HashMap<(usize, i64), Vec<&Detection>> = HashMap::new();
    for d in dets {
        if let Some(&k) = k_of.get(&d.category_id) {
            by_pair.entry((k, d.image_id)).or_default().push(d);
        }
    }
    let mut out: Vec<Vec<(f64, Outcome)>> = vec![Vec::new(); cats.len()];
    let empty = Vec::new();
    for ((k, img), mut ds) in by_pair {
        ds.sort_by(|a, b| {
            b.score
                .partial_cmp(&a.score)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let g = gts.get(&(k, img)).unwrap_or(&empty);
        let mut taken = vec![false; g.len()];
        for d in ds {
            let mut best: Option<(usize, f64)> = None;
            let mut on_crowd = false;
            for (gi, gb) in g.iter().enumerate() {
                let iou = coco_iou(&d.bbox, &gb.bbox, gb.iscrowd);
                if iou < iou_thr {
                    continue;
                }
                if gb.iscrowd {
                    on_crowd = true;
                } else if !taken[gi] && best.is_none_or(|(_, b)| iou > b) {
                    best = Some((gi, iou));
                }
            }
            let outcome = match best {
                Some((gi, iou)) => {
                    taken[gi] = true;
                    Outcome::Tp(iou)
                }
                None if on_crowd => Outcome::Ignored,
                None => Outcome::Fp,
            };
            out[k].push((d.score, outcome));
        }
    }
    for v in &mut out {
        // Stable: equal scores keep their (image, then input) order; only the counts matter.
        v.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    }
    out.into_iter().zip(n_gt).collect()
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn metrics(name: &str, tp: usize, fp: usize, fn_: usize, images: ImageCounts) -> ClassMetrics {
    let n_img = images.tp + images.fp + images.fn_ + images.tn;
    ClassMetrics {
        name: name.to_owned(),
        tp,
        fp,
        fn_,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        accuracy: ratio(images.tp + images.tn, n_img),
        images,
    }
}

/// The best-F1 threshold over detections sorted by descending score.
fn best_f1(name: &str, sorted: &[(f64, Outcome)], n_gt: usize) -> BestF1 {
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best: Option<(f64, usize, usize)> = None;
    let mut best_f1 = 0.0;
    for (i, (score, o)) in sorted.iter().enumerate() {
        match o {
            Outcome::Tp(_) => tp += 1,
            Outcome::Fp => fp += 1,
            Outcome::Ignored => {}
        }
        // Only at the end of a run of equal scores is this a real threshold.
        if sorted.get(i + 1).is_some_and(|n| n.0 == *score) {
            continue;
        }
        let f1 = 2.0 * tp as f64 / (2 * tp + fp + (n_gt - tp)).max(1) as f64;
        if f1 > best_f1 {
            best_f1 = f1;
            best = Some((*score, tp, fp));
        }
    }
    match best {
        Some((thr, tp, fp)) => BestF1 {
            name: name.to_owned(),
            score_thr: Some(thr),
            f1: Some(best_f1),
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, n_gt),
        },
        None => BestF1 {
            name: name.to_owned(),
            score_thr: None,
            f1: None,
            precision: None,
            recall: None,
        },
    }
}

/// Quantile with linear interpolation (numpy's default) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

fn iou_distribution(mut ious: Vec<f64>, iou_thr: f64, bins: usize) -> IouDistribution {
    ious.sort_by(f64::total_cmp);
    let width = (1.0 - iou_thr) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &ious {
        let b = (((v - iou_thr) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[b] += 1;
    }
    IouDistribution {
        count: ious.len(),
        mean: (!ious.is_empty()).then(|| ious.iter().sum::<f64>() / ious.len() as f64),
        min: ious.first().copied(),
        p25: quantile(&ious, 0.25),
        median: quantile(&ious, 0.5),
        p75: quantile(&ious, 0.75),
        max: ious.last().copied(),
        bin_edges: (0..bins).map(|i| iou_thr + i as f64 * width).collect(),
        counts,
    }
}

/// Computes the operating-point metrics. Inputs are assumed checked
/// ([`GroundTruth::check_detections`]); unknown ids are skipped.
pub fn operating_point(
    gt: &GroundTruth,
    dets: &[Detection],
    score_thr: f64,
    iou_thr: f64,
) -> OperatingPoint {
    let mut cats = gt.categories.clone();
    cats.sort_by_key(|c| c.id);
    let ids: Vec<i64> = cats.iter().map(|c| c.id).collect();
    let passes = greedy_pass(gt, dets, &ids, iou_thr);
    let images = crate::auc::image_scores(gt, dets);

    let mut per_class = Vec::new();
    let mut best = Vec::new();
    let mut ious = Vec::new();
    let (mut tp_all, mut fp_all, mut fn_all) = (0, 0, 0);
    let mut img_all = ImageCounts::default();
    let mut pooled: Vec<(f64, Outcome)> = Vec::new();
    let mut n_gt_all = 0;
    for ((cat, (sorted, n_gt)), img) in cats.iter().zip(&passes).zip(&images) {
        let (mut tp, mut fp) = (0, 0);
        for (_, o) in sorted.iter().take_while(|(s, _)| *s >= score_thr) {
            match o {
                Outcome::Tp(iou) => {
                    tp += 1;
                    ious.push(*iou);
                }
                Outcome::Fp => fp += 1,
                Outcome::Ignored => {}
            }
        }
        let mut ic = ImageCounts::default();
        for (s, l) in img.scores.iter().zip(&img.labels) {
            match (*s >= score_thr, *l) {
                (true, true) => ic.tp += 1,
                (true, false) => ic.fp += 1,
                (false, true) => ic.fn_ += 1,
                (false, false) => ic.tn += 1,
            }
        }
        per_class.push(metrics(&cat.name, tp, fp, n_gt - tp, ic));
        best.push(best_f1(&cat.name, sorted, *n_gt));
        tp_all += tp;
        fp_all += fp;
        fn_all += n_gt - tp;
        img_all.tp += ic.tp;
        img_all.fp += ic.fp;
        img_all.fn_ += ic.fn_;
        img_all.tn += ic.tn;
        pooled.extend_from_slice(sorted);
        n_gt_all += n_gt;
    }
    pooled.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    OperatingPoint {
        score_thr,
        iou_thr,
        per_class,
        overall: metrics("all", tp_all, fp_all, fn_all, img_all),
        best_f1: best,
        best_f1_overall: best_f1("all", &pooled, n_gt_all),
        iou: iou_distribution(ious, iou_thr, 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Category;

    fn gt_box(id: i64, image_id: i64, bbox: [f64; 4], iscrowd: bool) -> GtBox {
        GtBox {
            id,
            image_id,
            category_id: 7,
            bbox,
            area: bbox[2] * bbox[3],
            iscrowd,
            ignore: false,
        }
    }

    fn det(image_id: i64, bbox: [f64; 4], score: f64) -> Detection {
        Detection {
            image_id,
            category_id: 7,
            bbox,
            score,
        }
    }

    /// Image 1: two findings, image 2: a crowd region, image 3: nothing.
    fn gt() -> GroundTruth {
        GroundTruth {
            images: vec![1, 2, 3],
            categories: vec![Category {
                id: 7,
                name: "nodule".into(),
            }],
            annotations: vec![
                gt_box(1, 1, [0.0, 0.0, 10.0, 10.0], false),
                gt_box(2, 1, [50.0, 50.0, 10.0, 10.0], false),
                gt_box(3, 2, [0.0, 0.0, 100.0, 100.0], true),
            ],
        }
    }

    #[test]
    fn counts_rates_and_image_accuracy() {
        let dets = vec![
            det(1, [0.0, 0.0, 10.0, 10.0], 0.9),   // TP, IoU 1
            det(1, [0.0, 0.0, 10.0, 12.0], 0.8),   // duplicate: FP
            det(2, [10.0, 10.0, 5.0, 5.0], 0.7),   // on the crowd region: ignored
            det(3, [5.0, 5.0, 5.0, 5.0], 0.6),     // FP on an empty image
            det(1, [50.0, 50.0, 10.0, 10.0], 0.3), // below 0.5: the second finding is missed
        ];
        let op = operating_point(&gt(), &dets, 0.5, 0.5);
        let c = &op.per_class[0];
        assert_eq!((c.tp, c.fp, c.fn_), (1, 2, 1));
        assert_eq!(c.precision, Some(1.0 / 3.0));
        assert_eq!(c.recall, Some(0.5));
        assert_eq!(c.f1, Some(2.0 / 5.0));
        // Image 1 positive and detected; 2 and 3 negative but detected.
        assert_eq!(
            c.images,
            ImageCounts {
                tp: 1,
                fp: 2,
                fn_: 0,
                tn: 0
            }
        );
        assert_eq!(c.accuracy, Some(1.0 / 3.0));
        assert_eq!(op.iou.count, 1);
        assert_eq!(op.iou.median, Some(1.0));
        assert_eq!(op.iou.counts[9], 1);
        // F1 is 2/3 both at 0.9 (TP 1, FN 1) and at 0.3 (TP 2, FP 2): the higher threshold wins.
        let b = &op.best_f1[0];
        assert_eq!(b.score_thr, Some(0.9));
        assert!((b.f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(op.overall.tp, 1);
    }

    #[test]
    fn nothing_detected_gives_null_precision() {
        let op = operating_point(&gt(), &[], 0.5, 0.5);
        let c = &op.per_class[0];
        assert_eq!((c.tp, c.fp, c.fn_), (0, 0, 2));
        assert_eq!(c.precision, None);
        assert_eq!(c.recall, Some(0.0));
        assert_eq!(op.best_f1[0].score_thr, None);
        assert_eq!(op.iou.mean, None);
    }
}
