//! Export as an HL7 FHIR R4 `DiagnosticReport` (JSON), and a checker for
//! the structural rules of the standard that such a resource must meet.
//!
//! Mapping:
//! - `status`: draft preview → `preliminary`, signed → `final`, a signed
//!   amendment → `amended` (R4 value set `diagnostic-report-status`).
//! - `code`: LOINC `18748-4` "Diagnostic imaging study", the document code
//!   for imaging reports (listed in the LOINC Imaging Document Codes value
//!   set, OID 1.3.6.1.4.1.12009.10.2.5, used by C-CDA on FHIR); `category`:
//!   HL7 v2 table 0074 `RAD` (Radiology).
//! - `subject`: the patient *pseudonym*, as a literal `Patient/<pseudonym>`
//!   reference when the pseudonym is a valid FHIR id, otherwise as a
//!   logical reference by identifier. Never a name.
//! - `effectiveDateTime`: the study date; `issued`: the signing time;
//!   `performer` and `resultsInterpreter`: the signing radiologist.
//! - `conclusion`: the impression; `conclusionCode`: one text-only
//!   CodeableConcept per finding (class, location, size, who found it) —
//!   no SNOMED CT codes are claimed.
//! - `presentedForm`: the PDF rendering, base64, `application/pdf`.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::format_size_mm;
use crate::model::{Report, ReportStatus};
use crate::time::{is_fhir_date, is_fhir_datetime, is_fhir_instant};

pub const LOINC_SYSTEM: &str = "http://loinc.org";
pub const LOINC_IMAGING_STUDY: &str = "18748-4";
const V2_0074: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";
const PSEUDONYM_SYSTEM: &str = "urn:carina:patient-pseudonym";

fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The FHIR R4 status code of a report.
pub fn fhir_status(r: &Report) -> &'static str {
    match r.status() {
        ReportStatus::Draft => "preliminary",
        ReportStatus::Signed => "final",
        ReportStatus::Amended => "amended",
        // A signed version kept after an amendment replaced it.
        ReportStatus::Superseded => "final",
    }
}

/// The report as a FHIR R4 DiagnosticReport. `pdf` (from
/// [`crate::render_pdf`]) becomes the `presentedForm`; pass `None` to leave
/// it out.
pub fn to_fhir(r: &Report, pdf: Option<&[u8]>) -> Value {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("DiagnosticReport"));
    o.insert("id".into(), json!(r.id()));
    o.insert("status".into(), json!(fhir_status(r)));
    o.insert(
        "category".into(),
        json!([{"coding": [{"system": V2_0074, "code": "RAD", "display": "Radiology"}]}]),
    );
    o.insert(
        "code".into(),
        json!({
            "coding": [{"system": LOINC_SYSTEM, "code": LOINC_IMAGING_STUDY, "display": "Diagnostic imaging study"}],
            "text": "Chest radiograph report"
        }),
    );
    let s = r.subject();
    if let Some(p) = s
        .patient_pseudonym
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        let subject = if is_fhir_id(p) {
            json!({"reference": format!("Patient/{p}"), "display": "pseudonymised patient"})
        } else {
            json!({"type": "Patient", "identifier": {"system": PSEUDONYM_SYSTEM, "value": p}, "display": "pseudonymised patient"})
        };
        o.insert("subject".into(), subject);
    }
    if let Some(d) = s.study_date.as_deref().filter(|d| is_fhir_date(d)) {
        o.insert("effectiveDateTime".into(), json!(d));
    }
    if let Some(at) = r.signed_at() {
        o.insert("issued".into(), json!(at));
    }
    if let Some(by) = r.signed_by() {
        o.insert("performer".into(), json!([{"display": by}]));
        o.insert("resultsInterpreter".into(), json!([{"display": by}]));
    }
    if !r.impression().trim().is_empty() {
        o.insert("conclusion".into(), json!(r.impression()));
    }
    let mut codes: Vec<Value> = r
        .findings()
        .iter()
        .map(|f| {
            let mut text = format!("{}, {}", f.class_name, f.location);
            if let Some(mm) = f.size_mm {
                text.push_str(&format!(", {}", format_size_mm(mm)));
            }
            text.push_str(&format!(" (found by {}", f.found_by.describe()));
            if let Some(c) = f.confidence {
                text.push_str(&format!(", model score {c:.2}"));
            }
            text.push(')');
            json!({"text": text})
        })
        .collect();
    if r.no_finding() {
        codes.push(json!({"text": "No finding"}));
    }
    if !codes.is_empty() {
        o.insert("conclusionCode".into(), Value::Array(codes));
    }
    if let Some(pdf) = pdf {
        let mut att = json!({
            "contentType": "application/pdf",
            "language": "en",
            "data": base64::engine::general_purpose::STANDARD.encode(pdf),
            "title": format!("Chest radiograph report {} version {}", r.id(), r.version()),
        });
        if let Some(at) = r.signed_at() {
            att["creation"] = json!(at);
        }
        o.insert("presentedForm".into(), json!([att]));
    }
    Value::Object(o)
}

const STATUSES: [&str; 10] = [
    "registered",
    "partial",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "appended",
    "cancelled",
    "entered-in-error",
    "unknown",
];

/// The elements R4 defines on DiagnosticReport (DomainResource included).
const ELEMENTS: [&str; 26] = [
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "basedOn",
    "status",
    "category",
    "code",
    "subject",
    "encounter",
    "effectiveDateTime",
    "effectivePeriod",
    "issued",
    "performer",
    "resultsInterpreter",
    "specimen",
    "result",
    "imagingStudy",
    "media",
    "conclusion",
];
const MORE_ELEMENTS: [&str; 2] = ["conclusionCode", "presentedForm"];

/// FHIR JSON rules for every value: no nulls, no empty strings, arrays or objects.
fn check_json(path: &str, v: &Value, errs: &mut Vec<String>) {
    match v {
        Value::Null => errs.push(format!("{path}: null is not allowed")),
        Value::String(s) if s.is_empty() => errs.push(format!("{path}: empty string")),
        Value::Array(a) if a.is_empty() => errs.push(format!("{path}: empty array")),
        Value::Object(m) if m.is_empty() => errs.push(format!("{path}: empty object")),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| check_json(&format!("{path}[{i}]"), x, errs)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| check_json(&format!("{path}.{k}"), x, errs)),
        _ => {}
    }
}

fn check_codeable(path: &str, v: &Value, errs: &mut Vec<String>) {
    let Some(m) = v.as_object() else {
        return errs.push(format!("{path}: CodeableConcept must be an object"));
    };
    if m.get("coding").is_none() && m.get("text").is_none() {
        errs.push(format!("{path}: CodeableConcept needs coding or text"));
    }
    if let Some(t) = m.get("text").filter(|t| !t.is_string()) {
        errs.push(format!("{path}.text: must be a string, got {t}"));
    }
    for (i, c) in m
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let system = c.get("system").and_then(Value::as_str).unwrap_or("");
        if !(system.starts_with("http://")
            || system.starts_with("https://")
            || system.starts_with("urn:"))
        {
            errs.push(format!(
                "{path}.coding[{i}].system: must be an absolute URI"
            ));
        }
        let code = c.get("code").and_then(Value::as_str).unwrap_or("");
        if code.is_empty() || code.trim() != code || code.contains("  ") {
            errs.push(format!("{path}.coding[{i}].code: not a valid FHIR code"));
        }
    }
}

fn check_reference(path: &str, v: &Value, errs: &mut Vec<String>) {
    let ok = v.as_object().is_some_and(|m| {
        ["reference", "identifier", "display"]
            .iter()
            .any(|k| m.contains_key(*k))
            && m.get("reference")
                .is_none_or(|r| r.as_str().is_some_and(|r| r.contains('/')))
    });
    if !ok {
        errs.push(format!(
            "{path}: Reference needs reference (Type/id), identifier or display"
        ));
    }
}

fn array<'a>(path: &str, v: Option<&'a Value>, errs: &mut Vec<String>) -> &'a [Value] {
    match v {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            errs.push(format!("{path}: must be an array"));
            &[]
        }
    }
}

/// Checks a DiagnosticReport against the R4 structure: `resourceType`,
/// required `status` (from the value set) and `code`, known elements only,
/// cardinalities of the elements used here, date/instant formats, Reference
/// and CodeableConcept shapes, attachments with data carrying a content type
/// (att-1) and valid base64, and the JSON rules (no null or empty values).
pub fn validate_diagnostic_report(v: &Value) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let Some(m) = v.as_object() else {
        return Err(vec!["resource must be a JSON object".into()]);
    };
    check_json("DiagnosticReport", v, &mut errs);
    if m.get("resourceType").and_then(Value::as_str) != Some("DiagnosticReport") {
        errs.push("resourceType must be \"DiagnosticReport\"".into());
    }
    for k in m.keys() {
        if !ELEMENTS.contains(&k.as_str()) && !MORE_ELEMENTS.contains(&k.as_str()) {
            errs.push(format!("unknown element {k}"));
        }
    }
    if let Some(id) = m.get("id")
        && !id.as_str().is_some_and(is_fhir_id)
    {
        errs.push("id must match [A-Za-z0-9-.]{1,64}".into());
    }
    match m.get("status").and_then(Value::as_str) {
        Some(s) if STATUSES.contains(&s) => {}
        Some(s) => errs.push(format!(
            "status {s:?} is not in the diagnostic-report-status value set"
        )),
        None => errs.push("status is required (1..1)".into()),
    }
    match m.get("code") {
        Some(c) => check_codeable("code", c, &mut errs),
        None => errs.push("code is required (1..1)".into()),
    }
    for (i, c) in array("category", m.get("category"), &mut errs)
        .iter()
        .enumerate()
    {
        check_codeable(&format!("category[{i}]"), c, &mut errs);
    }
    for (i, c) in array("conclusionCode", m.get("conclusionCode"), &mut errs)
        .iter()
        .enumerate()
    {
        check_codeable(&format!("conclusionCode[{i}]"), c, &mut errs);
    }
    if let Some(s) = m.get("subject") {
        check_reference("subject", s, &mut errs);
    }
    for key in ["performer", "resultsInterpreter"] {
        for (i, p) in array(key, m.get(key), &mut errs).iter().enumerate() {
            check_reference(&format!("{key}[{i}]"), p, &mut errs);
        }
    }
    if m.contains_key("effectiveDateTime") && m.contains_key("effectivePeriod") {
        errs.push("effective[x] may have only one type".into());
    }
    if let Some(d) = m.get("effectiveDateTime")
        && !d.as_str().is_some_and(is_fhir_datetime)
    {
        errs.push("effectiveDateTime is not a FHIR dateTime".into());
    }
    if let Some(d) = m.get("issued")
        && !d.as_str().is_some_and(is_fhir_instant)
    {
        errs.push("issued is not a FHIR instant".into());
    }
    if m.get("conclusion").is_some_and(|c| !c.is_string()) {
        errs.push("conclusion must be a string".into());
    }
    for (i, a) in array("presentedForm", m.get("presentedForm"), &mut errs)
        .iter()
        .enumerate()
    {
        let p = format!("presentedForm[{i}]");
        if let Some(data) = a.get("data") {
            if a.get("contentType").and_then(Value::as_str).is_none() {
                errs.push(format!(
                    "{p}: att-1: an attachment with data needs a contentType"
                ));
            }
            let ok = data
                .as_str()
                .is_some_and(|d| base64::engine::general_purpose::STANDARD.decode(d).is_ok());
            if !ok {
                errs.push(format!("{p}.data: not base64"));
            }
        }
        if let Some(c) = a.get("creation")
            && !c.as_str().is_some_and(is_fhir_datetime)
        {
            errs.push(format!("{p}.creation: not a FHIR dateTime"));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}
