//! Writes a sample report (HTML, PDF, FHIR JSON) for an 8-bit binary PGM
//! radiograph, to look at the outputs by eye:
//! `cargo run -p carina-report --example report_demo -- IMAGE.pgm OUT_DIR`.
//! The findings are made up for the demonstration; they describe nothing in
//! the image.

use std::path::PathBuf;

use carina_core::BBox;
use carina_report::{
    ChestGeometry, FoundBy, ReportContent, ReportDraft, ReportFinding, ReportImage, ReportSubject,
    render_html, render_pdf, to_fhir,
};

/// Binary PGM (`P5`, maxval 255) → width, height, pixels.
fn read_pgm(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if start == pos {
            return Err("truncated PGM header".into());
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
    }
    if fields[0] != "P5" || fields[3] != "255" {
        return Err("only 8-bit binary PGM (P5, maxval 255) is read".into());
    }
    let w: u32 = fields[1].parse().map_err(|_| "bad width")?;
    let h: u32 = fields[2].parse().map_err(|_| "bad height")?;
    let data = bytes.get(pos + 1..).ok_or("no pixel data")?.to_vec();
    Ok((w, h, data))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, out] = args.as_slice() else {
        return Err("usage: report_demo IMAGE.pgm OUT_DIR".into());
    };
    let (w, h, px) = read_pgm(&std::fs::read(image)?)?;
    let img = ReportImage::new("demo-1", w, h, px)?;
    let (fw, fh) = (f64::from(w), f64::from(h));
    let geo = ChestGeometry {
        image_id: "demo-1".into(),
        lung_region: None,
        width: w,
        height: h,
        pixel_spacing_mm: Some([0.143 * 2048.0 / fh, 0.143 * 2048.0 / fw]),
    };
    let b = |x0: f64, y0: f64, x1: f64, y1: f64| BBox::new(x0 * fw, y0 * fh, x1 * fw, y1 * fh);
    let content = ReportContent {
        subject: ReportSubject {
            patient_pseudonym: Some("PSN-demo".into()),
            study_pseudonym: None,
            image_ids: vec!["demo-1".into()],
            image_names: Vec::new(),
            modality: None,
            study_date: None,
        },
        findings: vec![
            ReportFinding::new(
                "Nodule/Mass",
                b(0.22, 0.55, 0.30, 0.63)?,
                FoundBy::Both {
                    model: "effdet-d0".into(),
                    version: "1".into(),
                    user: "demo".into(),
                },
                Some(0.81),
                &geo,
            ),
            ReportFinding::new(
                "Pleural Effusion",
                b(0.62, 0.70, 0.85, 0.85)?,
                FoundBy::Radiologist {
                    user: "demo".into(),
                },
                None,
                &geo,
            ),
        ],
        impression: "Demonstration only: made-up findings <not> from this image.".into(),
        no_finding: false,
        synthetic_model: true,
    };
    let report = ReportDraft::new("demo", content)?.sign("demo", "2026-01-01T12:00:00Z")?;
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    let pdf = render_pdf(&report, std::slice::from_ref(&img))?;
    std::fs::write(out.join("report.html"), render_html(&report, &[img])?)?;
    std::fs::write(
        out.join("report.fhir.json"),
        serde_json::to_string_pretty(&to_fhir(&report, Some(&pdf)))?,
    )?;
    std::fs::write(out.join("report.pdf"), pdf)?;
    println!(
        "wrote report.html, report.pdf, report.fhir.json to {}",
        out.display()
    );
    Ok(())
}
