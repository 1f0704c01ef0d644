//! The caller's own editor settings.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use carina_store::Preferences;
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/me/preferences", get(read).put(write))
}

#[utoipa::path(
    get,
    path = "/api/v1/me/preferences",
    operation_id = "preferences_read",
    tag = "users",
    summary = "The caller's editor preferences",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas_review::PreferencesSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn read(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<Preferences>> {
    Ok(Json(state.store.db.preferences(user.user.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PreferencesSave)]
pub struct Body {
    /// 0 to 1
    #[schema(minimum = 0.0, maximum = 1.0)]
    proposal_threshold: f64,
}

#[utoipa::path(
    put,
    path = "/api/v1/me/preferences",
    operation_id = "preferences_write",
    tag = "users",
    summary = "Change the caller's editor preferences",
    description = "Role: viewer.",
    request_body = Body,
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas_review::PreferencesSchema),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn write(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<Body>,
) -> AppResult<Json<Preferences>> {
    if !(0.0..=1.0).contains(&body.proposal_threshold) {
        return Err(AppError::unprocessable(
            "proposal_threshold must be between 0 and 1",
        ));
    }
    let p = Preferences {
        proposal_threshold: body.proposal_threshold,
    };
    Ok(Json(
        state.store.db.set_preferences(user.user.id, &p).await?,
    ))
}
