//! Carina's dataset tools, free of HTTP and tensors.
//!
//! - [`import`]: VinDr-CXR `train.csv`, the NIH ChestX-ray14 box list and
//!   COCO JSON into one normalised [`Dataset`] (boxes in original pixels with
//!   class, provenance, status), with an [`ImportReport`] that counts what was
//!   kept and dropped per source class and lists every problem by file and line.
//! - [`cocoext`]: the normalised dataset as a COCO file (with Carina's extras).
//! - [`export`]: COCO JSON, VinDr-style CSV and YOLO text files, after a
//!   [`Filter`] on source (radiologist, model, fused) and review status.
//! - [`merge`]: fusing readers with Weighted Boxes Fusion (`carina_eval::wbf`).
//! - [`prepare`] and [`split`]: a prepared training folder (letterboxed images,
//!   fused readers, seeded stratified split, manifest), written by
//!   [`prepare::PreparedWriter`], which `carina-synth` writes with too.
//!
//! ```no_run
//! use carina_dataset::{import, classes::SourceFormat};
//! use std::path::Path;
//! let opts = import::ImportOptions::default();
//! let (ds, report) = import::import(SourceFormat::Nih, Path::new("BBox_List_2017.csv"), &opts)?;
//! println!("{} images, {} boxes kept", ds.images.len(), report.boxes_kept);
//! # Ok::<(), carina_dataset::DatasetError>(())
//! ```

pub mod classes;
pub mod cocoext;
pub mod error;
pub mod export;
pub mod images;
pub mod import;
pub mod merge;
pub mod model;
pub mod prepare;
pub mod report;
pub mod split;

pub use error::{DatasetError, OutputError};
pub use model::{Annotation, Dataset, Filter, ImageRecord, SourceKind};
pub use report::{ImportReport, Issue, IssueKind};
