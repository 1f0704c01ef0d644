//! FHIR R4 DiagnosticReport export, checked by the structural validator.

use base64::Engine;
use carina_report::fhir::{to_fhir, validate_diagnostic_report};
use carina_report::render_pdf;
use serde_json::json;

use crate::{sample_draft, sample_image, sample_signed};

#[test]
fn signed_report_exports_a_valid_final_diagnostic_report() {
    let r = sample_signed();
    let pdf = render_pdf(&r, &[sample_image()]).unwrap();
    let v = to_fhir(&r, Some(&pdf));
    validate_diagnostic_report(&v).unwrap();
    assert_eq!(v["resourceType"], "DiagnosticReport");
    assert_eq!(v["status"], "final");
    assert_eq!(v["code"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(v["code"]["coding"][0]["code"], "18748-4");
    assert_eq!(v["subject"]["reference"], "Patient/PSN-7f3a9c");
    assert_eq!(v["effectiveDateTime"], "2024-05-01");
    assert_eq!(v["issued"], "2024-05-01T10:20:30Z");
    assert_eq!(v["performer"][0]["display"], "dr-ann");
    assert_eq!(v["conclusion"], r.impression());
    assert_eq!(v["conclusionCode"].as_array().unwrap().len(), 3);
    let first = v["conclusionCode"][0]["text"].as_str().unwrap();
    assert!(
        first.starts_with("Nodule/Mass, right lower zone, peripheral, 40 × 40 mm"),
        "{first}"
    );
    let att = &v["presentedForm"][0];
    assert_eq!(att["contentType"], "application/pdf");
    let back = base64::engine::general_purpose::STANDARD
        .decode(att["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(back, pdf);
}

#[test]
fn draft_is_preliminary_and_amendment_is_amended() {
    let draft = sample_draft("Preliminary impression.");
    let v = to_fhir(&draft.preview(), None);
    validate_diagnostic_report(&v).unwrap();
    assert_eq!(v["status"], "preliminary");
    assert!(v.get("issued").is_none() && v.get("presentedForm").is_none());

    let v2 = sample_signed()
        .amend("rep-2")
        .unwrap()
        .sign("dr-bob", "2024-05-02T09:00:00+02:00")
        .unwrap();
    let v = to_fhir(&v2, None);
    validate_diagnostic_report(&v).unwrap();
    assert_eq!(v["status"], "amended");
    assert_eq!(v["id"], "rep-2");
}

#[test]
fn pseudonym_that_is_not_an_id_becomes_an_identifier_reference() {
    let mut d = sample_draft("x");
    d.content.subject.patient_pseudonym = Some("PSN 7f3a/9c".into());
    let v = to_fhir(&d.sign("a", "2024-05-01T10:20:30Z").unwrap(), None);
    validate_diagnostic_report(&v).unwrap();
    assert_eq!(v["subject"]["identifier"]["value"], "PSN 7f3a/9c");
    assert!(v["subject"].get("reference").is_none());
}

#[test]
fn validator_rejects_what_the_standard_forbids() {
    let good = to_fhir(&sample_signed(), Some(b"%PDF-1.4"));
    validate_diagnostic_report(&good).unwrap();
    let broken = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        validate_diagnostic_report(&v).unwrap_err()
    };
    assert!(
        broken(&|v| {
            v.as_object_mut().unwrap().remove("status");
        })[0]
            .contains("status is required")
    );
    assert!(broken(&|v| v["status"] = json!("signed"))[0].contains("value set"));
    assert!(
        broken(&|v| {
            v.as_object_mut().unwrap().remove("code");
        })[0]
            .contains("code is required")
    );
    assert!(broken(&|v| v["resourceType"] = json!("Observation"))[0].contains("resourceType"));
    assert!(broken(&|v| v["issued"] = json!("2024-05-01"))[0].contains("instant"));
    assert!(broken(&|v| v["effectiveDateTime"] = json!("01/05/2024"))[0].contains("dateTime"));
    assert!(broken(&|v| v["conclusion"] = json!(""))[0].contains("empty string"));
    assert!(broken(&|v| v["conclusionCode"] = json!([]))[0].contains("empty array"));
    assert!(broken(&|v| v["subject"] = json!(null))[0].contains("null"));
    assert!(broken(&|v| v["subject"] = json!({"reference": "PSN"}))[0].contains("Reference"));
    assert!(
        broken(&|v| v["code"]["coding"][0]["system"] = json!("loinc"))[0].contains("absolute URI")
    );
    assert!(broken(&|v| v["presentedForm"][0]["data"] = json!("***"))[0].contains("base64"));
    assert!(
        broken(&|v| {
            v["presentedForm"][0]
                .as_object_mut()
                .unwrap()
                .remove("contentType");
        })[0]
            .contains("att-1")
    );
    assert!(broken(&|v| v["findings"] = json!("x"))[0].contains("unknown element"));
    assert!(broken(&|v| v["id"] = json!("a/b"))[0].contains("id must match"));
    assert!(validate_diagnostic_report(&json!([1])).is_err());
}
