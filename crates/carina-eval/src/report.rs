//! A self-contained HTML evaluation report: one file, figures inlined as
//! base64 PNG data URIs, no scripts, no external resources.
//!
//! The page is the minijinja template `templates/report.html`, rendered with
//! HTML auto-escaping: text from the data (class names, titles, notes) is
//! never put into HTML by string formatting. Numbers are formatted here.

use crate::operating::{BestF1, ClassMetrics};
use crate::plot::{
    LossRecord, PlotError, Series, confusion_png, loss_curves_png, pr_curves_png, roc_curves_png,
};
use crate::summary::EvalSummary;
use base64::Engine as _;
use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};
use serde::Serialize;

/// Inference time per image, for `carina eval model`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InferenceTiming {
    pub images: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
}

/// What goes into a report besides the metrics.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions<'a> {
    pub title: &'a str,
    /// Free-text lines shown under the title (e.g. "synthetic data").
    pub notes: &'a [String],
    pub timing: Option<InferenceTiming>,
    /// A training log; when given, the loss curves are drawn.
    pub loss_log: Option<&'a [LossRecord]>,
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.4}"))
}

fn defined(v: f64) -> Option<f64> {
    (v > -1.0).then_some(v)
}

/// The precision–recall curves at IoU 0.5 of every class with ground truth.
pub fn pr_series(summary: &EvalSummary) -> Vec<Series> {
    summary
        .coco
        .categories
        .iter()
        .enumerate()
        .map(|(k, c)| Series {
            name: c.name.clone(),
            points: summary.coco.pr_curve(k, 0),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The ROC curves of every class where the AUC is defined.
pub fn roc_series(summary: &EvalSummary) -> Vec<Series> {
    summary
        .coco
        .categories
        .iter()
        .zip(&summary.roc_curves)
        .zip(&summary.auc)
        .filter(|(_, auc)| auc.is_some())
        .map(|((c, pts), auc)| Series {
            name: format!("{} (AUC {})", c.name, num(*auc)),
            points: pts.clone(),
        })
        .collect()
}

const TEMPLATE: &str = include_str!("../templates/report.html");

/// A row of the per-class table, every number already formatted.
#[derive(Serialize)]
struct ClassRow {
    name: String,
    ap: String,
    auc: String,
    tp: usize,
    fp: usize,
    fn_: usize,
    precision: String,
    recall: String,
    f1: String,
    accuracy: String,
    best_thr: String,
    best_f1: String,
}

impl ClassRow {
    fn new(c: &ClassMetrics, b: &BestF1, ap: Option<f64>, auc: Option<f64>) -> ClassRow {
        ClassRow {
            name: c.name.clone(),
            ap: num(ap),
            auc: num(auc),
            tp: c.tp,
            fp: c.fp,
            fn_: c.fn_,
            precision: num(c.precision),
            recall: num(c.recall),
            f1: num(c.f1),
            accuracy: num(c.accuracy),
            best_thr: num(b.score_thr),
            best_f1: num(b.f1),
        }
    }
}

#[derive(Serialize)]
struct Stat {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Figure {
    alt: &'static str,
    /// Base64 text, marked safe: its alphabet holds nothing HTML would read.
    base64: Value,
}

#[derive(Serialize)]
struct ConfusionRow<'a> {
    label: &'a str,
    counts: &'a [usize],
}

fn figure(alt: &'static str, png: &[u8]) -> Figure {
    Figure {
        alt,
        base64: Value::from_safe_string(base64::engine::general_purpose::STANDARD.encode(png)),
    }
}

fn template_err(e: minijinja::Error) -> PlotError {
    PlotError::Template(e.to_string())
}

/// Builds the report page.
pub fn html_report(summary: &EvalSummary, opts: &ReportOptions<'_>) -> Result<String, PlotError> {
    let title = if opts.title.is_empty() {
        "Carina evaluation report"
    } else {
        opts.title
    };
    let coco: Vec<Stat> = crate::CocoStats::NAMES
        .iter()
        .zip(summary.coco.stats.to_array())
        .map(|(&name, v)| Stat {
            name,
            value: num(defined(v)),
        })
        .collect();
    let op = &summary.operating_point;
    let classes: Vec<ClassRow> = op
        .per_class
        .iter()
        .enumerate()
        .map(|(k, c)| {
            ClassRow::new(
                c,
                &op.best_f1[k],
                defined(summary.coco.per_class_ap[k]),
                summary.auc[k],
            )
        })
        .collect();
    let overall = ClassRow::new(&op.overall, &op.best_f1_overall, None, None);
    let i = &op.iou;
    let iou = context! {
        count => i.count,
        mean => num(i.mean),
        median => num(i.median),
        p25 => num(i.p25),
        p75 => num(i.p75),
        min => num(i.min),
        max => num(i.max),
        bin_edges => i.bin_edges.iter().map(|e| format!("{e:.2}")).collect::<Vec<_>>(),
        counts => Value::from(Serde(&i.counts)),
    };
    let timing = opts.timing.map(|t| {
        context! {
            images => t.images,
            median_ms => format!("{:.1}", t.median_ms),
            p95_ms => format!("{:.1}", t.p95_ms),
        }
    });

    let mut figures = vec![
        figure(
            "precision-recall curves",
            &pr_curves_png(
                "Precision–recall at IoU 0.5 (interpolated)",
                &pr_series(summary),
            )?,
        ),
        figure(
            "ROC curves",
            &roc_curves_png("Image-level ROC per class", &roc_series(summary))?,
        ),
        figure("confusion matrix", &confusion_png(&summary.confusion)?),
    ];
    if let Some(log) = opts.loss_log {
        figures.push(figure(
            "loss curves",
            &loss_curves_png("Training losses", log)?,
        ));
    }
    let cm = &summary.confusion;
    let confusion_rows: Vec<ConfusionRow> = cm
        .labels
        .iter()
        .zip(&cm.counts)
        .map(|(label, counts)| ConfusionRow { label, counts })
        .collect();

    let mut env = Environment::new();
    // The `.html` name turns on minijinja's HTML auto-escaping.
    env.add_template("report.html", TEMPLATE)
        .map_err(template_err)?;
    env.get_template("report.html")
        .map_err(template_err)?
        .render(context! {
            title,
            notes => Value::from(Serde(opts.notes)),
            coco => Value::from(Serde(coco)),
            timing,
            score_thr => op.score_thr.to_string(),
            iou_thr => op.iou_thr.to_string(),
            classes => Value::from(Serde(classes)),
            overall => Value::from(Serde(overall)),
            iou,
            figures => Value::from(Serde(figures)),
            confusion => context! {
                labels => Value::from(Serde(&cm.labels)),
                rows => Value::from(Serde(confusion_rows)),
            },
            warnings => Value::from(Serde(&summary.coco.warnings)),
        })
        // minijinja drops the template's final newline; the file ends with one.
        .map(|page| page + "\n")
        .map_err(template_err)
}
