//! Weighted Boxes Fusion (Solovyev, Wang and Gabruseva, 2021) for one image.
//!
//! This follows the reference implementation, the `ensemble-boxes` 1.0.9
//! function `weighted_boxes_fusion` with `conf_type="avg"` and
//! `allows_overflow=False`:
//!
//! 1. Every box whose score is below `skip_box_thr` is dropped, and so is every
//!    box of zero area. A kept box carries `score × weight` of its model.
//! 2. Per class, boxes are visited by that weighted score, highest first; among
//!    equal scores the one given later comes first (the reference reverses an
//!    ascending sort, which keeps equal keys in input order on short lists).
//! 3. A box joins the cluster whose *current fused box* overlaps it most, if
//!    that IoU is greater than `iou_thr` (the first such cluster on a tie);
//!    otherwise it starts a new cluster. After each join the fused box is
//!    recomputed: coordinates are the mean of the members' coordinates
//!    weighted by their weighted scores, and the score is their mean.
//! 4. Finally each cluster's score is multiplied by
//!    `min(number of models, cluster size) / sum of weights`.
//!
//! The reference wants coordinates scaled into `[0, 1]` and clamps boxes to
//! that range. IoU and weighted means do not depend on the scale, so this
//! module works on pixel boxes directly; clip boxes to the image first
//! ([`BBox::clip`]) to reproduce the reference's clamping. The reference keeps
//! fused coordinates in 32-bit floats; here they are 64-bit, which differs
//! from it by well under 0.01 px on radiographs.
//!
//! One deliberate difference: where every member of a cluster has score 0 the
//! reference divides by zero and returns NaN coordinates; here the fused box
//! is then the plain mean of the members.

use carina_core::BBox;
use serde::{Deserialize, Serialize};

/// A box given to, or returned by, the fusion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WbfBox {
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
}

impl WbfBox {
    pub fn new(class_id: u32, bbox: BBox, score: f64) -> Self {
        Self {
            class_id,
            bbox,
            score,
        }
    }
}

/// Which input box a fused box was made from: `models[model][index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxRef {
    pub model: usize,
    pub index: usize,
}

/// One fused box and the input boxes it was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusedBox {
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
    /// The members of the cluster, in the order they joined it.
    pub members: Vec<BoxRef>,
}

/// Thresholds of the fusion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WbfParams {
    /// A box joins a cluster when its IoU with the fused box is greater than this.
    pub iou_thr: f64,
    /// Boxes with a score below this are ignored.
    pub skip_box_thr: f64,
}

impl Default for WbfParams {
    /// `iou_thr` 0.6 and `skip_box_thr` 0, the values `carina dataset merge` uses by default.
    fn default() -> Self {
        Self {
            iou_thr: 0.6,
            skip_box_thr: 0.0,
        }
    }
}

/// Why the fusion refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WbfError {
    #[error("{weights} weights given for {models} models")]
    WeightCount { weights: usize, models: usize },
    #[error("weight {weight} of model {model} is not a finite number > 0")]
    BadWeight { model: usize, weight: f64 },
    #[error("score {score} of box {index} of model {model} is not a finite number >= 0")]
    BadScore {
        model: usize,
        index: usize,
        score: f64,
    },
    #[error("iou_thr {0} is not a number in [0, 1]")]
    BadIouThr(f64),
    #[error("skip_box_thr {0} is not a finite number")]
    BadSkipThr(f64),
}

/// A kept input box, as the reference's row `[label, score×weight, weight, model, box]`.
#[derive(Clone, Copy)]
struct Entry {
    weighted_score: f64,
    coords: [f64; 4],
    source: BoxRef,
}

/// A cluster under construction: its members and its current fused box.
struct Cluster {
    members: Vec<Entry>,
    coords: [f64; 4],
    score: f64,
}

/// Fuses the boxes of several models (readers) on one image.
///
/// `models[m]` is model `m`'s list of boxes; a model with no boxes still
/// counts (it lowers the score of everything it did not see). `weights`
/// defaults to 1 per model. The result is sorted by score, highest first.
pub fn weighted_boxes_fusion<M: AsRef<[WbfBox]>>(
    models: &[M],
    weights: Option<&[f64]>,
    params: &WbfParams,
) -> Result<Vec<FusedBox>, WbfError> {
    if !(0.0..=1.0).contains(&params.iou_thr) {
        return Err(WbfError::BadIouThr(params.iou_thr));
    }
    if !params.skip_box_thr.is_finite() {
        return Err(WbfError::BadSkipThr(params.skip_box_thr));
    }
    let weights: Vec<f64> = match weights {
        Some(w) if w.len() != models.len() => {
            return Err(WbfError::WeightCount {
                weights: w.len(),
                models: models.len(),
            });
        }
        Some(w) => w.to_vec(),
        None => vec![1.0; models.len()],
    };
    if let Some((model, &weight)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w > 0.0))
    {
        return Err(WbfError::BadWeight { model, weight });
    }

    // Per class, in order of first appearance (the reference's dict order).
    let mut classes: Vec<(u32, Vec<Entry>)> = Vec::new();
    for (m, boxes) in models.iter().enumerate() {
        for (i, b) in boxes.as_ref().iter().enumerate() {
            if !(b.score.is_finite() && b.score >= 0.0) {
                return Err(WbfError::BadScore {
                    model: m,
                    index: i,
                    score: b.score,
                });
            }
            if b.score < params.skip_box_thr || b.bbox.area() == 0.0 {
                continue;
            }
            let entry = Entry {
                weighted_score: b.score * weights[m],
                coords: b.bbox.to_array(),
                source: BoxRef { model: m, index: i },
            };
            match classes.iter_mut().find(|(c, _)| *c == b.class_id) {
                Some((_, list)) => list.push(entry),
                None => classes.push((b.class_id, vec![entry])),
            }
        }
    }

    let n_models = models.len() as f64;
    let weight_sum: f64 = weights.iter().sum();
    let mut fused = Vec::new();
    for (class_id, mut entries) in classes {
        sort_descending_like_reference(&mut entries, |e| e.weighted_score);
        for cluster in cluster_boxes(&entries, params.iou_thr) {
            let size = cluster.members.len() as f64;
            fused.push(FusedBox {
                class_id,
                bbox: bbox_from(cluster.coords),
                score: cluster.score * n_models.min(size) / weight_sum,
                members: cluster.members.iter().map(|e| e.source).collect(),
            });
        }
    }
    sort_descending_like_reference(&mut fused, |f| f.score);
    Ok(fused)
}

/// numpy's `a[a[:, k].argsort()[::-1]]`: descending, equal keys in reverse order.
fn sort_descending_like_reference<T>(items: &mut [T], key: impl Fn(&T) -> f64) {
    items.sort_by(|a, b| key(a).total_cmp(&key(b)));
    items.reverse();
}

fn cluster_boxes(entries: &[Entry], iou_thr: f64) -> Vec<Cluster> {
    let mut clusters: Vec<Cluster> = Vec::new();
    for e in entries {
        let mut best: Option<(usize, f64)> = None;
        for (i, c) in clusters.iter().enumerate() {
            let iou = iou(&c.coords, &e.coords);
            if best.is_none_or(|(_, b)| iou > b) {
                best = Some((i, iou));
            }
        }
        match best {
            Some((i, iou)) if iou > iou_thr => {
                let c = &mut clusters[i];
                c.members.push(*e);
                (c.coords, c.score) = fuse(&c.members);
            }
            _ => clusters.push(Cluster {
                members: vec![*e],
                coords: e.coords,
                score: e.weighted_score,
            }),
        }
    }
    clusters
}

/// The score-weighted mean box and the mean score of a cluster.
fn fuse(members: &[Entry]) -> ([f64; 4], f64) {
    let conf: f64 = members.iter().map(|e| e.weighted_score).sum();
    let n = members.len() as f64;
    let mut coords = [0.0; 4];
    for e in members {
        let w = if conf > 0.0 { e.weighted_score } else { 1.0 };
        for (c, v) in coords.iter_mut().zip(e.coords) {
            *c += w * v;
        }
    }
    let denom = if conf > 0.0 { conf } else { n };
    for c in &mut coords {
        *c /= denom;
    }
    (coords, conf / n)
}

/// IoU as the reference computes it (no special case for empty overlap).
fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
    inter / (area_a + area_b - inter)
}

/// A weighted mean of valid boxes is a valid box; min/max guards the last ulp.
fn bbox_from(c: [f64; 4]) -> BBox {
    let (x0, x1) = (c[0].min(c[2]), c[0].max(c[2]));
    let (y0, y1) = (c[1].min(c[3]), c[1].max(c[3]));
    BBox::new(x0, y0, x1, y1).unwrap_or_else(|_| {
        // Unreachable for finite inputs; keep a valid degenerate box rather than panic.
        BBox::new(0.0, 0.0, 0.0, 0.0).expect("zero box is valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x0: f64, y0: f64, x1: f64, y1: f64) -> BBox {
        BBox::new(x0, y0, x1, y1).unwrap()
    }

    #[test]
    fn lone_box_is_scaled_by_the_number_of_models() {
        let models = vec![
            vec![WbfBox::new(3, b(0.0, 0.0, 10.0, 10.0), 1.0)],
            vec![],
            vec![],
        ];
        let out = weighted_boxes_fusion(&models, None, &WbfParams::default()).unwrap();
        assert_eq!(out.len(), 1);
        assert!((out[0].score - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(out[0].bbox, b(0.0, 0.0, 10.0, 10.0));
    }

    #[test]
    fn weighted_mean_uses_scores() {
        let models = vec![
            vec![WbfBox::new(0, b(0.0, 0.0, 10.0, 10.0), 0.9)],
            vec![WbfBox::new(0, b(1.0, 0.0, 11.0, 10.0), 0.3)],
        ];
        let out = weighted_boxes_fusion(&models, None, &WbfParams::default()).unwrap();
        assert_eq!(out.len(), 1);
        assert!((out[0].bbox.x_min() - 0.3 / 1.2).abs() < 1e-12);
        assert!((out[0].score - 0.6).abs() < 1e-12);
        assert_eq!(out[0].members.len(), 2);
    }

    #[test]
    fn classes_never_mix_and_threshold_is_strict() {
        let models = vec![
            vec![WbfBox::new(0, b(0.0, 0.0, 10.0, 10.0), 1.0)],
            vec![WbfBox::new(1, b(0.0, 0.0, 10.0, 10.0), 1.0)],
        ];
        assert_eq!(
            weighted_boxes_fusion(&models, None, &WbfParams::default())
                .unwrap()
                .len(),
            2
        );
        // IoU exactly 0.5 does not exceed iou_thr 0.5.
        let models = vec![
            vec![WbfBox::new(0, b(0.0, 0.0, 10.0, 10.0), 1.0)],
            vec![WbfBox::new(0, b(0.0, 0.0, 10.0, 5.0), 1.0)],
        ];
        let p = WbfParams {
            iou_thr: 0.5,
            skip_box_thr: 0.0,
        };
        assert_eq!(weighted_boxes_fusion(&models, None, &p).unwrap().len(), 2);
    }

    #[test]
    fn skips_low_scores_and_empty_boxes_and_refuses_bad_input() {
        let models = vec![vec![
            WbfBox::new(0, b(0.0, 0.0, 10.0, 10.0), 0.1),
            WbfBox::new(0, b(5.0, 5.0, 5.0, 9.0), 0.9),
        ]];
        let p = WbfParams {
            iou_thr: 0.5,
            skip_box_thr: 0.2,
        };
        assert!(weighted_boxes_fusion(&models, None, &p).unwrap().is_empty());
        assert!(matches!(
            weighted_boxes_fusion(&models, Some(&[1.0, 2.0]), &p),
            Err(WbfError::WeightCount { .. })
        ));
        assert!(matches!(
            weighted_boxes_fusion(&models, Some(&[f64::NAN]), &p),
            Err(WbfError::BadWeight { .. })
        ));
        let nan = vec![vec![WbfBox::new(0, b(0.0, 0.0, 1.0, 1.0), f64::NAN)]];
        assert!(matches!(
            weighted_boxes_fusion(&nan, None, &p),
            Err(WbfError::BadScore { .. })
        ));
    }
}
