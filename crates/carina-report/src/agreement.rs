//! Agreement between readers, and between a model and the readers' consensus.
//!
//! Pure functions over boxes; the server gathers the reads and shows the numbers.
//!
//! - **Image-level findings**: for one class, each image is "present" for a
//!   reader when that reader drew at least one box of the class on it (a
//!   reader who marked "no finding" has no boxes, so every class is absent).
//!   Two readers: Cohen's kappa; three or more: Fleiss' kappa. Only images
//!   read by *every* reader count (Fleiss' kappa needs the same number of
//!   ratings per subject).
//! - **Per image** ([`image_agreement`]): the same kappa with the classes of
//!   the label set as the subjects, plus the matched-box IoU on that image.
//! - **Mean IoU of matched boxes**: for every pair of readers, per image and
//!   class, boxes are matched one-to-one greedily by decreasing IoU among the
//!   pairs with IoU > 0 (a greedy match is what a reviewer does by eye, and it
//!   equals the optimal assignment whenever the overlaps are unambiguous, the
//!   usual case for a few boxes per class). The mean is over all matched pairs.
//! - **Model versus consensus**: model boxes in decreasing score order are
//!   matched to the not-yet-matched consensus box of the same class with the
//!   highest IoU, if that IoU ≥ the threshold (0.5 by default, as COCO's AP50):
//!   precision = TP / model boxes, recall = TP / consensus boxes, F1 their
//!   harmonic mean.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use carina_core::BBox;
use serde::Serialize;

/// Cohen's kappa of two raters who labelled the same items (any categories).
///
/// `None` when the inputs are empty or of different lengths, or when chance
/// agreement is 1 (both raters used one and the same category throughout:
/// kappa is undefined, 0/0).
pub fn cohen_kappa<T: Eq + Hash>(a: &[T], b: &[T]) -> Option<f64> {
    if a.is_empty() || a.len() != b.len() {
        return None;
    }
    let n = a.len() as f64;
    let mut count_a: HashMap<&T, f64> = HashMap::new();
    let mut count_b: HashMap<&T, f64> = HashMap::new();
    let mut agree = 0.0;
    for (x, y) in a.iter().zip(b) {
        *count_a.entry(x).or_default() += 1.0;
        *count_b.entry(y).or_default() += 1.0;
        if x == y {
            agree += 1.0;
        }
    }
    let po = agree / n;
    let pe: f64 = count_a
        .iter()
        .map(|(k, ca)| ca * count_b.get(k).copied().unwrap_or(0.0))
        .sum::<f64>()
        / (n * n);
    if (1.0 - pe).abs() < 1e-12 {
        return None;
    }
    Some((po - pe) / (1.0 - pe))
}

/// Fleiss' kappa from a subjects × categories table of counts: `table[i][j]`
/// is how many raters put subject `i` in category `j`. Every row must sum to
/// the same number of raters (at least 2).
///
/// `None` for an empty or ragged table, fewer than two raters, or when chance
/// agreement is 1 (every rating in one category).
pub fn fleiss_kappa(table: &[Vec<usize>]) -> Option<f64> {
    let first = table.first()?;
    let k = first.len();
    let n: usize = first.iter().sum();
    if k == 0
        || n < 2
        || table
            .iter()
            .any(|r| r.len() != k || r.iter().sum::<usize>() != n)
    {
        return None;
    }
    let subjects = table.len() as f64;
    let nf = n as f64;
    let mut p_j = vec![0.0; k];
    let mut p_bar = 0.0;
    for row in table {
        let mut sq = 0.0;
        for (j, &c) in row.iter().enumerate() {
            p_j[j] += c as f64;
            sq += (c * c) as f64;
        }
        p_bar += (sq - nf) / (nf * (nf - 1.0));
    }
    p_bar /= subjects;
    let pe: f64 = p_j
        .iter()
        .map(|s| {
            let p = s / (subjects * nf);
            p * p
        })
        .sum();
    if (1.0 - pe).abs() < 1e-12 {
        return None;
    }
    Some((p_bar - pe) / (1.0 - pe))
}

/// One box of a read: class and position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassBox {
    pub class_id: u32,
    pub bbox: BBox,
}

/// What one reader submitted for one image (no boxes = "no finding").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRead {
    pub image_id: String,
    pub reader: String,
    pub boxes: Vec<ClassBox>,
}

/// Which kappa was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KappaMethod {
    Cohen,
    Fleiss,
}

/// Image-level agreement on one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassKappa {
    pub class_id: u32,
    pub method: KappaMethod,
    pub readers: usize,
    /// Images read by every reader (the subjects).
    pub images: usize,
    /// `None` where undefined (e.g. every reader said "absent" on every image).
    pub kappa: Option<f64>,
}

/// Groups reads as image → reader → boxes; later reads of the same reader
/// and image replace earlier ones.
fn by_image(reads: &[ImageRead]) -> BTreeMap<&str, BTreeMap<&str, &[ClassBox]>> {
    let mut m: BTreeMap<&str, BTreeMap<&str, &[ClassBox]>> = BTreeMap::new();
    for r in reads {
        m.entry(r.image_id.as_str())
            .or_default()
            .insert(r.reader.as_str(), r.boxes.as_slice());
    }
    m
}

/// Per-class image-level kappa over all images read by every reader (Cohen's
/// for two readers, Fleiss' for more). `classes` lists the class ids to
/// report; `None` when fewer than two readers appear.
pub fn image_level_kappa(reads: &[ImageRead], classes: &[u32]) -> Option<Vec<ClassKappa>> {
    let readers: BTreeSet<&str> = reads.iter().map(|r| r.reader.as_str()).collect();
    if readers.len() < 2 {
        return None;
    }
    let grouped = by_image(reads);
    let complete: Vec<&BTreeMap<&str, &[ClassBox]>> = grouped
        .values()
        .filter(|per_reader| per_reader.len() == readers.len())
        .collect();
    let out = classes
        .iter()
        .map(|&class_id| {
            let present = |boxes: &[ClassBox]| boxes.iter().any(|b| b.class_id == class_id);
            let (method, kappa) = if readers.len() == 2 {
                let mut cols: [Vec<bool>; 2] = [Vec::new(), Vec::new()];
                for per_reader in &complete {
                    for (i, boxes) in per_reader.values().enumerate() {
                        cols[i].push(present(boxes));
                    }
                }
                (KappaMethod::Cohen, cohen_kappa(&cols[0], &cols[1]))
            } else {
                let table: Vec<Vec<usize>> = complete
                    .iter()
                    .map(|per_reader| {
                        let yes = per_reader.values().filter(|b| present(b)).count();
                        vec![yes, per_reader.len() - yes]
                    })
                    .collect();
                (KappaMethod::Fleiss, fleiss_kappa(&table))
            };
            ClassKappa {
                class_id,
                method,
                readers: readers.len(),
                images: complete.len(),
                kappa,
            }
        })
        .collect();
    Some(out)
}

/// Agreement on one image: the classes are the subjects of the kappa.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageAgreement {
    pub readers: usize,
    /// Cohen's (two readers) or Fleiss' (more) kappa over `classes`, each
    /// class present or absent per reader; `None` where undefined (e.g. all
    /// readers said "absent" for every class).
    pub method: KappaMethod,
    pub kappa: Option<f64>,
    pub boxes: BoxAgreement,
}

/// Per-image figures from the reads of *one* image (reads of other images
/// are ignored by the caller's choice of slice; a reader's later read
/// replaces an earlier one). `None` with fewer than two readers.
pub fn image_agreement(reads: &[ImageRead], classes: &[u32]) -> Option<ImageAgreement> {
    let mut per_reader: BTreeMap<&str, &[ClassBox]> = BTreeMap::new();
    for r in reads {
        per_reader.insert(r.reader.as_str(), r.boxes.as_slice());
    }
    let n = per_reader.len();
    if n < 2 || classes.is_empty() {
        return None;
    }
    let present = |boxes: &[ClassBox], c: u32| boxes.iter().any(|b| b.class_id == c);
    let (method, kappa) = if n == 2 {
        let cols: Vec<Vec<bool>> = per_reader
            .values()
            .map(|b| classes.iter().map(|&c| present(b, c)).collect())
            .collect();
        (KappaMethod::Cohen, cohen_kappa(&cols[0], &cols[1]))
    } else {
        let table: Vec<Vec<usize>> = classes
            .iter()
            .map(|&c| {
                let yes = per_reader.values().filter(|b| present(b, c)).count();
                vec![yes, n - yes]
            })
            .collect();
        (KappaMethod::Fleiss, fleiss_kappa(&table))
    };
    Some(ImageAgreement {
        readers: n,
        method,
        kappa,
        boxes: mean_matched_iou(reads),
    })
}

/// Greedy one-to-one matching by decreasing IoU among pairs with IoU above
/// `min_iou` (strictly). Returns `(index in a, index in b, iou)`.
pub fn greedy_match(a: &[BBox], b: &[BBox], min_iou: f64) -> Vec<(usize, usize, f64)> {
    let mut pairs: Vec<(usize, usize, f64)> = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            let iou = x.iou(y);
            if iou > min_iou {
                pairs.push((i, j, iou));
            }
        }
    }
    // Ties broken by index so the result does not depend on sort stability.
    pairs.sort_by(|p, q| q.2.total_cmp(&p.2).then(p.0.cmp(&q.0)).then(p.1.cmp(&q.1)));
    let (mut used_a, mut used_b) = (vec![false; a.len()], vec![false; b.len()]);
    let mut out = Vec::new();
    for (i, j, iou) in pairs {
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            out.push((i, j, iou));
        }
    }
    out
}

/// Box agreement between readers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxAgreement {
    /// Matched box pairs over all reader pairs, images and classes.
    pub matched_pairs: usize,
    /// Boxes left without a partner, counted once per reader pair.
    pub unmatched: usize,
    /// Mean IoU of the matched pairs; `None` when nothing matched.
    pub mean_iou: Option<f64>,
}

/// Mean IoU of matched boxes between every pair of readers (see the module
/// docs for the matching). Only images read by both readers of a pair count.
pub fn mean_matched_iou(reads: &[ImageRead]) -> BoxAgreement {
    let grouped = by_image(reads);
    let (mut sum, mut matched, mut unmatched) = (0.0, 0usize, 0usize);
    for per_reader in grouped.values() {
        let readers: Vec<&[ClassBox]> = per_reader.values().copied().collect();
        for i in 0..readers.len() {
            for j in i + 1..readers.len() {
                let classes: BTreeSet<u32> = readers[i]
                    .iter()
                    .chain(readers[j])
                    .map(|b| b.class_id)
                    .collect();
                for c in classes {
                    let of = |r: &[ClassBox]| -> Vec<BBox> {
                        r.iter()
                            .filter(|b| b.class_id == c)
                            .map(|b| b.bbox)
                            .collect()
                    };
                    let (a, b) = (of(readers[i]), of(readers[j]));
                    let m = greedy_match(&a, &b, 0.0);
                    sum += m.iter().map(|p| p.2).sum::<f64>();
                    matched += m.len();
                    unmatched += a.len() + b.len() - 2 * m.len();
                }
            }
        }
    }
    BoxAgreement {
        matched_pairs: matched,
        unmatched,
        mean_iou: (matched > 0).then(|| sum / matched as f64),
    }
}

/// A model's box with its score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoredBox {
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
}

/// Model-versus-consensus counts and rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionAgreement {
    pub true_positives: usize,
    pub model_boxes: usize,
    pub consensus_boxes: usize,
    /// `None` when the model proposed nothing.
    pub precision: Option<f64>,
    /// `None` when the consensus has no boxes.
    pub recall: Option<f64>,
    /// `None` when precision or recall is undefined or both are 0.
    pub f1: Option<f64>,
}

/// Matches one image's model boxes against its consensus boxes (see module
/// docs) and returns the true positives.
fn true_positives(model: &[ScoredBox], consensus: &[ClassBox], iou_thr: f64) -> usize {
    let mut order: Vec<usize> = (0..model.len()).collect();
    order.sort_by(|&i, &j| model[j].score.total_cmp(&model[i].score).then(i.cmp(&j)));
    let mut used = vec![false; consensus.len()];
    let mut tp = 0;
    for i in order {
        let m = &model[i];
        let best = consensus
            .iter()
            .enumerate()
            .filter(|(j, g)| !used[*j] && g.class_id == m.class_id)
            .map(|(j, g)| (j, m.bbox.iou(&g.bbox)))
            .filter(|(_, iou)| *iou >= iou_thr)
            .max_by(|p, q| p.1.total_cmp(&q.1).then(q.0.cmp(&p.0)));
        if let Some((j, _)) = best {
            used[j] = true;
            tp += 1;
        }
    }
    tp
}

/// Precision, recall and F1 of model boxes against consensus boxes over
/// several images: `images` holds `(model boxes, consensus boxes)` per image.
/// Model boxes below `score_thr` are ignored (pass the threshold the
/// radiologists saw).
pub fn model_vs_consensus(
    images: &[(Vec<ScoredBox>, Vec<ClassBox>)],
    iou_thr: f64,
    score_thr: f64,
) -> DetectionAgreement {
    let (mut tp, mut n_model, mut n_gt) = (0, 0, 0);
    for (model, consensus) in images {
        let kept: Vec<ScoredBox> = model
            .iter()
            .filter(|b| b.score >= score_thr)
            .copied()
            .collect();
        tp += true_positives(&kept, consensus, iou_thr);
        n_model += kept.len();
        n_gt += consensus.len();
    }
    let precision = (n_model > 0).then(|| tp as f64 / n_model as f64);
    let recall = (n_gt > 0).then(|| tp as f64 / n_gt as f64);
    let f1 = match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        _ => None,
    };
    DetectionAgreement {
        true_positives: tp,
        model_boxes: n_model,
        consensus_boxes: n_gt,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
#[path = "agreement_tests.rs"]
mod tests;
