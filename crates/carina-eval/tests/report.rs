//! The HTML report: self-contained, escaped, with every figure inlined.

use carina_eval::plot::LossRecord;
use carina_eval::report::{InferenceTiming, ReportOptions, html_report};
use carina_eval::summarize;
use carina_eval::synthetic::{SynthSpec, generate};

#[test]
fn report_is_self_contained_and_escapes_names() {
    let (mut gt, dets) = generate(&SynthSpec {
        images: 40,
        detections: 200,
        classes: 3,
        seed: 5,
        ..SynthSpec::default()
    });
    gt.categories[0].name = "<script>alert(1)</script>".into();
    let summary = summarize(&gt, &dets, 0.5).unwrap();
    let notes = vec!["synthetic data & <b>not</b> a model".to_owned()];
    let log: Vec<LossRecord> = (1..30)
        .map(|s| LossRecord {
            step: s,
            losses: vec![("total".into(), 1.0 / s as f64)],
        })
        .collect();
    let html = html_report(
        &summary,
        &ReportOptions {
            title: "run \"7\"",
            notes: &notes,
            timing: Some(InferenceTiming {
                images: 40,
                median_ms: 12.5,
                p95_ms: 20.0,
            }),
            loss_log: Some(&log),
        },
    )
    .unwrap();
    assert!(!html.contains("<script>"), "unescaped class name");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("synthetic data &amp; &lt;b&gt;not&lt;/b&gt;"));
    assert!(html.contains("run &quot;7&quot;"));
    // PR, ROC, confusion and loss figures, all inline; nothing fetched from elsewhere.
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 4);
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("median 12.5 ms"));
}
