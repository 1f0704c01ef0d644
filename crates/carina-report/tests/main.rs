//! Black-box tests of the report outputs (HTML, PDF, FHIR) on a sample report.

mod fhir;
mod html;
mod pdf;

use carina_core::BBox;
use carina_report::{
    ChestGeometry, FoundBy, Report, ReportContent, ReportDraft, ReportFinding, ReportImage,
    ReportSubject,
};

/// A drawn stand-in for a PA chest radiograph (bright body, two dark lung
/// fields): synthetic, made here, so the tests need no files.
pub fn sample_image() -> ReportImage {
    let (w, h) = (800u32, 900u32);
    let mut px = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let lung = |cx: f64| ((fx - cx) / 170.0).powi(2) + ((fy - 430.0) / 330.0).powi(2) < 1.0;
            let v = if lung(230.0) || lung(570.0) {
                60.0 + fy / 20.0
            } else {
                190.0
            };
            px.push(v as u8);
        }
    }
    ReportImage::new("img-42", w, h, px).unwrap()
}

pub fn sample_draft(impression: &str) -> ReportDraft {
    let geo = ChestGeometry {
        image_id: "img-42".into(),
        lung_region: Some(BBox::new(60.0, 100.0, 740.0, 760.0).unwrap()),
        width: 800,
        height: 900,
        pixel_spacing_mm: Some([0.5, 0.5]),
    };
    let findings = vec![
        ReportFinding::new(
            "Nodule/Mass",
            BBox::new(120.0, 560.0, 200.0, 640.0).unwrap(),
            FoundBy::Both {
                model: "effdet-d0".into(),
                version: "3".into(),
                user: "dr-ann".into(),
            },
            Some(0.87),
            &geo,
        ),
        ReportFinding::new(
            "Pleural Effusion",
            BBox::new(560.0, 600.0, 730.0, 750.0).unwrap(),
            FoundBy::Radiologist {
                user: "dr-ann".into(),
            },
            None,
            &geo,
        ),
        ReportFinding::new(
            "Cardiomegaly",
            BBox::new(300.0, 420.0, 560.0, 700.0).unwrap(),
            FoundBy::Model {
                model: "effdet-d0".into(),
                version: "3".into(),
            },
            Some(0.41),
            &geo,
        ),
    ];
    let content = ReportContent {
        subject: ReportSubject {
            patient_pseudonym: Some("PSN-7f3a9c".into()),
            study_pseudonym: Some("ST-19b2".into()),
            image_ids: vec!["img-42".into()],
            image_names: Vec::new(),
            modality: Some("CR".into()),
            study_date: None,
        }
        .with_study_date("20240501")
        .unwrap(),
        findings,
        impression: impression.into(),
        no_finding: false,
        synthetic_model: true,
    };
    ReportDraft::new("rep-1", content).unwrap()
}

pub fn sample_signed() -> Report {
    sample_draft("Round opacity in the right lower zone; small left pleural effusion.")
        .sign("dr-ann", "2024-05-01T10:20:30Z")
        .unwrap()
}
