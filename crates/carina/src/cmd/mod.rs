//! One module per subcommand area.

pub mod admin;
pub mod bench;
pub mod dataset;
pub mod eval;
pub mod export;
pub mod ingest;
pub mod labels;
pub mod predict;
pub mod serve;
pub mod train;
pub mod worker;
