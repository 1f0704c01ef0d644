//! A signed report in every format: HTML (escaped, under a strict CSP, with
//! the annotated thumbnail), PDF (real text, read back with pdftotext, the
//! images by their display names) and FHIR R4 (validated).

use crate::both_backends;
use crate::helpers::*;
use crate::reports::{image_with_box, ok_json, send};
use reqwest::{Method, StatusCode};
use serde_json::json;

both_backends!(html_escapes_pdf_has_text_fhir_validates);

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn html_escapes_pdf_has_text_fhir_validates(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = image_with_box(&app, &rad, 3).await;
    let text = r#"Mass <script>alert("x")</script> & "quotes" — naïve"#;
    let draft = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            Some(json!({"impression": text})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = draft["id"].as_i64().unwrap();
    ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/reports/{id}/sign"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let r = app
        .req(Method::GET, &format!("/api/v1/reports/{id}"), Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>"), "user text must be escaped");
    assert!(
        html.contains("&lt;script&gt;"),
        "escaped impression in the page"
    );
    assert!(html.contains("Nodule/Mass") || html.contains("Nodule&#x2f;Mass"));
    assert!(
        html.contains("data:image/png;base64,"),
        "the annotated thumbnail is inlined"
    );

    let r = app
        .req(
            Method::GET,
            &format!("/api/v1/reports/{id}.pdf"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let words = pdftotext(&pdf);
    assert!(
        words.contains(r#"Mass <script>alert("x")</script> & "quotes""#),
        "impression in the PDF text: {words}"
    );
    assert!(words.contains("naïve"));
    assert!(
        words.contains("Nodule/Mass"),
        "finding in the PDF text: {words}"
    );
    assert!(words.contains("right lower zone"));
    assert!(words.contains("rad"));
    // The images by the name the workbench shows, beside their ids (not a bare
    // "Images: 5" that reads like a count).
    let (_, shown) = app
        .get_json(&format!("/api/v1/images/{img}"), &viewer)
        .await;
    let name = shown["display_name"].as_str().unwrap();
    assert!(
        words.contains(&format!("Images: {name} (image {img})")),
        "{words}"
    );
    assert!(html.contains(&format!("{name} (image {img})")), "{html}");

    let (s, fhir) = app
        .get_json(&format!("/api/v1/reports/{id}.fhir.json"), &viewer)
        .await;
    assert_eq!(s, StatusCode::OK);
    carina_report::validate_diagnostic_report(&fhir).expect("a valid FHIR R4 DiagnosticReport");
    assert_eq!(fhir["resourceType"], "DiagnosticReport");
    assert_eq!(fhir["status"], "final");
    assert_eq!(fhir["conclusion"], text);
    assert_eq!(fhir["presentedForm"][0]["contentType"], "application/pdf");
    // A draft exports as preliminary.
    let d2 = ok_json(
        send(
            &app,
            &rad,
            Method::POST,
            &format!("/api/v1/images/{img}/reports"),
            None,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (_, f2) = app
        .get_json(&format!("/api/v1/reports/{}.fhir.json", d2["id"]), &viewer)
        .await;
    assert_eq!(f2["status"], "preliminary");
    carina_report::validate_diagnostic_report(&f2).expect("valid draft export");
}
