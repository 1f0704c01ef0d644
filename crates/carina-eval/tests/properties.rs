//! Invariants of the COCO evaluation on seeded generated data: a perfect
//! detector scores 1, a false positive never raises AP, input order (with
//! distinct scores) does not matter.

use carina_eval::synthetic::{Rng, SynthSpec, generate};
use carina_eval::{Detection, GroundTruth, evaluate};

const SEEDS: std::ops::Range<u64> = 1..25;

fn small(seed: u64, decimals: Option<i32>) -> (GroundTruth, Vec<Detection>) {
    generate(&SynthSpec {
        images: 30,
        detections: 150,
        classes: 4,
        image_size: 512.0,
        score_decimals: decimals,
        crowd_rate: 0.05,
        seed,
    })
}

#[test]
fn a_perfect_detector_scores_one() {
    for seed in SEEDS {
        let (gt, _) = small(seed, None);
        let mut rng = Rng::new(seed);
        let dets: Vec<Detection> = gt
            .annotations
            .iter()
            .filter(|a| !a.iscrowd)
            .map(|a| Detection {
                image_id: a.image_id,
                category_id: a.category_id,
                bbox: a.bbox,
                score: rng.range(0.5, 1.0),
            })
            .collect();
        let s = evaluate(&gt, &dets).unwrap().stats;
        // A mean of many 1s may round to 1 - 1e-16, as it does in numpy.
        for (name, v) in [
            ("AP", s.AP),
            ("AP50", s.AP50),
            ("AP75", s.AP75),
            ("AR100", s.AR100),
        ] {
            assert!((v - 1.0).abs() < 1e-12, "seed {seed}: {name} = {v}");
        }
        // An area range is either perfect or has no ground truth at all.
        for v in [s.APs, s.APm, s.APl, s.ARs, s.ARm, s.ARl] {
            assert!((v - 1.0).abs() < 1e-12 || v == -1.0, "seed {seed}: {s:?}");
        }
    }
}

#[test]
fn a_false_positive_never_raises_ap() {
    for seed in SEEDS {
        let (gt, mut dets) = small(seed, Some(2));
        let before = evaluate(&gt, &dets).unwrap().stats.to_array();
        let mut rng = Rng::new(seed + 1000);
        // A box far from every ground truth of its class in its image: the
        // generated images are 512 px, this one lies beyond them.
        let fp = Detection {
            image_id: gt.images[rng.below(gt.images.len())],
            category_id: rng.below(4) as i64 + 1,
            bbox: [
                600.0 + rng.range(0.0, 50.0),
                600.0,
                rng.range(5.0, 150.0),
                rng.range(5.0, 150.0),
            ],
            score: rng.unit(),
        };
        dets.insert(rng.below(dets.len() + 1), fp);
        let after = evaluate(&gt, &dets).unwrap().stats.to_array();
        for i in 0..12 {
            assert!(
                after[i] <= before[i] + 1e-12,
                "seed {seed}: stat {i} rose from {} to {} after adding {fp:?}",
                before[i],
                after[i]
            );
        }
    }
}

#[test]
fn input_order_does_not_matter_when_scores_differ() {
    for seed in SEEDS {
        let (mut gt, mut dets) = small(seed, None);
        let before = evaluate(&gt, &dets).unwrap();
        let mut rng = Rng::new(seed + 7);
        rng.shuffle(&mut gt.images);
        rng.shuffle(&mut gt.categories);
        rng.shuffle(&mut gt.annotations);
        rng.shuffle(&mut dets);
        let after = evaluate(&gt, &dets).unwrap();
        assert_eq!(before.stats, after.stats, "seed {seed}");
        assert_eq!(before.per_class_ap, after.per_class_ap, "seed {seed}");
    }
}

#[test]
fn more_than_one_hundred_detections_per_image_are_cut() {
    // 150 identical-score detections on one ground truth: only the first 100
    // (input order) count, and only one can match.
    let (gt, _) = small(3, None);
    let a = gt.annotations.iter().find(|a| !a.iscrowd).unwrap().clone();
    let mut dets: Vec<Detection> = (0..150)
        .map(|_| Detection {
            image_id: a.image_id,
            category_id: a.category_id,
            bbox: [0.0, 0.0, 1.0, 1.0],
            score: 0.5,
        })
        .collect();
    let miss = evaluate(&gt, &dets).unwrap().stats;
    dets[120].bbox = a.bbox; // beyond the cut: still nothing found
    assert_eq!(evaluate(&gt, &dets).unwrap().stats, miss);
    dets[20].bbox = a.bbox; // inside the cut: found
    assert!(evaluate(&gt, &dets).unwrap().stats.AR100 > miss.AR100);
}
