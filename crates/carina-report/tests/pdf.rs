//! The PDF: file structure parsed here, text in the content streams, and
//! (where poppler's `pdftotext` is installed) the text a reader extracts.

use std::process::Command;

use carina_report::{SYNTHETIC_DISCLAIMER, render_pdf};

use crate::{sample_image, sample_signed};

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

fn number_after(pdf: &[u8], at: usize) -> usize {
    let digits: String = pdf[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits.parse().unwrap()
}

/// Checks the trailer and xref table and returns the inflated streams.
fn parse_structure(pdf: &[u8]) -> Vec<Vec<u8>> {
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let sx = *find_all(pdf, b"startxref").last().unwrap();
    let xref = number_after(pdf, sx + 9);
    assert!(pdf[xref..].starts_with(b"xref\n0 "));
    let table = String::from_utf8(pdf[xref..sx].to_vec()).unwrap();
    let mut lines = table.lines().skip(1);
    let count: usize = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(lines.next().unwrap().starts_with("0000000000 65535 f"));
    for n in 1..count {
        let e = lines.next().unwrap();
        assert_eq!(e.len(), 19, "xref entries are 20 bytes with the newline");
        let off: usize = e[..10].parse().unwrap();
        assert!(
            pdf[off..].starts_with(format!("{n} 0 obj\n").as_bytes()),
            "object {n}"
        );
    }
    let trailer = &table[table.find("trailer").unwrap()..];
    assert!(trailer.contains(&format!("/Size {count}")));
    assert!(trailer.contains("/Root 1 0 R"));
    // Streams: /Length must match the bytes between stream and endstream.
    let mut streams = Vec::new();
    for start in find_all(pdf, b"stream\n") {
        if start >= 3 && &pdf[start - 3..start] == b"end" {
            continue;
        }
        let dict_start = pdf[..start].windows(2).rposition(|w| w == b"<<").unwrap();
        let len_at = find_all(&pdf[dict_start..start], b"/Length ")[0] + dict_start + 8;
        let len = number_after(pdf, len_at);
        let data = &pdf[start + 7..start + 7 + len];
        assert!(pdf[start + 7 + len..].starts_with(b"\nendstream"));
        streams
            .push(miniz_oxide::inflate::decompress_to_vec_zlib(data).expect("valid Flate stream"));
    }
    streams
}

#[test]
fn pdf_structure_text_font_and_image() {
    let pdf = render_pdf(&sample_signed(), &[sample_image()]).unwrap();
    let streams = parse_structure(&pdf);
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/Subtype /TrueType /BaseFont /DejaVuSans"));
    assert!(text.contains("/FontFile2"));
    assert!(text.contains("/Subtype /Image"));
    // The embedded font file is the whole TrueType file.
    assert!(
        streams
            .iter()
            .any(|s| s.len() > 700_000 && s.starts_with(&[0, 1, 0, 0]))
    );
    let content: String = streams
        .iter()
        .filter(|s| s.starts_with(b"BT "))
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    for needle in [
        "(Nodule/Mass)",
        "(right lower zone, peripheral)",
        "(Pleural Effusion)",
        "(Signed by dr-ann at 2024-05-01T10:20:30Z)",
        "/Im1 Do",
        "(Image img-42. Boxes are numbered as in the findings table.)",
    ] {
        assert!(content.contains(needle), "{needle} missing");
    }
    // '×' is WinAnsi 0xD7, written in octal.
    assert!(content.contains("(40 \\327 40 mm)"));
    if let Ok(path) = std::env::var("CARINA_REPORT_PDF_OUT") {
        std::fs::write(path, &pdf).unwrap();
    }
}

#[test]
fn pdftotext_extracts_the_findings_when_installed() {
    let Ok(out) = Command::new("pdftotext").arg("-v").output() else {
        eprintln!(
            "pdftotext not installed; structure checked by pdf_structure_text_font_and_image"
        );
        return;
    };
    assert!(out.status.success() || !out.stderr.is_empty());
    let v2 = sample_signed()
        .amend("rep-2")
        .unwrap()
        .sign("dr-bob", "2024-05-02T09:00:00Z")
        .unwrap();
    let pdf = render_pdf(&v2, &[sample_image()]).unwrap();
    let path = std::env::temp_dir().join(format!("carina-report-test-{}.pdf", std::process::id()));
    std::fs::write(&path, &pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        SYNTHETIC_DISCLAIMER,
        "Chest radiograph report",
        "Amended (signed) — report rep-2, version 2 (amends report rep-1)",
        "Nodule/Mass",
        "right lower zone, peripheral",
        "40 × 40 mm",
        // "Found by" wraps within its column.
        "model effdet-d0 v3 +",
        "radiologist dr-ann",
        "0.87",
        "Pleural Effusion",
        "Signed by dr-bob at 2024-05-02T09:00:00Z",
        "Round opacity in the right lower zone",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} not in extracted text:\n{text}"
        );
    }
}

#[test]
fn long_reports_flow_onto_more_pages_and_odd_characters_do_not_break_the_pdf() {
    let long = format!(
        "{} Unicode outside WinAnsi: 漢字 → ✓; PDF syntax: (a) \\ [b] <c> %d.",
        "The heart size is within normal limits; no pneumothorax. ".repeat(120)
    );
    let report = crate::sample_draft(&long)
        .sign("dr-ann", "2024-05-01T10:20:30Z")
        .unwrap();
    let pdf = render_pdf(&report, &[sample_image()]).unwrap();
    let streams = parse_structure(&pdf);
    let text = String::from_utf8_lossy(&pdf);
    let count: usize = text
        .split("/Type /Pages")
        .nth(1)
        .and_then(|t| t.split("/Count ").nth(1))
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.trim_end_matches(">>").trim().parse().ok())
        .unwrap();
    assert!(count >= 2, "{count} pages");
    let content: String = streams
        .iter()
        .filter(|s| s.starts_with(b"BT ") || s.starts_with(b"q "))
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert!(content.contains(&format!("page {count} of {count}")));
    // Characters outside the encoding become '?'; PDF delimiters are escaped.
    assert!(
        content.contains("?? ? ?; PDF syntax: \\(a\\) \\\\ [b] <c> %d."),
        "escaping"
    );
}
