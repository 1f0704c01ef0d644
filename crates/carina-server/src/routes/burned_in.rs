//! Images that may show burned-in text (Burned In Annotation YES, or absent
//! where burned-in text is common) are flagged on upload and left out of
//! exports until an admin has looked at them and confirms.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use carina_store::{Image, Role, burned_in_flagged};

pub fn routes() -> Router<AppState> {
    Router::new().route("/images/{id}/burned-in/confirm", post(confirm))
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/burned-in/confirm",
    operation_id = "burned_in_confirm",
    tag = "images",
    summary = "Confirm a flagged image (burned-in text) for export",
    description = "Role: admin. An image whose DICOM file says Burned In Annotation YES, or says nothing on a secondary capture or a modality where burned-in text is common (`burned_in_annotation` `yes` or `unknown`), is left out of exports (`carina dataset export --from-db`, training snapshots) until an admin has looked at it and confirms here. 409 when the image is not flagged. Replacing the file clears the confirmation.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK: the image, with burned_in_confirmed_by/_at set", body = crate::openapi::schemas::ImageSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Image>> {
    user.require(Role::Admin)?;
    let image = state.image(id).await?;
    if !burned_in_flagged(image.meta.burned_in_annotation.as_deref()) {
        return Err(AppError::conflict(
            "this image is not flagged for burned-in text; there is nothing to confirm",
        ));
    }
    let image = state
        .store
        .db
        .confirm_burned_in(id, &user.user.username)
        .await?;
    tracing::info!("burned-in text confirmed for export");
    Ok(Json(image))
}
