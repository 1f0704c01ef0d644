//! Everything `carina eval coco` reports, as one JSON object and as a table.
//!
//! The JSON keeps the stable keys of the product brief — the twelve COCO
//! numbers, `per_class` (`{name: AP}`) and `auc` (`{name: AUC or null}`) —
//! and adds `operating_point`, `confusion_matrix` and `warnings`.

use crate::auc::{image_scores, roc_auc, roc_curve};
use crate::cocoeval::{CocoEval, CocoStats, evaluate};
use crate::confusion::{ConfusionMatrix, confusion_matrix};
use crate::input::{Detection, GroundTruth, InputError};
use crate::operating::{OperatingPoint, operating_point};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::fmt::Write as _;

/// IoU threshold of the operating-point metrics and the confusion matrix.
pub const OPERATING_IOU: f64 = 0.5;

/// The full evaluation of one set of detections.
#[derive(Debug, Clone)]
pub struct EvalSummary {
    pub coco: CocoEval,
    /// Per category (ascending id), `None` where undefined.
    pub auc: Vec<Option<f64>>,
    /// Per category: the image-level ROC curve (empty where the AUC is undefined).
    pub roc_curves: Vec<Vec<(f64, f64)>>,
    pub operating_point: OperatingPoint,
    pub confusion: ConfusionMatrix,
}

/// Runs every metric at `score_thr` (IoU 0.5 for the operating point).
pub fn summarize(
    gt: &GroundTruth,
    dets: &[Detection],
    score_thr: f64,
) -> Result<EvalSummary, InputError> {
    let coco = evaluate(gt, dets)?;
    let scores = image_scores(gt, dets);
    let auc = scores
        .iter()
        .map(|s| roc_auc(&s.scores, &s.labels))
        .collect();
    let roc_curves = scores
        .iter()
        .map(|s| roc_curve(&s.scores, &s.labels))
        .collect();
    Ok(EvalSummary {
        coco,
        auc,
        roc_curves,
        operating_point: operating_point(gt, dets, score_thr, OPERATING_IOU),
        confusion: confusion_matrix(gt, dets, score_thr, OPERATING_IOU),
    })
}

/// A JSON object whose keys keep the given order.
struct Ordered<'a, V: Serialize>(Vec<(&'a str, V)>);

impl<V: Serialize> Serialize for Ordered<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
#[allow(non_snake_case)]
struct JsonOut<'a> {
    #[serde(flatten)]
    stats: CocoStats,
    per_class: Ordered<'a, f64>,
    auc: Ordered<'a, Option<f64>>,
    operating_point: &'a OperatingPoint,
    confusion_matrix: &'a ConfusionMatrix,
    warnings: &'a [String],
}

impl EvalSummary {
    fn names(&self) -> impl Iterator<Item = &str> {
        self.coco.categories.iter().map(|c| c.name.as_str())
    }

    fn json_out(&self) -> JsonOut<'_> {
        JsonOut {
            stats: self.coco.stats,
            per_class: Ordered(
                self.names()
                    .zip(self.coco.per_class_ap.iter().copied())
                    .collect(),
            ),
            auc: Ordered(self.names().zip(self.auc.iter().copied()).collect()),
            operating_point: &self.operating_point,
            confusion_matrix: &self.confusion,
            warnings: &self.coco.warnings,
        }
    }

    /// The JSON object of `carina eval coco --json`.
    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self.json_out())
    }

    /// The same object as indented text, keys in a readable order (the twelve
    /// numbers first, classes in category-id order).
    pub fn to_json_pretty(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(&self.json_out())
    }

    /// A readable table of the same numbers.
    pub fn to_table(&self) -> String {
        let mut t = String::new();
        let s = self.coco.stats.to_array();
        let labels = [
            "AP @[IoU=0.50:0.95 | area=all | maxDets=100]",
            "AP @[IoU=0.50      | area=all | maxDets=100]",
            "AP @[IoU=0.75      | area=all | maxDets=100]",
            "AP @[IoU=0.50:0.95 | area=small | maxDets=100]",
            "AP @[IoU=0.50:0.95 | area=medium | maxDets=100]",
            "AP @[IoU=0.50:0.95 | area=large | maxDets=100]",
            "AR @[IoU=0.50:0.95 | area=all | maxDets=1]",
            "AR @[IoU=0.50:0.95 | area=all | maxDets=10]",
            "AR @[IoU=0.50:0.95 | area=all | maxDets=100]",
            "AR @[IoU=0.50:0.95 | area=small | maxDets=100]",
            "AR @[IoU=0.50:0.95 | area=medium | maxDets=100]",
            "AR @[IoU=0.50:0.95 | area=large | maxDets=100]",
        ];
        for ((name, label), v) in CocoStats::NAMES.iter().zip(labels).zip(s) {
            let _ = writeln!(t, "{name:<6} {label:<48} {v:>7.4}");
        }
        let op = &self.operating_point;
        let _ = writeln!(
            t,
            "\nPer class (operating point: score >= {}, IoU >= {}):",
            op.score_thr, op.iou_thr
        );
        let width = self.names().map(str::len).chain([5]).max().unwrap_or(5);
        let _ = writeln!(
            t,
            "{:<width$}  {:>7} {:>7} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8}",
            "class", "AP", "AUC", "TP", "FP", "FN", "prec", "recall", "F1", "accuracy", "best-F1@"
        );
        let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
        for (k, c) in op.per_class.iter().enumerate() {
            let ap = self.coco.per_class_ap[k];
            let _ = writeln!(
                t,
                "{:<width$}  {:>7} {:>7} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8}",
                c.name,
                f((ap > -1.0).then_some(ap)),
                f(self.auc[k]),
                c.tp,
                c.fp,
                c.fn_,
                f(c.precision),
                f(c.recall),
                f(c.f1),
                f(c.accuracy),
                f(op.best_f1[k].score_thr),
            );
        }
        let o = &op.overall;
        let _ = writeln!(
            t,
            "{:<width$}  {:>7} {:>7} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8}",
            "all",
            "",
            "",
            o.tp,
            o.fp,
            o.fn_,
            f(o.precision),
            f(o.recall),
            f(o.f1),
            f(o.accuracy),
            f(op.best_f1_overall.score_thr),
        );
        let i = &op.iou;
        let _ = writeln!(
            t,
            "\nIoU of matched pairs: n={} mean={} median={} p25={} p75={}",
            i.count,
            f(i.mean),
            f(i.median),
            f(i.p25),
            f(i.p75)
        );
        let cm = &self.confusion;
        let _ = writeln!(
            t,
            "\nConfusion matrix (rows: ground truth, columns: detection):"
        );
        let cw = cm.labels.iter().map(String::len).max().unwrap_or(4).min(12);
        let short = |s: &str| s.chars().take(cw).collect::<String>();
        let _ = write!(t, "{:<cw$}", "");
        for l in &cm.labels {
            let _ = write!(t, " {:>cw$}", short(l));
        }
        let _ = writeln!(t);
        for (l, row) in cm.labels.iter().zip(&cm.counts) {
            let _ = write!(t, "{:<cw$}", short(l));
            for v in row {
                let _ = write!(t, " {v:>cw$}");
            }
            let _ = writeln!(t);
        }
        for w in &self.coco.warnings {
            let _ = writeln!(t, "\nwarning: {w}");
        }
        t
    }
}
