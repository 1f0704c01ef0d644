//! Signing, amending and the immutability rules.

use super::*;

fn content() -> ReportContent {
    let g = ChestGeometry {
        image_id: "img-1".into(),
        lung_region: None,
        width: 1000,
        height: 1000,
        pixel_spacing_mm: Some([0.2, 0.2]),
    };
    ReportContent {
        subject: ReportSubject {
            patient_pseudonym: Some("P-7f3a".into()),
            image_ids: vec!["img-1".into()],
            image_names: Vec::new(),
            modality: Some("CR".into()),
            ..Default::default()
        }
        .with_study_date("20240501")
        .unwrap(),
        findings: vec![ReportFinding::new(
            "Nodule/Mass",
            BBox::new(100.0, 700.0, 200.0, 800.0).unwrap(),
            FoundBy::Model {
                model: "effdet-d0".into(),
                version: "3".into(),
            },
            Some(0.87),
            &g,
        )],
        impression: "Right lower zone nodule.".into(),
        no_finding: false,
        synthetic_model: true,
    }
}

#[test]
fn sign_then_amend_keeps_both_versions() {
    let draft = ReportDraft::new("r1", content()).unwrap();
    assert_eq!(draft.preview().status(), ReportStatus::Draft);
    let v1 = draft.sign("dr-ann", "2024-05-01T10:20:30Z").unwrap();
    assert_eq!(v1.status(), ReportStatus::Signed);
    assert_eq!(v1.findings()[0].location, "right lower zone, peripheral");
    assert_eq!(v1.findings()[0].size_mm, Some((20.0, 20.0)));
    assert_eq!(v1.subject().study_date.as_deref(), Some("2024-05-01"));

    let mut d2 = v1.amend("r2").unwrap();
    assert_eq!((d2.version(), d2.amends()), (2, Some("r1")));
    d2.content.impression = "Amended: nodule, follow-up advised.".into();
    let v2 = d2.sign("dr-bob", "2024-05-02T08:00:00+02:00").unwrap();
    assert_eq!(v2.status(), ReportStatus::Amended);
    // The first version is untouched.
    assert_eq!(v1.impression(), "Right lower zone nodule.");
    assert_eq!(v1.signed_by(), Some("dr-ann"));
    assert_eq!(v2.version(), 2);
    assert_eq!(v1.disclaimer(), SYNTHETIC_DISCLAIMER);

    // A preview is not signed, so it cannot be amended.
    assert_eq!(
        ReportDraft::new("r3", content())
            .unwrap()
            .preview()
            .amend("r4"),
        Err(ReportError::NotSigned)
    );
}

#[test]
fn signing_rules() {
    let mut c = content();
    c.impression = "  ".into();
    assert_eq!(
        ReportDraft::new("r1", c.clone())
            .unwrap()
            .sign("a", "2024-05-01T10:20:30Z"),
        Err(ReportError::EmptyImpression)
    );
    c.no_finding = true;
    assert_eq!(
        ReportDraft::new("r1", c.clone())
            .unwrap()
            .sign("a", "2024-05-01T10:20:30Z"),
        Err(ReportError::NoFindingWithFindings)
    );
    c.findings.clear();
    assert!(
        ReportDraft::new("r1", c.clone())
            .unwrap()
            .sign("a", "2024-05-01T10:20:30Z")
            .is_ok()
    );
    assert_eq!(
        ReportDraft::new("r1", c.clone())
            .unwrap()
            .sign(" ", "2024-05-01T10:20:30Z"),
        Err(ReportError::NoSigner)
    );
    assert!(matches!(
        ReportDraft::new("r1", c.clone())
            .unwrap()
            .sign("a", "yesterday"),
        Err(ReportError::BadInstant(_))
    ));
    assert!(matches!(
        ReportDraft::new("bad id/..", c),
        Err(ReportError::BadId(_))
    ));
    assert!(matches!(
        ReportSubject::default().with_study_date("2024-13-01"),
        Err(ReportError::BadDate(_))
    ));
}

#[test]
fn found_by_from_provenance_and_status() {
    let m = Provenance::Model {
        model: "d0".into(),
        version: "1".into(),
    };
    let r = Provenance::Radiologist { user: "ann".into() };
    assert!(matches!(
        FoundBy::from_box(&m, BoxStatus::Accepted, Some("ann")),
        FoundBy::Both { .. }
    ));
    assert!(matches!(
        FoundBy::from_box(&m, BoxStatus::Proposed, Some("ann")),
        FoundBy::Model { .. }
    ));
    assert_eq!(
        FoundBy::from_box(&r, BoxStatus::Manual, None),
        FoundBy::Radiologist { user: "ann".into() }
    );
    assert_eq!(
        FoundBy::from_box(&m, BoxStatus::Edited, Some("ann")).describe(),
        "model d0 v1 + radiologist ann"
    );
}

#[test]
fn stored_json_round_trips_and_is_checked() {
    let v1 = ReportDraft::new("r1", content())
        .unwrap()
        .sign("dr-ann", "2024-05-01T10:20:30Z")
        .unwrap();
    let json = serde_json::to_string(&v1).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v1);
    // Claiming a signature with a malformed time is refused on reading.
    let forged = json.replace("2024-05-01T10:20:30Z", "soon");
    assert!(serde_json::from_str::<Report>(&forged).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["signed_at"] = serde_json::Value::Null;
    assert!(serde_json::from_value::<Report>(v).is_err());
}
