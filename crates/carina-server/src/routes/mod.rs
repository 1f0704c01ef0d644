//! One module per resource; `build_router` merges their routers.

pub mod annotations;
pub mod auth;
pub mod images;
pub mod ingest;
pub mod labels;
pub mod models;
pub mod predictions;
pub mod preferences;
pub mod tokens;
pub mod users;
