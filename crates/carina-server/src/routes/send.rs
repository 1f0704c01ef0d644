//! `POST /images/{id}/send`: C-STORE the image and/or its boxes as an SR
//! to a configured DICOM peer, as a background job (`worker::send`);
//! `GET /dicom/peers`: where the editor may send.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::routes::predictions::JobQueued;
use crate::state::AppState;
use crate::worker::send::{SendRequest, SendWhat, enqueue_send, peer};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carina_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/send", post(send))
        .route("/dicom/peers", get(peers))
}

/// What to send where.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// The AE title of a peer configured with an address in `CARINA_DICOM_PEERS`
    destination: String,
    /// `sr` (default): the reviewed boxes as a TID 1500 SR; `image`: the
    /// stored de-identified image; `both`
    #[serde(default)]
    what: SendWhat,
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/send",
    operation_id = "send_image",
    tag = "images",
    summary = "Send the image's SR and/or the image to a DICOM peer (C-STORE, a background job with retries)",
    description = "Role: radiologist. Answers 202 {job}; the job's result lists what the peer stored, its last_error what failed; the image shows the newest send job (send_job_id, send_status). An unknown destination (not in CARINA_DICOM_PEERS with an address) is a 422. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(("id" = i64, Path)),
    request_body = SendBody,
    responses(
        (status = 202, description = "Queued", body = JobQueued),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn send(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<SendBody>,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    state.image(id).await?;
    // The SR holds others' boxes, which a blind reader may not see.
    crate::blind::guard(&state, &user, id).await?;
    let peer = peer(&state, &body.destination).map_err(AppError::unprocessable)?;
    let req = SendRequest {
        destination: peer.ae_title,
        what: body.what.into(),
    };
    let job = enqueue_send(&state, id, &req, &user.user.username).await?;
    Ok((StatusCode::ACCEPTED, Json(JobQueued { job })).into_response())
}

/// A peer Carina may send to.
#[derive(Serialize, ToSchema)]
pub struct PeerOut {
    /// Its AE title, the `destination` of `POST /images/{id}/send`
    ae_title: String,
}

/// Where Carina may send.
#[derive(Serialize, ToSchema)]
pub struct PeersOut {
    /// The peers of `CARINA_DICOM_PEERS` that have an address, in the
    /// configured order (AE titles only: host and port are the
    /// administrator's configuration)
    peers: Vec<PeerOut>,
    /// `CARINA_DICOM_SEND_ON_SIGN`: the peer each signed report is sent to,
    /// if any
    send_on_sign: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dicom/peers",
    operation_id = "dicom_peers",
    tag = "images",
    summary = "The DICOM peers Carina may send to (AE titles)",
    description = "Role: radiologist. The peers configured with an address in CARINA_DICOM_PEERS, by AE title only (no host or port), and the peer signed reports go to (CARINA_DICOM_SEND_ON_SIGN). An empty list when none is configured.",
    responses(
        (status = 200, description = "OK", body = PeersOut),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn peers(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<PeersOut>> {
    user.require(Role::Radiologist)?;
    let c = &state.config;
    let peers = c
        .dicom_peers
        .0
        .iter()
        .filter(|p| p.address.is_some())
        .map(|p| PeerOut {
            ae_title: p.ae_title.clone(),
        })
        .collect();
    Ok(Json(PeersOut {
        peers,
        send_on_sign: c.dicom_send_on_sign.clone(),
    }))
}
