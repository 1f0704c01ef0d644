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

pub fn routes() -> Router<AppState> {
    Router::new().route("/me/preferences", get(read).put(write))
}

async fn read(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<Preferences>> {
    Ok(Json(state.store.db.preferences(user.user.id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    proposal_threshold: f64,
}

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
