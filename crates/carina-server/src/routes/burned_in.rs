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
