//! COCO box evaluation, number for number as pycocotools 2.0.11
//! `COCOeval(gt, dt, "bbox")` after `evaluate(); accumulate(); summarize()`.
//!
//! What the reference does and this module reproduces:
//! - images and categories are taken in ascending id order; each
//!   (image, category) pair's ground truths and detections in input order;
//! - detections are sorted by score with a stable sort (ties keep input
//!   order), and only the 100 best of each pair are kept;
//! - IoU of a crowd ground truth uses the detection's area as denominator,
//!   and crowd regions may absorb any number of detections;
//! - a ground truth is ignored when it is a crowd (pycocotools overwrites the
//!   file's `ignore` flag with `iscrowd`) or its `area` field lies outside the
//!   area range; detections use `w × h` as their area;
//! - IoU thresholds .50:.05:.95 and recall points 0:.01:1 computed as numpy's
//!   `linspace` computes them, the precision envelope, and `-1` where a value
//!   is undefined (no ground truth);
//! - a detection matched to a ground truth with id 0 counts as unmatched (the
//!   reference tests the matched id for truth); [`CocoEval::warnings`] says so.
//!
//! The work is indexed by (category, image) pair and the pairs are matched
//! in parallel; see `carina bench eval` for the speed against pycocotools.

mod accumulate;
mod image;

use crate::input::{Category, Detection, GroundTruth, GtBox, InputError};
use accumulate::{CategoryCurves, accumulate_category, p_index, r_index};
pub(crate) use image::coco_iou;
use image::{PairEval, evaluate_pair};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// Detections kept per image and category.
pub const MAX_DET: usize = 100;
/// The three detection limits of the summary.
pub const MAX_DETS: [usize; 3] = [1, 10, 100];
/// Area ranges "all", "small", "medium", "large" (bounds inclusive).
pub const AREA_RANGES: [(f64, f64); 4] = [
    (0.0, 1e10),
    (0.0, 32.0 * 32.0),
    (32.0 * 32.0, 96.0 * 96.0),
    (96.0 * 96.0, 1e10),
];
pub const AREA_NAMES: [&str; 4] = ["all", "small", "medium", "large"];
pub(crate) const N_AREAS: usize = 4;
pub(crate) const N_THRS: usize = 10;
pub(crate) const N_RECALL: usize = 101;

/// IoU thresholds `np.linspace(.5, .95, 10)`, bit for bit.
pub fn iou_thresholds() -> [f64; N_THRS] {
    let step = (0.95 - 0.5) / 9.0;
    let mut t = [0.0; N_THRS];
    for (i, v) in t.iter_mut().enumerate() {
        *v = i as f64 * step + 0.5;
    }
    t[N_THRS - 1] = 0.95;
    t
}

/// Recall points `np.linspace(0, 1, 101)`, bit for bit.
pub fn recall_thresholds() -> [f64; N_RECALL] {
    let step = 1.0 / 100.0;
    let mut r = [0.0; N_RECALL];
    for (i, v) in r.iter_mut().enumerate() {
        *v = i as f64 * step;
    }
    r[N_RECALL - 1] = 1.0;
    r
}

/// The twelve numbers of `COCOeval.summarize()`, `-1` where undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct CocoStats {
    pub AP: f64,
    pub AP50: f64,
    pub AP75: f64,
    pub APs: f64,
    pub APm: f64,
    pub APl: f64,
    pub AR1: f64,
    pub AR10: f64,
    pub AR100: f64,
    pub ARs: f64,
    pub ARm: f64,
    pub ARl: f64,
}

impl CocoStats {
    pub const NAMES: [&'static str; 12] = [
        "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
    ];

    /// In pycocotools' `stats` order.
    pub fn to_array(&self) -> [f64; 12] {
        [
            self.AP, self.AP50, self.AP75, self.APs, self.APm, self.APl, self.AR1, self.AR10,
            self.AR100, self.ARs, self.ARm, self.ARl,
        ]
    }

    fn from_array(s: [f64; 12]) -> Self {
        Self {
            AP: s[0],
            AP50: s[1],
            AP75: s[2],
            APs: s[3],
            APm: s[4],
            APl: s[5],
            AR1: s[6],
            AR10: s[7],
            AR100: s[8],
            ARs: s[9],
            ARm: s[10],
            ARl: s[11],
        }
    }
}

/// The result of a COCO evaluation: the summary, per-class AP and the
/// accumulated curves (for precision–recall plots).
#[derive(Debug, Clone)]
pub struct CocoEval {
    pub stats: CocoStats,
    /// Categories in ascending id order (the reference's `K` axis).
    pub categories: Vec<Category>,
    /// Per category: mean of `precision[:, :, k, all, 100]` over entries > -1, or -1.
    pub per_class_ap: Vec<f64>,
    /// Things the user should know about the input (e.g. ground-truth id 0).
    pub warnings: Vec<String>,
    curves: Vec<CategoryCurves>,
}

impl std::fmt::Debug for CategoryCurves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CategoryCurves")
    }
}

impl Clone for CategoryCurves {
    fn clone(&self) -> Self {
        Self {
            precision: self.precision.clone(),
            recall: self.recall.clone(),
            scores: self.scores.clone(),
        }
    }
}

impl CocoEval {
    /// `eval["precision"][t, r, k, a, m]`.
    pub fn precision(&self, t: usize, r: usize, k: usize, a: usize, m: usize) -> f64 {
        self.curves[k].precision[p_index(t, r, a, m)]
    }

    /// `eval["recall"][t, k, a, m]`.
    pub fn recall(&self, t: usize, k: usize, a: usize, m: usize) -> f64 {
        self.curves[k].recall[r_index(t, a, m)]
    }

    /// `eval["scores"][t, r, k, a, m]`: the score at which each precision point is reached.
    pub fn score_at(&self, t: usize, r: usize, k: usize, a: usize, m: usize) -> f64 {
        self.curves[k].scores[p_index(t, r, a, m)]
    }

    /// The interpolated precision–recall curve of category `k` at IoU
    /// threshold index `t` (0 is IoU 0.5), area "all", 100 detections:
    /// `(recall point, precision)`; empty when the category has no ground truth.
    pub fn pr_curve(&self, k: usize, t: usize) -> Vec<(f64, f64)> {
        let m = MAX_DETS.len() - 1;
        let rec = recall_thresholds();
        (0..N_RECALL)
            .map(|r| (rec[r], self.precision(t, r, k, 0, m)))
            .filter(|(_, p)| *p > -1.0)
            .collect()
    }
}

/// Evaluates detections against ground truth exactly as pycocotools does.
///
/// Both are checked first (see [`GroundTruth::check`] and
/// [`GroundTruth::check_detections`]); nothing is computed from bad input.
pub fn evaluate(gt: &GroundTruth, dets: &[Detection]) -> Result<CocoEval, InputError> {
    gt.check("ground truth")?;
    gt.check_detections(dets, "detections")?;

    let mut categories = gt.categories.clone();
    categories.sort_by_key(|c| c.id);
    let mut image_ids = gt.images.clone();
    image_ids.sort_unstable();
    let cat_index: HashMap<i64, usize> = categories
        .iter()
        .enumerate()
        .map(|(k, c)| (c.id, k))
        .collect();
    let img_index: HashMap<i64, usize> = image_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();

    // Group by (category, image), keeping input order inside each group.
    let key = |cat: i64, img: i64| (cat_index[&cat], img_index[&img]);
    let mut gt_order: Vec<(usize, usize, usize)> = gt
        .annotations
        .iter()
        .enumerate()
        .map(|(n, a)| {
            let (k, i) = key(a.category_id, a.image_id);
            (k, i, n)
        })
        .collect();
    gt_order.sort_unstable();
    let mut dt_order: Vec<(usize, usize, usize)> = dets
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let (k, i) = key(d.category_id, d.image_id);
            (k, i, n)
        })
        .collect();
    dt_order.sort_unstable();

    let groups = pair_groups(&gt_order, &dt_order);
    let mut pairs: Vec<PairEval> = groups
        .par_iter()
        .map(|&(k, i, (g0, g1), (d0, d1))| {
            let gts: Vec<&GtBox> = gt_order[g0..g1]
                .iter()
                .map(|&(_, _, n)| &gt.annotations[n])
                .collect();
            let dts: Vec<&Detection> = dt_order[d0..d1].iter().map(|&(_, _, n)| &dets[n]).collect();
            evaluate_pair(k, i, &gts, &dts)
        })
        .collect();
    pairs.sort_by_key(|p| (p.k, p.image));

    let mut by_cat: Vec<Vec<&PairEval>> = vec![Vec::new(); categories.len()];
    for p in &pairs {
        by_cat[p.k].push(p);
    }
    let curves: Vec<CategoryCurves> = by_cat
        .par_iter()
        .map(|ps| accumulate_category(ps))
        .collect();

    let per_class_ap = curves
        .iter()
        .map(|c| {
            let m = MAX_DETS.len() - 1;
            mean_defined(
                (0..N_THRS)
                    .flat_map(|t| (0..N_RECALL).map(move |r| (t, r)))
                    .map(|(t, r)| c.precision[p_index(t, r, 0, m)]),
            )
        })
        .collect();

    let mut warnings = Vec::new();
    if gt.annotations.iter().any(|a| a.id == 0) {
        warnings.push(
            "a ground-truth annotation has id 0: like pycocotools, the evaluation never counts \
             it as matched; number annotations from 1"
                .to_owned(),
        );
    }
    let stats = summarize(&curves);
    Ok(CocoEval {
        stats,
        categories,
        per_class_ap,
        warnings,
        curves,
    })
}

type Range = (usize, usize);

/// Merges the two sorted (category, image, n) lists into pairs with their ranges.
fn pair_groups(
    gts: &[(usize, usize, usize)],
    dts: &[(usize, usize, usize)],
) -> Vec<(usize, usize, Range, Range)> {
    let run_end = |v: &[(usize, usize, usize)], s: usize| {
        let key = (v[s].0, v[s].1);
        let mut e = s;
        while e < v.len() && (v[e].0, v[e].1) == key {
            e += 1;
        }
        e
    };
    let (mut g, mut d) = (0, 0);
    let mut out = Vec::new();
    while g < gts.len() || d < dts.len() {
        let gk = gts.get(g).map(|x| (x.0, x.1));
        let dk = dts.get(d).map(|x| (x.0, x.1));
        let key = match (gk, dk) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        let gr = if gk == Some(key) {
            let e = run_end(gts, g);
            let r = (g, e);
            g = e;
            r
        } else {
            (g, g)
        };
        let dr = if dk == Some(key) {
            let e = run_end(dts, d);
            let r = (d, e);
            d = e;
            r
        } else {
            (d, d)
        };
        out.push((key.0, key.1, gr, dr));
    }
    out
}

/// `np.mean(s[s > -1])`, or -1 when nothing is defined. The sum is numpy's
/// pairwise summation, so the result is the reference's to the last bit.
fn mean_defined(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.filter(|v| *v > -1.0).collect();
    if v.is_empty() {
        -1.0
    } else {
        pairwise_sum(&v) / v.len() as f64
    }
}

/// numpy's `pairwise_sum` for float64 (8 accumulators, blocks of 128).
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |s, v| s + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &a[full..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `COCOeval.summarize()` for boxes.
fn summarize(curves: &[CategoryCurves]) -> CocoStats {
    let k_count = curves.len();
    // AP over thresholds `ts`, all recall points and categories (numpy's C order: t, r, k).
    let ap = |ts: &[usize], a: usize, m: usize| {
        mean_defined(ts.iter().flat_map(|&t| {
            (0..N_RECALL).flat_map(move |r| {
                (0..k_count).map(move |k| curves[k].precision[p_index(t, r, a, m)])
            })
        }))
    };
    let ar = |a: usize, m: usize| {
        mean_defined(
            (0..N_THRS).flat_map(|t| (0..k_count).map(move |k| curves[k].recall[r_index(t, a, m)])),
        )
    };
    let all: Vec<usize> = (0..N_THRS).collect();
    let m100 = MAX_DETS.len() - 1;
    CocoStats::from_array([
        ap(&all, 0, m100),
        ap(&[0], 0, m100),
        ap(&[5], 0, m100),
        ap(&all, 1, m100),
        ap(&all, 2, m100),
        ap(&all, 3, m100),
        ar(0, 0),
        ar(0, 1),
        ar(0, m100),
        ar(1, m100),
        ar(2, m100),
        ar(3, m100),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_match_numpy_linspace() {
        let t = iou_thresholds();
        assert_eq!(t[0], 0.5);
        assert_eq!(t[5], 0.75);
        assert_eq!(t[9], 0.95);
        // numpy gives 0.8999999999999999 for the ninth threshold.
        assert_eq!(t[8], 0.8999999999999999);
        let r = recall_thresholds();
        assert_eq!(r[0], 0.0);
        assert_eq!(r[100], 1.0);
        assert_eq!(r[7], 0.07);
    }

    #[test]
    fn crowd_iou_uses_detection_area() {
        let d = [0.0, 0.0, 10.0, 10.0];
        let g = [0.0, 0.0, 20.0, 20.0];
        assert_eq!(coco_iou(&d, &g, true), 1.0);
        assert_eq!(coco_iou(&d, &g, false), 0.25);
        assert_eq!(coco_iou(&d, &[10.0, 0.0, 5.0, 5.0], false), 0.0);
    }
}
