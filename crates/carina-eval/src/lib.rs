//! Carina's evaluation toolkit, free of tensors and HTTP.
//!
//! - [`cocoeval`]: the twelve COCO box statistics and per-class AP, number
//!   for number as pycocotools' `COCOeval`, read from files by [`input`].
//! - [`auc`]: image-level ROC AUC per class (ties counted half).
//! - [`operating`] and [`confusion`]: precision, recall, F1, accuracy, the
//!   best-F1 threshold, matched IoUs and a confusion matrix at one score threshold.
//! - [`plot`]: precision–recall, ROC, confusion and loss figures as PNG.
//! - [`report`]: a self-contained HTML report with the figures inlined.
//! - [`prepared`]: a prepared dataset's split with its ground truth in
//!   original pixels, for `carina eval model`; [`losslog`]: training logs.
//! - [`summary`]: all of the above for `carina eval coco`, as JSON or a table.
//! - [`synthetic`]: seeded generated data for the benchmark and property tests.
//! - [`wbf`]: Weighted Boxes Fusion of several readers' (or models') boxes,
//!   matching the `ensemble-boxes` reference (`conf_type="avg"`).
//!
//! ```
//! use carina_core::BBox;
//! use carina_eval::wbf::{weighted_boxes_fusion, WbfBox, WbfParams};
//! let a = vec![WbfBox::new(0, BBox::new(10.0, 10.0, 50.0, 50.0).unwrap(), 1.0)];
//! let b = vec![WbfBox::new(0, BBox::new(12.0, 10.0, 52.0, 50.0).unwrap(), 1.0)];
//! let fused = weighted_boxes_fusion(&[a, b], None, &WbfParams::default()).unwrap();
//! assert_eq!(fused.len(), 1);
//! assert!((fused[0].bbox.x_min() - 11.0).abs() < 1e-9);
//! assert!((fused[0].score - 1.0).abs() < 1e-12);
//! ```

pub mod auc;
pub mod cocoeval;
pub mod confusion;
pub mod input;
pub mod losslog;
pub mod operating;
pub mod plot;
pub mod prepared;
pub mod report;
pub mod summary;
pub mod synthetic;
pub mod wbf;

pub use cocoeval::{CocoEval, CocoStats, evaluate};
pub use input::{Category, Detection, GroundTruth, GtBox, InputError};
pub use summary::{EvalSummary, summarize};
