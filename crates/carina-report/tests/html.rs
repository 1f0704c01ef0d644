//! The HTML page: content, escaping, self-contained thumbnail.

use carina_report::{SYNTHETIC_DISCLAIMER, render_html};

use crate::{sample_draft, sample_image, sample_signed};

#[test]
fn html_has_table_thumbnail_signature_and_disclaimer() {
    let html = render_html(&sample_signed(), &[sample_image()]).unwrap();
    assert!(html.contains(SYNTHETIC_DISCLAIMER));
    // minijinja escapes "/" as well.
    assert!(
        html.contains(
            "<td>Nodule&#x2f;Mass</td><td>right lower zone, peripheral</td><td class=\"nowrap\">40 × 40 mm</td>"
        ),
        "{html}"
    );
    assert!(html.contains("model effdet-d0 v3 + radiologist dr-ann"));
    assert!(html.contains("<td>0.87</td>"));
    assert!(html.contains("Signed by dr-ann at 2024-05-01T10:20:30Z"));
    assert!(html.contains("src=\"data:image/png;base64,iVBORw0KGgo"));
    // Self-contained: no external resources.
    assert!(!html.contains("src=\"http") && !html.contains("href="));
}

#[test]
fn user_text_is_escaped() {
    let evil = "<script>alert('x')</script> & \"quotes\"";
    let report = sample_draft(evil)
        .sign("dr-<b>ann</b>", "2024-05-01T10:20:30Z")
        .unwrap();
    let html = render_html(&report, &[]).unwrap();
    assert!(!html.contains("<script>"));
    assert!(!html.contains("<b>ann"));
    assert!(
        html.contains(
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; &quot;quotes&quot;"
        ),
        "{html}"
    );
}

#[test]
fn draft_and_amendment_are_marked() {
    let draft = sample_draft("Preliminary.");
    let html = render_html(&draft.preview(), &[]).unwrap();
    assert!(html.contains("Draft — not signed"));
    assert!(html.contains("Not signed (draft)."));
    let v2 = sample_signed()
        .amend("rep-2")
        .unwrap()
        .sign("dr-bob", "2024-05-02T09:00:00Z")
        .unwrap();
    let html = render_html(&v2, &[]).unwrap();
    assert!(html.contains("Amended (signed)"));
    assert!(html.contains("version 2 (amends report rep-1)"));
    assert!(html.contains("Version 2, amending report rep-1."));
}

#[test]
fn study_report_shows_one_thumbnail_per_image_and_names_the_image() {
    let mut draft = sample_draft("Two views.");
    draft.content.subject.image_ids.push("img-43".into());
    draft.content.findings[1].image_id = "img-43".into();
    let report = draft.sign("dr-ann", "2024-05-01T10:20:30Z").unwrap();
    let second = carina_report::ReportImage::new("img-43", 40, 30, vec![90; 1200]).unwrap();
    let html = render_html(&report, &[sample_image(), second]).unwrap();
    assert_eq!(html.matches("<figure>").count(), 2);
    assert!(html.contains("Image img-43."));
    assert!(html.contains("left lower zone, peripheral (image img-43)"));
    assert!(html.contains("right lower zone, peripheral (image img-42)"));
}
