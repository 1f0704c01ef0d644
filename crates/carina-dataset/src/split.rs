//! A seeded train/validation split by image, stratified so that every class
//! with at least two images appears in both parts.
//!
//! Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011): the
//! class with the fewest unassigned images is distributed first, each image
//! going to the part that still wants most of that class (then most images,
//! then a seeded coin). Each class wants at least one image in each part
//! when it has two or more; a final repair pass moves an image where the
//! greedy pass still left a class out of one part.

use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

pub const TRAIN: usize = 0;
pub const VAL: usize = 1;

/// Assigns each image (given as its set of class ids) to [`TRAIN`] or
/// [`VAL`]. `val_fraction` is in `(0, 1)`. The same inputs and seed always
/// give the same split.
pub fn stratified_split(labels: &[BTreeSet<u32>], val_fraction: f64, seed: u64) -> Vec<usize> {
    let n = labels.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);

    let classes: BTreeSet<u32> = labels.iter().flatten().copied().collect();
    let count = |c: u32| labels.iter().filter(|l| l.contains(&c)).count();
    let frac = [1.0 - val_fraction, val_fraction];
    // desired[s] per class, in `classes` order.
    let class_list: Vec<u32> = classes.iter().copied().collect();
    let ci = |c: u32| class_list.binary_search(&c).expect("class listed");
    let mut desired: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for &c in &class_list {
        let k = count(c) as f64;
        let mut val = (k * val_fraction).round();
        if k >= 2.0 {
            val = val.clamp(1.0, k - 1.0);
        }
        desired[VAL].push(val);
        desired[TRAIN].push(k - val);
    }
    let mut desired_total = [n as f64 * frac[TRAIN], n as f64 * frac[VAL]];
    let mut part = vec![usize::MAX; n];
    let mut remaining: Vec<usize> = order.clone();

    let pick = |want: [f64; 2], total: [f64; 2], rng: &mut ChaCha8Rng| -> usize {
        if want[TRAIN] != want[VAL] {
            return if want[TRAIN] > want[VAL] { TRAIN } else { VAL };
        }
        if total[TRAIN] != total[VAL] {
            return if total[TRAIN] > total[VAL] {
                TRAIN
            } else {
                VAL
            };
        }
        if rng.random_bool(0.5) { TRAIN } else { VAL }
    };

    loop {
        // The class with the fewest unassigned images (ties: lowest id).
        let next = class_list
            .iter()
            .map(|&c| {
                (
                    remaining
                        .iter()
                        .filter(|&&i| labels[i].contains(&c))
                        .count(),
                    c,
                )
            })
            .filter(|(k, _)| *k > 0)
            .min();
        let Some((_, c)) = next else { break };
        let (with_c, rest): (Vec<usize>, Vec<usize>) =
            remaining.iter().partition(|&&i| labels[i].contains(&c));
        for i in with_c {
            let k = ci(c);
            let s = pick(
                [desired[TRAIN][k], desired[VAL][k]],
                desired_total,
                &mut rng,
            );
            part[i] = s;
            for &l in &labels[i] {
                desired[s][ci(l)] -= 1.0;
            }
            desired_total[s] -= 1.0;
        }
        remaining = rest;
    }
    // Images without boxes fill the parts up to their sizes.
    for i in remaining {
        let s = pick([0.0, 0.0], desired_total, &mut rng);
        part[i] = s;
        desired_total[s] -= 1.0;
    }
    repair(labels, &class_list, &mut part, &order);
    part
}

/// Moves single images so that every class with two or more images is in
/// both parts, never taking a class's last image out of a part.
fn repair(labels: &[BTreeSet<u32>], classes: &[u32], part: &mut [usize], order: &[usize]) {
    for &c in classes {
        for target in [TRAIN, VAL] {
            let in_target = |part: &[usize]| {
                (0..labels.len()).any(|i| part[i] == target && labels[i].contains(&c))
            };
            if in_target(part) {
                continue;
            }
            let other = 1 - target;
            let candidate = order.iter().copied().find(|&i| {
                part[i] == other
                    && labels[i].contains(&c)
                    && labels[i].iter().all(|&l| {
                        // l keeps another image in `other`.
                        (0..labels.len())
                            .any(|j| j != i && part[j] == other && labels[j].contains(&l))
                    })
            });
            if let Some(i) = candidate {
                part[i] = target;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u32]) -> BTreeSet<u32> {
        ids.iter().copied().collect()
    }

    #[test]
    fn every_class_with_two_images_is_in_both_parts() {
        // 100 images: common classes 0/1, a rare class 7 on two images, a
        // class 8 on three images that always co-occurs with class 0, and
        // empty images.
        let mut labels = Vec::new();
        for i in 0..100u32 {
            let mut s = BTreeSet::new();
            if i % 2 == 0 {
                s.insert(0);
            }
            if i % 3 == 0 {
                s.insert(1);
            }
            if i == 10 || i == 20 {
                s.insert(7);
            }
            if i == 4 || i == 8 || i == 16 {
                s.insert(8);
            }
            labels.push(s);
        }
        for seed in 0..20 {
            let part = stratified_split(&labels, 0.2, seed);
            for c in [0, 1, 7, 8] {
                for p in [TRAIN, VAL] {
                    assert!(
                        (0..100).any(|i| part[i] == p && labels[i].contains(&c)),
                        "seed {seed}: class {c} missing from part {p}"
                    );
                }
            }
            let val = part.iter().filter(|&&p| p == VAL).count();
            assert!((17..=23).contains(&val), "seed {seed}: {val} val images");
        }
    }

    #[test]
    fn same_seed_same_split_other_seed_differs() {
        let labels: Vec<_> = (0..50u32).map(|i| set(&[i % 4])).collect();
        let a = stratified_split(&labels, 0.2, 42);
        assert_eq!(a, stratified_split(&labels, 0.2, 42));
        assert_ne!(a, stratified_split(&labels, 0.2, 43));
    }

    #[test]
    fn single_image_class_stays_in_train_or_val_without_panic() {
        let labels = vec![set(&[0]), set(&[0]), set(&[5]), set(&[])];
        let part = stratified_split(&labels, 0.5, 1);
        assert_eq!(part.len(), 4);
        assert!(part.iter().all(|&p| p == TRAIN || p == VAL));
    }
}
