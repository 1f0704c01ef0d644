//! One module per resource; `build_router` merges their routers.

pub mod agreement;
pub mod annotations;
pub mod auth;
pub mod images;
pub mod ingest;
pub mod labels;
pub mod readings;
pub mod reports;
pub mod tokens;
pub mod users;
