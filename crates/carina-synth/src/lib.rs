//! Synthetic chest radiographs with ground-truth finding boxes, for
//! training and testing Carina's detector where no annotated data exists.
//!
//! Two ways to make an image:
//! - **procedural**: a whole PA radiograph rendered from a random anatomy
//!   (soft tissue, lungs with vessels, mediastinum and heart, diaphragm,
//!   ribs, clavicles, spine) through a simulated detector;
//! - **insert**: findings drawn into real normal radiographs.
//!
//! The nine findings each imitate their radiographic appearance; box sizes
//! and positions follow the NIH ChestX-ray14 box list ([`stats`]). Every
//! image is marked synthetic. Nothing here has clinical validity.
//!
//! ```
//! use carina_core::Finding;
//! let r = carina_synth::render_procedural(7, 256, &[Finding::NoduleMass]);
//! assert_eq!(r.image.w.max(r.image.h), 256);
//! assert!(r.annotations.iter().all(|a| a.finding == Finding::NoduleMass));
//! ```

pub mod anatomy;
pub mod dataset;
pub mod display;
pub mod field;
pub mod frame;
pub mod insert;
pub mod lesions;
pub mod procedural;
pub mod render;
pub mod stats;
pub mod vessels;

use carina_core::{BBox, Finding};

pub use dataset::{Mode, SynthConfig, SynthSummary, write_dataset};
pub use insert::{Background, load_backgrounds, render_insert};
pub use procedural::render_procedural;

/// Version of the generator, recorded in every dataset it writes: bump it
/// whenever the images a seed produces change.
pub const GENERATOR_VERSION: &str = "carina-synth 1";

/// One finding instance and its box (pixels of the rendered image).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Annotated {
    pub finding: Finding,
    pub bbox: BBox,
}

/// A rendered radiograph before quantisation.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Grey levels in [0, 1]; its longer side is the dataset's image size.
    pub image: display::Field,
    pub annotations: Vec<Annotated>,
    /// Size of the original the image was scaled from, and the scale.
    pub orig_width: u32,
    pub orig_height: u32,
    pub scale: f64,
}

/// Why a dataset could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid settings: {0}")]
    Config(String),
    #[error("backgrounds: {0}")]
    Backgrounds(String),
    #[error("output folder {path}: {message}")]
    Output { path: String, message: String },
    #[error("encoding an image: {0}")]
    Encode(#[from] image::ImageError),
}

impl From<carina_dataset::OutputError> for SynthError {
    fn from(e: carina_dataset::OutputError) -> Self {
        SynthError::Output {
            path: e.path.display().to_string(),
            message: e.message,
        }
    }
}
