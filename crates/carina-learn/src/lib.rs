//! Learning from the radiologists' corrections, apart from HTTP: the model
//! registry's folder logic ([`registry`]: check a model folder, store its
//! weights, register it), the workbench's reviewed boxes as a dataset
//! ([`dataset`]), a detector evaluated on a split of a prepared dataset
//! ([`eval`]) and fine-tuning ([`fine_tune`]: prepare, train, compare on
//! held-out images, register undeployed).
//!
//! The server (`POST /models`, the bundled model, the `train` job) and the
//! CLI (`carina train --from-workbench`, `carina eval model`, `carina
//! dataset export --from-db`) call it; it knows the store, the detector and
//! training, never a request or a route.

pub mod dataset;
pub mod eval;
pub mod fine_tune;
pub mod registry;

pub use carina_core::model_card::{FineTuneRequest, HeldOutMetrics};
pub use dataset::workbench_dataset;
pub use eval::{class_categories, detect_split, evaluate_model};
pub use fine_tune::{FineTuneOutcome, Ready, check_ready, fine_tune, validate_request};
pub use registry::{ModelFolder, RegisterError, register_folder};

use carina_store::Store;
use std::path::Path;

/// What learning needs of a running workbench: its store, and the folder
/// for temporary files (`DATA_DIR/tmp`, which the sweeper clears after a crash).
#[derive(Clone, Copy)]
pub struct Workbench<'a> {
    pub store: &'a Store,
    pub temp_dir: &'a Path,
}

impl<'a> Workbench<'a> {
    pub fn new(store: &'a Store, temp_dir: &'a Path) -> Self {
        Self { store, temp_dir }
    }
}
