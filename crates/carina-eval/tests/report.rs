//! The HTML report: self-contained, escaped, with every figure inlined.

use base64::Engine as _;
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
    // minijinja's HTML escaping (which also writes '/' as &#x2f;).
    assert!(!html.contains("<script>"), "unescaped class name");
    assert!(html.contains("<td>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</td>"));
    assert!(html.contains("<th>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</th>"));
    assert!(html.contains("synthetic data &amp; &lt;b&gt;not&lt;&#x2f;b&gt;"));
    assert!(html.contains("<title>run &quot;7&quot;</title>"));
    // PR, ROC, confusion and loss figures, all inline; nothing fetched from elsewhere.
    let figures: Vec<&str> = html
        .split("src=\"data:image/png;base64,")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(figures.len(), 4);
    for b64 in figures {
        // The payload is written as is (not escaped) and decodes to a PNG.
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("plain base64");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("median 12.5 ms"));
}
