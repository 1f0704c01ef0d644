//! A self-contained HTML evaluation report: one file, figures inlined as
//! base64 PNG data URIs, no scripts, no external resources.
//!
//! Every piece of text that comes from the data (class names, titles, notes)
//! goes through [`escape`]; the page is otherwise fixed markup.

use crate::plot::{
    LossRecord, PlotError, Series, confusion_png, loss_curves_png, pr_curves_png, roc_curves_png,
};
use crate::summary::EvalSummary;
use std::fmt::Write as _;

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

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn num(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.4}"))
}

fn defined(v: f64) -> Option<f64> {
    (v > -1.0).then_some(v)
}

fn img(alt: &str, png: &[u8]) -> String {
    format!(
        "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
        escape(alt),
        base64(png)
    )
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

/// Builds the report page.
pub fn html_report(summary: &EvalSummary, opts: &ReportOptions<'_>) -> Result<String, PlotError> {
    let mut h = String::new();
    let title = if opts.title.is_empty() {
        "Carina evaluation report"
    } else {
        opts.title
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{t}</title><style>{CSS}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    for n in opts.notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(n));
    }
    h.push_str(
        "<p class=\"note\">Research tool output; these numbers make no claim of clinical validity.</p>\n",
    );

    h.push_str("<h2>COCO metrics</h2>\n<table><tr>");
    for n in crate::CocoStats::NAMES {
        let _ = write!(h, "<th>{n}</th>");
    }
    h.push_str("</tr><tr>");
    for v in summary.coco.stats.to_array() {
        let _ = write!(h, "<td>{}</td>", num(defined(v)));
    }
    h.push_str("</tr></table>\n");

    if let Some(t) = opts.timing {
        let _ = writeln!(
            h,
            "<h2>Inference time</h2>\n<p>{} images: median {:.1} ms, p95 {:.1} ms per image.</p>",
            t.images, t.median_ms, t.p95_ms
        );
    }

    let op = &summary.operating_point;
    let _ = writeln!(
        h,
        "<h2>Per class</h2>\n<p>Operating point: score ≥ {}, IoU ≥ {}. Accuracy is image-level \
         (an image is called positive for a class when it has a detection of that class above \
         the threshold).</p>",
        op.score_thr, op.iou_thr
    );
    h.push_str(
        "<table><tr><th>class</th><th>AP</th><th>AUC</th><th>TP</th><th>FP</th><th>FN</th>\
         <th>precision</th><th>recall</th><th>F1</th><th>accuracy</th><th>best-F1 threshold</th>\
         <th>best F1</th></tr>\n",
    );
    for (k, c) in op.per_class.iter().enumerate() {
        let b = &op.best_f1[k];
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.name),
            num(defined(summary.coco.per_class_ap[k])),
            num(summary.auc[k]),
            c.tp,
            c.fp,
            c.fn_,
            num(c.precision),
            num(c.recall),
            num(c.f1),
            num(c.accuracy),
            num(b.score_thr),
            num(b.f1)
        );
    }
    let o = &op.overall;
    let b = &op.best_f1_overall;
    let _ = writeln!(
        h,
        "<tr class=\"total\"><td>all</td><td></td><td></td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        o.tp,
        o.fp,
        o.fn_,
        num(o.precision),
        num(o.recall),
        num(o.f1),
        num(o.accuracy),
        num(b.score_thr),
        num(b.f1)
    );

    let i = &op.iou;
    let _ = writeln!(
        h,
        "<h2>IoU of matched pairs</h2>\n<p>n = {}, mean {}, median {}, quartiles {} – {}, range {} – {}.</p>",
        i.count,
        num(i.mean),
        num(i.median),
        num(i.p25),
        num(i.p75),
        num(i.min),
        num(i.max)
    );
    h.push_str("<table><tr><th>IoU from</th>");
    for e in &i.bin_edges {
        let _ = write!(h, "<td>{e:.2}</td>");
    }
    h.push_str("</tr><tr><th>pairs</th>");
    for c in &i.counts {
        let _ = write!(h, "<td>{c}</td>");
    }
    h.push_str("</tr></table>\n");

    h.push_str("<h2>Figures</h2>\n<div class=\"figs\">");
    h.push_str(&img(
        "precision-recall curves",
        &pr_curves_png(
            "Precision–recall at IoU 0.5 (interpolated)",
            &pr_series(summary),
        )?,
    ));
    h.push_str(&img(
        "ROC curves",
        &roc_curves_png("Image-level ROC per class", &roc_series(summary))?,
    ));
    h.push_str(&img(
        "confusion matrix",
        &confusion_png(&summary.confusion)?,
    ));
    if let Some(log) = opts.loss_log {
        h.push_str(&img(
            "loss curves",
            &loss_curves_png("Training losses", log)?,
        ));
    }
    h.push_str("</div>\n");

    let cm = &summary.confusion;
    h.push_str("<h2>Confusion matrix</h2>\n<p>Rows: ground truth; columns: detection.</p><table><tr><th></th>");
    for l in &cm.labels {
        let _ = write!(h, "<th>{}</th>", escape(l));
    }
    h.push_str("</tr>\n");
    for (l, row) in cm.labels.iter().zip(&cm.counts) {
        let _ = write!(h, "<tr><th>{}</th>", escape(l));
        for v in row {
            let _ = write!(h, "<td>{v}</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    for w in &summary.coco.warnings {
        let _ = writeln!(h, "<p class=\"warn\">warning: {}</p>", escape(w));
    }
    h.push_str("</body></html>\n");
    Ok(h)
}

const CSS: &str = "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}\
th{background:#f3f3f3}td:first-child{text-align:left}\
tr.total td{font-weight:bold}.note{color:#555}.warn{color:#a40}\
.figs img{max-width:100%;display:block;margin:1em 0;border:1px solid #eee}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
