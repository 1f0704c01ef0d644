//! Image-level ROC AUC per class, as the seed paper's Table 1 reports it.
//!
//! For each class, an image's score is the highest score of that class's
//! detections in it (0 if none), and its label is whether it has a non-crowd
//! ground-truth box of that class. The AUC counts tied scores half, which is
//! what scikit-learn's `roc_auc_score` computes; it is undefined (`None`)
//! where a class has no positive or no negative image.

use crate::input::{Detection, GroundTruth};
use std::collections::HashMap;

/// Per-image scores and labels of one class, in ascending image-id order.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageScores {
    pub scores: Vec<f64>,
    pub labels: Vec<bool>,
}

/// Image scores and labels for every category of `gt`, in ascending category-id order.
pub fn image_scores(gt: &GroundTruth, dets: &[Detection]) -> Vec<ImageScores> {
    let mut cats: Vec<i64> = gt.categories.iter().map(|c| c.id).collect();
    cats.sort_unstable();
    let mut images = gt.images.clone();
    images.sort_unstable();
    let k_of: HashMap<i64, usize> = cats.iter().enumerate().map(|(k, c)| (*c, k)).collect();
    let i_of: HashMap<i64, usize> = images.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut out = vec![
        ImageScores {
            scores: vec![0.0; images.len()],
            labels: vec![false; images.len()],
        };
        cats.len()
    ];
    let mut seen = vec![vec![false; images.len()]; cats.len()];
    for d in dets {
        if let (Some(&k), Some(&i)) = (k_of.get(&d.category_id), i_of.get(&d.image_id)) {
            let s = &mut out[k].scores[i];
            *s = if seen[k][i] { s.max(d.score) } else { d.score };
            seen[k][i] = true;
        }
    }
    for a in gt.annotations.iter().filter(|a| !a.iscrowd) {
        if let (Some(&k), Some(&i)) = (k_of.get(&a.category_id), i_of.get(&a.image_id)) {
            out[k].labels[i] = true;
        }
    }
    out
}

/// ROC AUC with ties counted half; `None` without both classes present.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let (pos, neg) = counts(labels);
    if pos == 0 || neg == 0 {
        return None;
    }
    // Twice the number of (positive, negative) pairs ranked right, ties as one.
    let mut twice_right: u128 = 0;
    let mut tp_above: u128 = 0;
    for (p, n) in tie_groups(scores, labels) {
        twice_right += n as u128 * (2 * tp_above + p as u128);
        tp_above += p as u128;
    }
    Some(twice_right as f64 / (2.0 * pos as f64 * neg as f64))
}

/// ROC curve points `(false positive rate, true positive rate)` from (0, 0)
/// to (1, 1), one point per distinct score; empty without both classes.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let (pos, neg) = counts(labels);
    if pos == 0 || neg == 0 {
        return Vec::new();
    }
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    for (p, n) in tie_groups(scores, labels) {
        tp += p;
        fp += n;
        points.push((fp as f64 / neg as f64, tp as f64 / pos as f64));
    }
    points
}

fn counts(labels: &[bool]) -> (usize, usize) {
    let pos = labels.iter().filter(|l| **l).count();
    (pos, labels.len() - pos)
}

/// (positives, negatives) per distinct score, highest score first.
fn tie_groups(scores: &[f64], labels: &[bool]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut last: Option<f64> = None;
    for i in order {
        if last != Some(scores[i]) {
            groups.push((0, 0));
            last = Some(scores[i]);
        }
        let g = groups.last_mut().expect("pushed above");
        if labels[i] {
            g.0 += 1;
        } else {
            g.1 += 1;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_inverse_and_ties() {
        assert_eq!(roc_auc(&[0.9, 0.8, 0.1], &[true, true, false]), Some(1.0));
        assert_eq!(roc_auc(&[0.1, 0.8, 0.9], &[true, true, false]), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        // scikit-learn: roc_auc_score([1, 0, 1, 0], [0.8, 0.8, 0.3, 0.1]) == 0.625
        assert_eq!(
            roc_auc(&[0.8, 0.8, 0.3, 0.1], &[true, false, true, false]),
            Some(0.625)
        );
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn curve_ends_at_one_one() {
        let c = roc_curve(&[0.8, 0.8, 0.3, 0.1], &[true, false, true, false]);
        assert_eq!(c.first(), Some(&(0.0, 0.0)));
        assert_eq!(c.last(), Some(&(1.0, 1.0)));
        assert_eq!(c[1], (0.5, 0.5));
    }
}
