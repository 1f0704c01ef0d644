//! Agreement statistics against reference values and hand-checked cases.

use super::*;

fn bb(x0: f64, y0: f64, x1: f64, y1: f64) -> BBox {
    BBox::new(x0, y0, x1, y1).unwrap()
}

fn read(image: &str, reader: &str, boxes: &[(u32, BBox)]) -> ImageRead {
    ImageRead {
        image_id: image.into(),
        reader: reader.into(),
        boxes: boxes
            .iter()
            .map(|&(class_id, bbox)| ClassBox { class_id, bbox })
            .collect(),
    }
}

#[test]
fn cohen_matches_wikipedia_and_sklearn() {
    // Wikipedia "Cohen's kappa", worked example: 50 proposals, both yes 20,
    // A yes / B no 5, A no / B yes 10, both no 15. sklearn 1.9.1
    // `cohen_kappa_score` gives 0.4 (run during development).
    let a: Vec<bool> = [vec![true; 25], vec![false; 25]].concat();
    let b: Vec<bool> = [
        vec![true; 20],
        vec![false; 5],
        vec![true; 10],
        vec![false; 15],
    ]
    .concat();
    assert!((cohen_kappa(&a, &b).unwrap() - 0.4).abs() < 1e-12);

    // Three categories; sklearn `cohen_kappa_score(x, y)` = 0.625.
    let x = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0];
    let y = [0, 1, 1, 2, 1, 0, 2, 2, 1, 0, 2, 0];
    assert!((cohen_kappa(&x, &y).unwrap() - 0.625).abs() < 1e-12);

    assert_eq!(cohen_kappa(&a, &a).unwrap(), 1.0);
    assert_eq!(cohen_kappa::<bool>(&[], &[]), None);
    assert_eq!(cohen_kappa(&[true], &[true, false]), None);
    // Both raters always "absent": chance agreement 1, kappa undefined.
    assert_eq!(cohen_kappa(&[false; 4], &[false; 4]), None);
}

#[test]
fn fleiss_matches_wikipedia_and_statsmodels() {
    // Wikipedia "Fleiss' kappa" worked example (10 subjects, 14 raters, 5
    // categories, κ ≈ 0.210); statsmodels 0.15.0 `fleiss_kappa` on this
    // table gives 0.20993070442195522 (run during development).
    let table = vec![
        vec![0, 0, 0, 0, 14],
        vec![0, 2, 6, 4, 2],
        vec![0, 0, 3, 5, 6],
        vec![0, 3, 9, 2, 0],
        vec![2, 2, 8, 1, 1],
        vec![7, 7, 0, 0, 0],
        vec![3, 2, 6, 3, 0],
        vec![2, 5, 3, 2, 2],
        vec![6, 5, 2, 1, 0],
        vec![0, 2, 2, 3, 7],
    ];
    assert!((fleiss_kappa(&table).unwrap() - 0.209_930_704_421_955_22).abs() < 1e-12);
    // Binary, three raters; statsmodels gives 0.5555555555555554.
    let t2 = vec![
        vec![3, 0],
        vec![2, 1],
        vec![0, 3],
        vec![1, 2],
        vec![3, 0],
        vec![0, 3],
    ];
    assert!((fleiss_kappa(&t2).unwrap() - 5.0 / 9.0).abs() < 1e-12);
    // Ragged rows, one rater, empty.
    assert_eq!(fleiss_kappa(&[vec![1, 1], vec![3, 0]]), None);
    assert_eq!(fleiss_kappa(&[vec![1, 0], vec![0, 1]]), None);
    assert_eq!(fleiss_kappa(&[]), None);
}

#[test]
fn image_level_kappa_uses_cohen_for_two_and_fleiss_for_three() {
    let b = bb(10.0, 10.0, 50.0, 50.0);
    // Class 4 on images: reader A yes,yes,no,no; reader B yes,no,no,no.
    let mut reads = vec![
        read("i1", "A", &[(4, b)]),
        read("i1", "B", &[(4, b)]),
        read("i2", "A", &[(4, b)]),
        read("i2", "B", &[]),
        read("i3", "A", &[]),
        read("i3", "B", &[]),
        read("i4", "A", &[(1, b)]),
        read("i4", "B", &[(1, b)]),
        // Read by A only: not a subject.
        read("i5", "A", &[(4, b)]),
    ];
    let k = image_level_kappa(&reads, &[4, 1]).unwrap();
    assert_eq!(k[0].method, KappaMethod::Cohen);
    assert_eq!(k[0].images, 4);
    let expect = cohen_kappa(&[true, true, false, false], &[true, false, false, false]).unwrap();
    assert!((k[0].kappa.unwrap() - expect).abs() < 1e-12);
    assert_eq!(k[1].kappa, Some(1.0));

    reads.push(read("i1", "C", &[(4, b)]));
    reads.push(read("i2", "C", &[(4, b)]));
    reads.push(read("i3", "C", &[]));
    reads.push(read("i4", "C", &[]));
    let k = image_level_kappa(&reads, &[4]).unwrap();
    assert_eq!(k[0].method, KappaMethod::Fleiss);
    assert_eq!(k[0].readers, 3);
    let table = vec![vec![3, 0], vec![2, 1], vec![0, 3], vec![0, 3]];
    assert!((k[0].kappa.unwrap() - fleiss_kappa(&table).unwrap()).abs() < 1e-12);

    assert!(image_level_kappa(&reads[..1], &[4]).is_none());
}

#[test]
fn greedy_match_is_one_to_one_and_best_first() {
    let a = [bb(0.0, 0.0, 10.0, 10.0), bb(0.0, 0.0, 10.0, 8.0)];
    let b = [bb(0.0, 0.0, 10.0, 9.0), bb(100.0, 100.0, 110.0, 110.0)];
    let m = greedy_match(&a, &b, 0.0);
    // Both a's overlap b[0]; a[0] (IoU 0.9) beats a[1] (8/9); b[1] overlaps nothing.
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].0, m[0].1), (0, 0));
    assert!((m[0].2 - 0.9).abs() < 1e-12);
}

#[test]
fn mean_iou_over_reader_pairs() {
    let reads = vec![
        read(
            "i1",
            "A",
            &[
                (0, bb(0.0, 0.0, 10.0, 10.0)),
                (2, bb(50.0, 50.0, 60.0, 60.0)),
            ],
        ),
        read(
            "i1",
            "B",
            &[
                (0, bb(0.0, 0.0, 10.0, 5.0)),
                (3, bb(50.0, 50.0, 60.0, 60.0)),
            ],
        ),
    ];
    let agr = mean_matched_iou(&reads);
    // Class 0 matches with IoU 0.5; classes 2 and 3 differ, so never matched.
    assert_eq!(agr.matched_pairs, 1);
    assert_eq!(agr.unmatched, 2);
    assert!((agr.mean_iou.unwrap() - 0.5).abs() < 1e-12);
    assert_eq!(mean_matched_iou(&[]).mean_iou, None);
}

#[test]
fn model_vs_consensus_precision_recall_f1() {
    let gt = vec![
        ClassBox {
            class_id: 4,
            bbox: bb(0.0, 0.0, 10.0, 10.0),
        },
        ClassBox {
            class_id: 8,
            bbox: bb(50.0, 50.0, 90.0, 90.0),
        },
    ];
    let model = vec![
        // Duplicate of the nodule: the higher score takes the match.
        ScoredBox {
            class_id: 4,
            bbox: bb(0.0, 0.0, 10.0, 9.0),
            score: 0.9,
        },
        ScoredBox {
            class_id: 4,
            bbox: bb(0.0, 0.0, 10.0, 10.0),
            score: 0.8,
        },
        // Right place, wrong class.
        ScoredBox {
            class_id: 2,
            bbox: bb(50.0, 50.0, 90.0, 90.0),
            score: 0.7,
        },
        // Below the score threshold: ignored.
        ScoredBox {
            class_id: 8,
            bbox: bb(50.0, 50.0, 90.0, 90.0),
            score: 0.01,
        },
    ];
    let a = model_vs_consensus(&[(model.clone(), gt.clone())], 0.5, 0.05);
    assert_eq!(
        (a.true_positives, a.model_boxes, a.consensus_boxes),
        (1, 3, 2)
    );
    assert!((a.precision.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!((a.recall.unwrap() - 0.5).abs() < 1e-12);
    assert!((a.f1.unwrap() - 0.4).abs() < 1e-12);
    // With no threshold the effusion box counts.
    let a = model_vs_consensus(&[(model, gt)], 0.5, 0.0);
    assert_eq!(a.true_positives, 2);
    let none = model_vs_consensus(&[(vec![], vec![])], 0.5, 0.0);
    assert_eq!((none.precision, none.recall, none.f1), (None, None, None));
}

#[test]
fn per_image_kappa_uses_classes_as_subjects() {
    let b = bb(0.0, 0.0, 10.0, 10.0);
    let classes: Vec<u32> = (0..9).collect();
    let reads = vec![
        read("i1", "A", &[(1, b), (4, b)]),
        read("i1", "B", &[(4, bb(0.0, 0.0, 10.0, 5.0))]),
    ];
    let a = image_agreement(&reads, &classes).unwrap();
    assert_eq!(a.method, KappaMethod::Cohen);
    let ra: Vec<bool> = classes.iter().map(|&c| c == 1 || c == 4).collect();
    let rb: Vec<bool> = classes.iter().map(|&c| c == 4).collect();
    // Hand check: po = 8/9, pe = (7*8 + 2*1)/81 = 58/81, kappa = (72-58)/(81-58) = 14/23.
    assert!((a.kappa.unwrap() - 14.0 / 23.0).abs() < 1e-12);
    assert_eq!(a.kappa, cohen_kappa(&ra, &rb));
    assert_eq!(a.boxes.matched_pairs, 1);
    assert!((a.boxes.mean_iou.unwrap() - 0.5).abs() < 1e-12);

    let mut three = reads.clone();
    three.push(read("i1", "C", &[]));
    let a = image_agreement(&three, &classes).unwrap();
    assert_eq!((a.method, a.readers), (KappaMethod::Fleiss, 3));
    assert!(image_agreement(&reads[..1], &classes).is_none());
}
