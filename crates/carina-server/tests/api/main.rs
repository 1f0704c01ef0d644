//! Black-box tests of the HTTP API. Each test starts its own app on port 0
//! with a temporary data directory and runs once per database backend.

mod helpers;

mod accounts;
mod agreement_project;
mod annotations;
mod audit;
mod auth;
mod authz;
mod authz_matrix;
mod blind;
mod conformance;
mod dicomweb;
mod dicomweb_client;
mod dicomweb_sr;
mod display;
mod images;
mod labels;
mod learn;
mod misc;
mod openapi;
mod ownership;
mod privacy;
mod readings;
mod registry;
mod render_cache;
mod report_formats;
mod reports;
mod review;
mod s3;
mod send;
mod send_on_sign;
mod sr;
mod sr_external;
mod studies;
mod throttle;
