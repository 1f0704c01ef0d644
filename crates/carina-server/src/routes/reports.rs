//! Reports: drafts from an image's (or a study's) reviewed boxes, edited
//! until signed, then immutable; an amendment is a new version and both are
//! kept. Served as HTML, JSON, PDF and FHIR R4 DiagnosticReport.

use crate::auth::CurrentUser;
use crate::blind::Blindness;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::reporting::{
    ReportOut, domain_report, findings_of, image_facts, report_images, report_json,
};
use crate::routes::report_types::{CreateBody, EditBody, ReportList};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use carina_store::{Image, NewReport, ReportEdit, ReportQuery, ReportStatus, Role, StoredReport};
use serde::Deserialize;

/// Longest impression accepted, in characters.
const MAX_IMPRESSION: usize = 20_000;
/// Most images in one study report.
const MAX_IMAGES: usize = 16;

/// The report page's own policy: nothing loads, inline styles and the
/// inlined thumbnails only.
const REPORT_CSP: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; \
    frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/reports", post(create_for_image))
        .route("/reports", get(list).post(create_for_study))
        .route("/reports/{id}", get(show).patch(edit))
        .route("/reports/{id}/sign", post(sign))
        .route("/reports/{id}/amend", post(amend))
}

fn parse_optional_body(body: &Bytes) -> AppResult<CreateBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(CreateBody::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("invalid JSON: {e}")))
}

fn check_impression(text: &str) -> AppResult<()> {
    if text.chars().count() > MAX_IMPRESSION {
        return Err(AppError::unprocessable(format!(
            "the impression is longer than {MAX_IMPRESSION} characters"
        )));
    }
    Ok(())
}

async fn create(
    state: &AppState,
    user: &CurrentUser,
    images: Vec<Image>,
    impression: Option<String>,
) -> AppResult<Response> {
    let impression = impression.unwrap_or_default();
    check_impression(&impression)?;
    // Its findings are others' boxes: not for a blind reader of any image.
    let blindness = Blindness::of(state, user).await?;
    for image in &images {
        blindness.check(image.id)?;
    }
    let findings = findings_of(state, &images).await?;
    let no_finding = findings.is_empty() && images.iter().all(|i| i.no_finding);
    let first = &images[0];
    let new = NewReport {
        image_ids: images.iter().map(|i| i.id).collect(),
        study_pseudonym: first.meta.study_pseudonym.clone(),
        patient_pseudonym: first.meta.patient_pseudonym.clone(),
        impression,
        no_finding,
        findings: serde_json::to_value(&findings).map_err(AppError::internal)?,
        author: user.user.username.clone(),
    };
    let stored = state.store.db.create_report(&new).await?;
    tracing::info!(report_id = stored.id, "report drafted");
    let facts = crate::reporting::ImageFacts {
        modality: first.meta.modality.clone(),
        names: images.iter().map(|i| i.display_name.clone()).collect(),
    };
    let domain = domain_report(&stored, Some(&facts))?;
    Ok((StatusCode::CREATED, Json(report_json(&stored, &domain))).into_response())
}

async fn load_image(state: &AppState, id: i64) -> AppResult<Image> {
    state
        .store
        .db
        .image(id)
        .await?
        .ok_or_else(|| AppError::not_found("image"))
}

#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/reports",
    operation_id = "reports_create_for_image",
    tag = "reports",
    summary = "Draft a report on one image from its reviewed boxes (accepted, edited, manual, consensus)",
    description = "Role: radiologist. Body optional. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
    ),
    request_body = CreateBody,
    responses(
        (status = 201, description = "Draft created", body = ReportOut),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn create_for_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    let body = parse_optional_body(&body)?;
    if body.image_ids.is_some() {
        return Err(AppError::unprocessable(
            "image_ids belongs to POST /reports; this route reports on the image in its path",
        ));
    }
    let image = load_image(&state, id).await?;
    create(&state, &user, vec![image], body.impression).await
}

#[utoipa::path(
    post,
    path = "/api/v1/reports",
    operation_id = "reports_create_for_study",
    tag = "reports",
    summary = "Draft a study report over several images sharing one DICOM study pseudonym",
    description = "Role: radiologist. A blind reader of any of the images (assigned, not submitted) gets 403 blind_reading.",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Draft created", body = ReportOut),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn create_for_study(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Bytes,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    let body = parse_optional_body(&body)?;
    let ids = body
        .image_ids
        .ok_or_else(|| AppError::unprocessable("image_ids (a list of image ids) is required"))?;
    if ids.is_empty() || ids.len() > MAX_IMAGES {
        return Err(AppError::unprocessable(format!(
            "image_ids must list 1 to {MAX_IMAGES} images"
        )));
    }
    let mut images: Vec<Image> = Vec::with_capacity(ids.len());
    for &id in &ids {
        if images.iter().any(|i| i.id == id) {
            return Err(AppError::unprocessable(format!(
                "image {id} is listed twice"
            )));
        }
        let image = state
            .store
            .db
            .image(id)
            .await?
            .ok_or_else(|| AppError::unprocessable(format!("image {id} does not exist")))?;
        images.push(image);
    }
    if images.len() > 1 {
        let study = images[0].meta.study_pseudonym.clone();
        if study.is_none() || images.iter().any(|i| i.meta.study_pseudonym != study) {
            return Err(AppError::unprocessable(
                "the images of one report must share a DICOM study (the same study_pseudonym)",
            ));
        }
    }
    create(&state, &user, images, body.impression).await
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    status: Option<String>,
    image_id: Option<i64>,
    limit: Option<u32>,
}

/// Reports on an image the caller reads blind are left out (`?image_id=` of
/// such an image is refused with 403 `blind_reading`).
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    operation_id = "reports_list",
    tag = "reports",
    summary = "List reports, newest first",
    description = "Role: viewer. Reports on images the caller reads blind are left out; image_id of such an image is refused with 403 blind_reading.",
    params(
        ("q" = Option<String>, Query, description = "substring of the impression, findings, author, signer or study pseudonym"),
        ("status" = Option<crate::openapi::schemas_review::ReportStatusSchema>, Query),
        ("image_id" = Option<i64>, Query),
        ("limit" = Option<i64>, Query),
    ),
    responses(
        (status = 200, description = "OK", body = ReportList),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> AppResult<Json<ReportList>> {
    let blindness = Blindness::of(&state, &user).await?;
    if let Some(image_id) = p.image_id {
        blindness.check(image_id)?;
    }
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ReportStatus::parse(s).ok_or_else(|| {
            AppError::bad_request("status must be draft, signed, amended or superseded")
        })?),
    };
    let query = ReportQuery {
        q: p.q,
        status,
        image_id: p.image_id,
        limit: p.limit.unwrap_or(200),
    };
    let reports = state.store.db.list_reports(&query).await?;
    let mut out = Vec::with_capacity(reports.len());
    for r in reports
        .iter()
        .filter(|r| !blindness.hides_any(&r.image_ids))
    {
        out.push(report_json(r, &domain_report(r, None)?));
    }
    Ok(Json(ReportList { reports: out }))
}

/// `12`, `12.json`, `12.pdf`, `12.fhir.json`.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Negotiate,
    Json,
    Pdf,
    Fhir,
}

fn parse_id(raw: &str) -> AppResult<(i64, Format)> {
    let (id, format) = if let Some(id) = raw.strip_suffix(".fhir.json") {
        (id, Format::Fhir)
    } else if let Some(id) = raw.strip_suffix(".json") {
        (id, Format::Json)
    } else if let Some(id) = raw.strip_suffix(".pdf") {
        (id, Format::Pdf)
    } else {
        (raw, Format::Negotiate)
    };
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::not_found("report"))?;
    Ok((id, format))
}

/// A report by id. One on an image the caller reads blind is a 404, as for
/// an id that does not exist: a blind reader cannot tell that it exists.
async fn load(state: &AppState, id: i64, user: &CurrentUser) -> AppResult<StoredReport> {
    let r = state
        .store
        .db
        .report(id)
        .await?
        .ok_or_else(|| AppError::not_found("report"))?;
    if Blindness::of(state, user).await?.hides_any(&r.image_ids) {
        return Err(AppError::not_found("report"));
    }
    Ok(r)
}

/// A draft is edited and signed by its author, or by an admin taking it
/// over (the store records the take-over on the report).
fn ensure_owner(r: &StoredReport, user: &CurrentUser, what: &str) -> AppResult<()> {
    if r.author == user.user.username {
        return Ok(());
    }
    if user.user.role == Role::Admin {
        tracing::info!(
            report_id = r.id,
            "an admin takes over another author's draft"
        );
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "report {} is {}'s draft: only its author or an admin {what} it",
        r.id, r.author
    )))
}

/// An amendment is started by the one who signed the report, or an admin.
fn ensure_signer(r: &StoredReport, user: &CurrentUser) -> AppResult<()> {
    if user.user.role == Role::Admin || r.signed_by.as_deref() == Some(&*user.user.username) {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "report {} was signed by {}: only its signer or an admin amends it",
        r.id,
        r.signed_by.as_deref().unwrap_or("someone else")
    )))
}

fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}",
    operation_id = "reports_show",
    tag = "reports",
    summary = "The report as a self-contained HTML page (JSON with Accept: application/json)",
    description = "Role: viewer. A report on an image the caller reads blind is a 404, as if it did not exist.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", content((String = "text/html"), (ReportOut = "application/json"))),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (id, mut format) = parse_id(&raw)?;
    if format == Format::Negotiate && wants_json(&headers) {
        format = Format::Json;
    }
    let stored = load(&state, id, &user).await?;
    let name = format!("carina-report-{id}-v{}", stored.version);
    if format == Format::Pdf {
        let pdf = crate::reporting::report_pdf(&state, &stored).await?;
        let disposition = format!("attachment; filename=\"{name}.pdf\"");
        return Ok((
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            pdf,
        )
            .into_response());
    }
    let facts = image_facts(&state, &stored).await?;
    let domain = domain_report(&stored, Some(&facts))?;
    if format == Format::Json {
        return Ok(Json(report_json(&stored, &domain)).into_response());
    }
    let images = report_images(&state, &stored).await?;
    let rendered =
        tokio::task::spawn_blocking(move || -> Result<Response, carina_report::ReportError> {
            Ok(match format {
                Format::Fhir => {
                    let pdf = carina_report::render_pdf(&domain, &images)?;
                    let fhir = carina_report::to_fhir(&domain, Some(&pdf));
                    (
                        [(header::CONTENT_TYPE, "application/fhir+json")],
                        serde_json::to_vec(&fhir).unwrap_or_default(),
                    )
                        .into_response()
                }
                _ => (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_SECURITY_POLICY, REPORT_CSP),
                    ],
                    carina_report::render_html(&domain, &images)?,
                )
                    .into_response(),
            })
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    Ok(rendered)
}

fn report_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .map_err(|_| AppError::not_found("report"))
}

/// Signing a report on an image under blind reading is the reviewer's (or
/// an admin's) decision.
async fn ensure_may_sign(state: &AppState, r: &StoredReport, user: &CurrentUser) -> AppResult<()> {
    if user.user.role == Role::Admin {
        return Ok(());
    }
    for &image_id in &r.image_ids {
        if let Some(a) = state.store.db.assignment(image_id).await?
            && a.reviewer != user.user.username
        {
            return Err(AppError::forbidden(format!(
                "image {image_id} is under blind reading; only its reviewer ({}) or an admin signs its report",
                a.reviewer
            )));
        }
    }
    Ok(())
}

#[utoipa::path(
    patch,
    path = "/api/v1/reports/{id}",
    operation_id = "reports_edit",
    tag = "reports",
    summary = "Edit a draft (impression, no_finding, refresh_findings); 409 once signed",
    description = "The author, or an admin taking the draft over (recorded as taken_over_by/taken_over_at); 403 otherwise. A report on an image the caller reads blind is a 404.",
    params(
        ("id" = i64, Path),
    ),
    request_body = EditBody,
    responses(
        (status = 200, description = "Saved", body = ReportOut),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    Json(body): Json<EditBody>,
) -> AppResult<Json<ReportOut>> {
    user.require(Role::Radiologist)?;
    let id = report_id(&raw)?;
    let current = load(&state, id, &user).await?;
    if current.status != ReportStatus::Draft {
        return Err(AppError::conflict(format!(
            "report {id} is {}; a signed report cannot change — amend it",
            current.status.as_str()
        )));
    }
    ensure_owner(&current, &user, "edits")?;
    if let Some(text) = &body.impression {
        check_impression(text)?;
    }
    let findings = if body.refresh_findings {
        let mut images = Vec::new();
        for &image_id in &current.image_ids {
            if let Some(image) = state.store.db.image(image_id).await? {
                images.push(image);
            }
        }
        Some(
            serde_json::to_value(findings_of(&state, &images).await?)
                .map_err(AppError::internal)?,
        )
    } else {
        None
    };
    let change = ReportEdit {
        impression: body.impression,
        no_finding: body.no_finding,
        findings,
    };
    let saved = state
        .store
        .db
        .update_report_draft(id, &change, &user.user.username)
        .await?;
    let domain = domain_report(&saved, None)?;
    Ok(Json(report_json(&saved, &domain)))
}

#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/sign",
    operation_id = "reports_sign",
    tag = "reports",
    summary = "Sign a draft (signer = caller, now); immutable from then on",
    description = "The author, or an admin taking the draft over (recorded as taken_over_by/taken_over_at); on an image under blind reading also only its reviewer or an admin. 403 otherwise. A report on an image the caller reads blind is a 404.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "Signed", body = ReportOut),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn sign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> AppResult<Json<ReportOut>> {
    user.require(Role::Radiologist)?;
    let id = report_id(&raw)?;
    let current = load(&state, id, &user).await?;
    if current.status != ReportStatus::Draft {
        return Err(AppError::conflict(format!(
            "report {id} is {} already",
            current.status.as_str()
        )));
    }
    ensure_owner(&current, &user, "signs")?;
    ensure_may_sign(&state, &current, &user).await?;
    // The domain's signing rules (an impression or "no finding"; no findings
    // on a "no finding" report) decide before anything is stored.
    let draft = domain_report(&current, None)?;
    let check = carina_report::ReportDraft::new(draft.id(), draft.content().clone())
        .map_err(|e| AppError::unprocessable(e.to_string()))?;
    check
        .sign(&user.user.username, "2000-01-01T00:00:00Z")
        .map_err(|e| AppError::unprocessable(e.to_string()))?;
    let signed = state.store.db.sign_report(id, &user.user.username).await?;
    tracing::info!(report_id = id, "report signed");
    crate::worker::send::on_signed(&state, id, &signed.image_ids, &user.user.username).await;
    let domain = domain_report(&signed, None)?;
    Ok(Json(report_json(&signed, &domain)))
}

#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/amend",
    operation_id = "reports_amend",
    tag = "reports",
    summary = "Start an amendment: a new draft, version + 1, supersedes this one; both kept",
    description = "The signer of the report, or an admin; the amendment belongs to the caller. 409 for a draft, a superseded report, or one already being amended. A report on an image the caller reads blind is a 404.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 201, description = "Amendment draft", body = ReportOut),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn amend(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    let id = report_id(&raw)?;
    let current = load(&state, id, &user).await?;
    // A draft has no signer: the store's 409 says to edit it instead.
    if current.status != ReportStatus::Draft {
        ensure_signer(&current, &user)?;
    }
    let draft = state.store.db.amend_report(id, &user.user.username).await?;
    tracing::info!(
        report_id = id,
        amendment = draft.id,
        "report amendment drafted"
    );
    let domain = domain_report(&draft, None)?;
    Ok((StatusCode::CREATED, Json(report_json(&draft, &domain))).into_response())
}
