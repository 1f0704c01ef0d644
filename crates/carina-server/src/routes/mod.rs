//! One module per resource; `build_router` merges their routers.

pub mod agreement;
pub mod annotations;
pub mod audit;
pub mod auth;
pub mod burned_in;
pub mod dicomweb;
pub mod images;
pub mod ingest;
pub mod labels;
pub mod models;
pub mod predictions;
pub mod preferences;
pub mod reading_types;
pub mod readings;
pub mod report_types;
pub mod reports;
pub mod send;
pub mod sr;
pub mod studies;
pub mod tokens;
pub mod users;
