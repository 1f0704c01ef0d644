//! The PDF: file structure parsed here, the text decoded here through the
//! font's ToUnicode CMap, and the text poppler's `pdftotext` extracts
//! (poppler-utils; `scripts/test.sh` installs it).

use std::collections::HashMap;
use std::process::Command;

use carina_report::{ReportImage, SYNTHETIC_DISCLAIMER, render_pdf};

use crate::{sample_draft, sample_image, sample_signed};

/// A one-page report with its thumbnail stays under this many bytes.
const ONE_PAGE_LIMIT: usize = 150 * 1024;

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

/// Checks the header, trailer and xref table and returns the inflated
/// streams (every stream is Flate-compressed but the thumbnails, which are
/// JPEG: those are checked to be one and left out).
fn parse_structure(pdf: &[u8]) -> Vec<Vec<u8>> {
    assert!(pdf.starts_with(b"%PDF-1."));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
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
        assert_eq!(e.trim_end().len(), 18, "xref entry {e:?}");
        let off: usize = e[..10].parse().unwrap();
        assert!(
            pdf[off..].starts_with(format!("{n} 0 obj").as_bytes()),
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
        let obj = *find_all(&pdf[..start], b" 0 obj").last().unwrap();
        let dict = &pdf[obj..start];
        let len = number_after(pdf, obj + find_all(dict, b"/Length ")[0] + 8);
        let data = &pdf[start + 7..start + 7 + len];
        let after = &pdf[start + 7 + len..];
        assert!(after.starts_with(b"\nendstream") || after.starts_with(b"endstream"));
        if find_all(dict, b"/DCTDecode").len() == 1 {
            assert_eq!(
                find_all(dict, b"/Subtype /Image").len(),
                1,
                "only images are JPEG"
            );
            assert!(
                data.starts_with(&[0xFF, 0xD8]) && data.ends_with(&[0xFF, 0xD9]),
                "a JPEG"
            );
            continue;
        }
        assert_eq!(find_all(dict, b"/FlateDecode").len(), 1, "compressed");
        streams
            .push(miniz_oxide::inflate::decompress_to_vec_zlib(data).expect("valid Flate stream"));
    }
    streams
}

/// Hex digits of a `<…>` CMap token as a number.
fn hex(token: &str) -> u32 {
    u32::from_str_radix(token.trim_matches(['<', '>']), 16).unwrap()
}

/// CID → text from the ToUnicode CMap (`bfchar` entries, UTF-16BE values).
fn to_unicode(streams: &[Vec<u8>]) -> HashMap<u16, String> {
    let cmaps: Vec<String> = streams
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|s| s.contains("begincmap"))
        .collect();
    assert_eq!(cmaps.len(), 1, "one ToUnicode CMap");
    let mut map = HashMap::new();
    let mut in_bfchar = false;
    for line in cmaps[0].lines() {
        let line = line.trim();
        if line.ends_with("beginbfchar") {
            in_bfchar = true;
        } else if line == "endbfchar" {
            in_bfchar = false;
        } else if in_bfchar {
            let (cid, text) = line.split_once(' ').unwrap();
            let units: Vec<u16> = text
                .trim()
                .trim_matches(['<', '>'])
                .as_bytes()
                .chunks(4)
                .map(|c| hex(std::str::from_utf8(c).unwrap()) as u16)
                .collect();
            map.insert(hex(cid) as u16, String::from_utf16(&units).unwrap());
        } else {
            assert!(!line.contains("bfrange"), "only bfchar entries expected");
        }
    }
    map
}

/// The operand of each `Tj` in a content stream: a literal `(…)` or hex
/// `<…>` string, as bytes.
fn shown_strings(content: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < content.len() {
        let (bytes, end) = match content[i] {
            b'(' => {
                let (mut s, mut depth, mut j) = (Vec::new(), 1, i + 1);
                while depth > 0 {
                    match content[j] {
                        b'\\' => {
                            j += 1;
                            match content[j] {
                                b'n' => s.push(b'\n'),
                                b'r' => s.push(b'\r'),
                                b't' => s.push(b'\t'),
                                b'b' => s.push(8),
                                b'f' => s.push(12),
                                d @ b'0'..=b'7' => {
                                    // Up to three octal digits.
                                    let mut v = u32::from(d - b'0');
                                    for _ in 0..2 {
                                        match content.get(j + 1) {
                                            Some(&o @ b'0'..=b'7') => {
                                                j += 1;
                                                v = v * 8 + u32::from(o - b'0');
                                            }
                                            _ => break,
                                        }
                                    }
                                    s.push(v as u8);
                                }
                                other => s.push(other),
                            }
                        }
                        b'(' => {
                            depth += 1;
                            s.push(b'(');
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                s.push(b')');
                            }
                        }
                        b => s.push(b),
                    }
                    j += 1;
                }
                (s, j)
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let close = i + content[i..].iter().position(|&b| b == b'>').unwrap();
                let digits: Vec<u8> = content[i + 1..close]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                let s = digits
                    .chunks(2)
                    .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
                    .collect();
                (s, close + 1)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        if content[end..].trim_ascii_start().starts_with(b"Tj") {
            out.push(bytes);
        }
        i = end;
    }
    out
}

/// The text of the page content streams, one line per `Tj`, decoded
/// through the ToUnicode CMap (so it is exactly what a reader extracts).
fn decoded_text(streams: &[Vec<u8>]) -> String {
    let map = to_unicode(streams);
    let mut lines = Vec::new();
    for s in streams.iter().filter(|s| s.starts_with(b"BT")) {
        for cids in shown_strings(s) {
            assert_eq!(cids.len() % 2, 0, "2-byte CIDs (Identity-H)");
            let line: String = cids
                .chunks(2)
                .map(|c| map[&u16::from_be_bytes([c[0], c[1]])].as_str())
                .collect();
            lines.push(line);
        }
    }
    lines.join("\n")
}

fn page_count(pdf: &[u8]) -> usize {
    let at = find_all(pdf, b"/Count ");
    assert_eq!(at.len(), 1, "one page tree node");
    number_after(pdf, at[0] + 7)
}

/// The text poppler extracts (`pdftotext -layout`).
fn pdftotext(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!(
        "carina-report-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed; scripts/test.sh installs it");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pdf_structure_text_font_and_image() {
    let pdf = render_pdf(&sample_signed(), &[sample_image()]).unwrap();
    let streams = parse_structure(&pdf);
    let text = String::from_utf8_lossy(&pdf);
    for needle in [
        "/Subtype /Type0",
        "/Encoding /Identity-H",
        "/ToUnicode",
        "/Subtype /CIDFontType2",
        "/CIDToGIDMap /Identity",
        "/FontFile2",
        "/Subtype /Image",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
    // A subset font: a six-letter tag before the name, and a font program
    // far smaller than the 757 KB file.
    let at = text.find("/BaseFont /").unwrap() + 11;
    let name = &text[at..at + 17];
    assert!(name.ends_with("+DejaVuSans"), "{name}");
    assert!(name[..6].bytes().all(|b| b.is_ascii_uppercase()), "{name}");
    let programs: Vec<&Vec<u8>> = streams
        .iter()
        .filter(|s| s.starts_with(&[0, 1, 0, 0]))
        .collect();
    assert_eq!(programs.len(), 1);
    assert!(programs[0].len() < 60_000, "{} bytes", programs[0].len());
    assert!(pdf.len() < ONE_PAGE_LIMIT, "{} bytes", pdf.len());
    assert_eq!(page_count(&pdf), 1);
    let content: String = streams
        .iter()
        .filter(|s| s.starts_with(b"BT"))
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert!(content.contains("/Im1 Do"));
    let decoded = decoded_text(&streams);
    for needle in [
        "Nodule/Mass",
        "right lower zone, peripheral",
        "Pleural Effusion",
        "Signed by dr-ann at 2024-05-01T10:20:30Z",
        "Image img-42. Boxes are numbered as in the findings table.",
        "40 × 40 mm",
        "Patient (pseudonym): PSN-7f3a9c",
    ] {
        assert!(
            decoded.lines().any(|l| l == needle || l.ends_with(needle)),
            "{needle} missing in\n{decoded}"
        );
    }
    if let Ok(path) = std::env::var("CARINA_REPORT_PDF_OUT") {
        std::fs::write(path, &pdf).unwrap();
    }
}

#[test]
fn pdftotext_extracts_the_findings() {
    let v2 = sample_signed()
        .amend("rep-2")
        .unwrap()
        .sign("dr-bob", "2024-05-02T09:00:00Z")
        .unwrap();
    let text = pdftotext(&render_pdf(&v2, &[sample_image()]).unwrap());
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
fn greek_and_cyrillic_are_real_text_and_missing_glyphs_show_as_replacement() {
    let mut draft = sample_draft(
        "Пневмоторакс справа. Πνευμοθώρακας δεξιά. Ελληνικά και кириллица. Kanji 漢字 (no glyph).",
    );
    draft.content.subject.patient_pseudonym = Some("Пациент-Ωμέγα-7f3a".into());
    let report = draft.sign("dr-ann", "2024-05-01T10:20:30Z").unwrap();
    let pdf = render_pdf(&report, &[sample_image()]).unwrap();
    assert!(pdf.len() < ONE_PAGE_LIMIT, "{} bytes", pdf.len());
    assert_eq!(page_count(&pdf), 1);
    let decoded = decoded_text(&parse_structure(&pdf));
    let extracted = pdftotext(&pdf);
    for text in [&decoded, &extracted] {
        // Lines wrap at spaces: compare with all whitespace as one space.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            "Пневмоторакс справа",
            "Πνευμοθώρακας δεξιά",
            "Ελληνικά και кириллица",
            "Patient (pseudonym): Пациент-Ωμέγα-7f3a",
            // No CJK glyph in DejaVu Sans: U+FFFD, visibly, never '?'.
            "Kanji \u{FFFD}\u{FFFD} (no glyph)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
        assert!(!text.contains('?'), "no character became '?':\n{text}");
    }
}

#[test]
fn long_reports_flow_onto_more_pages_and_odd_characters_do_not_break_the_pdf() {
    let long = format!(
        "{} Beyond Latin-1: Ω → ✓ 漢; PDF syntax: (a) \\ [b] <c> %d ((x).",
        "The heart size is within normal limits; no pneumothorax. ".repeat(120)
    );
    let report = sample_draft(&long)
        .sign("dr-ann", "2024-05-01T10:20:30Z")
        .unwrap();
    let pdf = render_pdf(&report, &[sample_image()]).unwrap();
    let streams = parse_structure(&pdf);
    let count = page_count(&pdf);
    assert!(count >= 2, "{count} pages");
    let decoded = decoded_text(&streams);
    assert!(decoded.contains(&format!("page {count} of {count}")));
    // Lines are wrapped at spaces, so joining them gives the text back;
    // PDF delimiters in the text survive as text.
    assert!(
        decoded
            .replace('\n', " ")
            .contains("Beyond Latin-1: Ω → ✓ \u{FFFD}; PDF syntax: (a) \\ [b] <c> %d ((x)."),
        "{decoded}"
    );
}

#[test]
fn a_real_radiograph_keeps_a_one_page_report_under_150_kb() {
    // NIH ChestX-ray14 samples (1024 px PNGs; ../shared/data/README.md). The
    // thumbnail is a JPEG: about 55 KB for the whole one-page PDF.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples/png");
    for name in ["00000001_000.png", "00027426_000.png"] {
        let gray = image::open(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .to_luma8();
        let (w, h) = gray.dimensions();
        let img = ReportImage::new("img-42", w, h, gray.into_raw()).unwrap();
        let pdf = render_pdf(&sample_signed(), &[img]).unwrap();
        parse_structure(&pdf);
        assert_eq!(page_count(&pdf), 1, "{name}");
        assert!(pdf.len() < ONE_PAGE_LIMIT, "{name}: {} bytes", pdf.len());
        let text = pdftotext(&pdf);
        assert!(text.contains("Pleural Effusion"), "{name}: {text}");
    }
}
