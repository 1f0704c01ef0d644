//! The rows of the authorisation matrix (`authz.rs` runs them): every route
//! with the status each caller must get.

#[derive(Clone, Copy)]
pub enum Body {
    None,
    Json(&'static str),
    /// A new PNG (distinct content per caller).
    Upload,
    /// An annotations save with the current version as If-Match (read by the admin).
    Save,
    /// A save of the caller's own blind reading, from version 0.
    Reading,
}

/// (method, path, body, [anonymous, viewer, radiologist, blind reader, admin]).
/// `{img}` is an image everyone works on (with rad's boxes, the model's
/// proposals and rad's draft report), which the blind reader reads blind and
/// rad reviews; `{del}` one that only the admin deletes, `{viewer}` the
/// viewer's user id, `{user}` a fresh username, `{job}` the predict job of
/// `{img}`, `{model}` the bundled model, `{rep}` rad's draft report on
/// `{img}` and `{blind}` an image for blind reading by rad.
pub const MATRIX: &[(&str, &str, Body, [u16; 5])] = &[
    (
        "POST",
        "/api/v1/auth/register",
        Body::Json(r#"{"username": "{user}", "password": "long enough"}"#),
        // Closed after the first account: admins create accounts.
        [403, 403, 403, 403, 403],
    ),
    (
        "POST",
        "/api/v1/auth/login",
        Body::Json(r#"{"username": "{user}", "password": "wrong password"}"#),
        [401, 401, 401, 401, 401],
    ),
    ("GET", "/api/v1/me", Body::None, [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/v1/auth/session",
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/tokens",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/tokens",
        Body::Json(r#"{"name": "t"}"#),
        [401, 201, 201, 201, 201],
    ),
    (
        "DELETE",
        "/api/v1/tokens/424242",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/api/v1/users",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "POST",
        "/api/v1/users",
        Body::Json(r#"{"username": "{user}", "password": "long enough", "role": "viewer"}"#),
        [401, 403, 403, 403, 201],
    ),
    (
        "DELETE",
        "/api/v1/users/424242",
        Body::None,
        [401, 403, 403, 403, 404],
    ),
    (
        "GET",
        "/api/v1/audit",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "PATCH",
        "/api/v1/users/{viewer}",
        Body::Json(r#"{"role": "viewer"}"#),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/labels",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/labels",
        Body::Json(r##"{"name": "{user}", "color": "#123456"}"##),
        [401, 403, 403, 403, 201],
    ),
    (
        "PATCH",
        "/api/v1/labels/0",
        Body::Json(r##"{"color": "#654321"}"##),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/images",
        Body::Upload,
        [401, 403, 201, 201, 201],
    ),
    (
        "GET",
        "/api/v1/images/{img}",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "PATCH",
        "/api/v1/images/{img}",
        Body::Json(r#"{"status": "in_review"}"#),
        [401, 403, 200, 403, 200],
    ),
    (
        "PATCH",
        "/api/v1/images/{img}",
        Body::Json(r#"{"display_label": "Case A"}"#),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/file",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/images/{img}/file",
        Body::Upload,
        [401, 403, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/render",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/thumbnail",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // `{img}` is a PNG, not flagged for burned-in text: the admin gets 409.
    (
        "POST",
        "/api/v1/images/{img}/burned-in/confirm",
        Body::None,
        [401, 403, 403, 403, 409],
    ),
    (
        "GET",
        "/api/v1/images/{img}/annotations",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "PUT",
        "/api/v1/images/{img}/annotations",
        Body::Save,
        [401, 403, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/sr",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    // No SR in the body: past the role and blind checks, a 415.
    (
        "POST",
        "/api/v1/images/{img}/sr",
        Body::None,
        [401, 403, 415, 403, 415],
    ),
    (
        "GET",
        "/api/v1/images/{img}/history",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/predictions",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "POST",
        "/api/v1/images/{img}/predictions",
        Body::None,
        [401, 403, 202, 403, 202],
    ),
    (
        "POST",
        "/api/v1/images/{img}/send",
        Body::Json(r#"{"destination": "NOWHERE", "what": "sr"}"#),
        // No peer is configured: an unknown destination.
        [401, 403, 422, 403, 422],
    ),
    (
        "GET",
        "/api/v1/dicom/peers",
        Body::None,
        [401, 403, 200, 200, 200],
    ),
    ("GET", "/api/v1/jobs", Body::None, [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/v1/jobs/{job}",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/models",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/models/{model}",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // A PNG is not a model folder: the admin gets past authorisation to a 422.
    (
        "POST",
        "/api/v1/models",
        Body::Upload,
        [401, 403, 403, 403, 422],
    ),
    // Invalid on purpose: the admin gets past authorisation to a 422, nothing trains.
    (
        "POST",
        "/api/v1/models/train",
        Body::Json(r#"{"steps": 0}"#),
        [401, 403, 403, 403, 422],
    ),
    (
        "POST",
        "/api/v1/models/{model}/deploy",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/models/{model}/stats",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/me/preferences",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/me/preferences",
        Body::Json(r#"{"proposal_threshold": 0.4}"#),
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/images/{img}/reports",
        Body::Json(r#"{"impression": "matrix"}"#),
        [401, 403, 201, 403, 201],
    ),
    (
        "POST",
        "/api/v1/reports",
        Body::Json(r#"{"image_ids": [{img}]}"#),
        [401, 403, 201, 403, 201],
    ),
    (
        "GET",
        "/api/v1/reports",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.json",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.pdf",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.fhir.json",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "PATCH",
        "/api/v1/reports/{rep}",
        Body::Json(r#"{"impression": "matrix impression"}"#),
        [401, 403, 200, 404, 200],
    ),
    (
        "POST",
        "/api/v1/reports/{rep}/sign",
        Body::None,
        [401, 403, 200, 404, 409],
    ),
    (
        "POST",
        "/api/v1/reports/{rep}/amend",
        Body::None,
        [401, 403, 201, 404, 409],
    ),
    // Signed by the row above.
    (
        "GET",
        "/api/v1/reports/{rep}/sr",
        Body::None,
        [401, 200, 200, 404, 200],
    ),
    (
        "POST",
        "/api/v1/images/{blind}/assignments",
        Body::Json(r#"{"readers": ["rad"], "reviewer": "admin"}"#),
        [401, 403, 403, 403, 201],
    ),
    (
        "GET",
        "/api/v1/me/assignments",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // The blind reader's own reading of {img}: theirs alone.
    (
        "GET",
        "/api/v1/images/{img}/readings/me",
        Body::None,
        [401, 404, 404, 200, 404],
    ),
    (
        "PUT",
        "/api/v1/images/{img}/readings/me",
        Body::Reading,
        [401, 403, 404, 200, 404],
    ),
    // The readings of {img}: its reviewer (rad) and admins, not its blind reader.
    (
        "GET",
        "/api/v1/images/{img}/readings",
        Body::None,
        [401, 403, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{img}/agreement",
        Body::None,
        [401, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{blind}/readings/me",
        Body::None,
        [401, 404, 200, 404, 404],
    ),
    (
        "PUT",
        "/api/v1/images/{blind}/readings/me",
        Body::Reading,
        [401, 403, 200, 404, 404],
    ),
    (
        "GET",
        "/api/v1/images/{blind}/readings",
        Body::None,
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/images/{blind}/agreement",
        Body::None,
        [401, 200, 403, 200, 200],
    ),
    (
        "POST",
        "/api/v1/images/{blind}/readings/me/submit",
        Body::None,
        [401, 403, 200, 404, 404],
    ),
    (
        "POST",
        "/api/v1/images/{blind}/consensus",
        Body::Json(r#"{"iou_thr": 0.6}"#),
        [401, 403, 403, 403, 200],
    ),
    (
        "GET",
        "/api/v1/agreement",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // The blind reader submits: from now on they see the work on {img}.
    (
        "POST",
        "/api/v1/images/{img}/readings/me/submit",
        Body::None,
        [401, 403, 404, 200, 404],
    ),
    (
        "GET",
        "/api/v1/images/{img}/annotations",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/reports/{rep}.json",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "DELETE",
        "/api/v1/images/{del}",
        Body::None,
        [401, 403, 403, 403, 204],
    ),
    (
        "POST",
        "/api/v1/auth/logout",
        Body::None,
        [401, 204, 204, 204, 204],
    ),
    (
        "GET",
        "/api/openapi.json",
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/v1/studies",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // DICOMweb serves the stored files' pixels and attributes, nobody's
    // work: the blind reader reads it as anyone. 424242 is no stored UID.
    (
        "GET",
        "/dicom-web/studies",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    // Not multipart/related: 400 for those who may store.
    (
        "POST",
        "/dicom-web/studies",
        Body::None,
        [401, 403, 400, 400, 400],
    ),
    (
        "GET",
        "/dicom-web/studies/424242",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/metadata",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/instances",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series/424242",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series/424242/metadata",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series/424242/instances",
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series/424242/instances/424242",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series/424242/instances/424242/metadata",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/dicom-web/studies/424242/series/424242/instances/424242/rendered",
        Body::None,
        [401, 404, 404, 404, 404],
    ),
];
