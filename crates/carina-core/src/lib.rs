//! Carina's domain types, free of I/O, HTTP, SQL and tensors.
//!
//! - [`BBox`]: one box convention for the whole product — absolute pixel
//!   coordinates `[x_min, y_min, x_max, y_max]` of the original image, validated.
//! - [`findings`]: the default label set (nine findings) and the mappings from
//!   the VinDr-CXR and NIH ChestX-ray14 class names.
//! - [`coco`] and [`manifest`]: the files datasets, training and evaluation exchange.
//! - [`Letterbox`]: resize-and-pad to a model input and back.
//! - [`model_card`]: `model.json`, one shape for every model folder, with its format versions.
//! - [`provenance`]: who made a box (a radiologist or a model) and its review status.
//!
//! ```
//! use carina_core::{BBox, findings::Finding};
//! let b = BBox::new(10.0, 20.0, 110.0, 70.0).unwrap();
//! assert_eq!(b.area(), 5000.0);
//! assert!(BBox::new(5.0, 0.0, 1.0, 1.0).is_err());
//! assert_eq!(Finding::from_vindr("Pleural effusion"), Some(Finding::PleuralEffusion));
//! ```

pub mod bbox;
pub mod coco;
pub mod findings;
pub mod letterbox;
pub mod manifest;
pub mod model_card;
pub mod provenance;
pub mod report_status;
pub mod time;

pub use bbox::{BBox, BBoxError};
pub use findings::{Finding, LabelSet};
pub use letterbox::Letterbox;
pub use provenance::{BoxStatus, Provenance};
