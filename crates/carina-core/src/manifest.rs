//! The manifest of a prepared dataset: what `carina dataset prepare` and
//! `carina dataset synth` write and what `carina train` / `carina eval model`
//! read.
//!
//! Layout of a prepared dataset folder:
//! ```text
//! DIR/manifest.json      this struct
//! DIR/<split>.json       COCO instances per split (train.json, val.json, ...)
//! DIR/images/…           the images the COCO files name (file_name is relative to images/)
//! DIR/summary.json       counts per class and split
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MANIFEST_FORMAT: &str = "carina-prepared/1";
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedManifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// True when any image is generated: everything trained on it must say so.
    pub synthetic: bool,
    /// Free text: where the data came from and how it was made.
    pub description: String,
    /// Square model input size the images were prepared for (e.g. 512).
    pub image_size: u32,
    /// 8 or 16.
    pub bit_depth: u8,
    /// Class names in class-id order (category ids 0..n in the COCO files).
    pub class_names: Vec<String>,
    /// Split name → COCO file name relative to the folder.
    pub splits: BTreeMap<String, String>,
    /// Folder of the images, relative to the manifest (normally `images`).
    pub images_dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// RFC 3339 time of creation.
    pub created: String,
    /// The inputs, e.g. `["vindr:train.csv"]` or `["synth:procedural"]`.
    #[serde(default)]
    pub sources: Vec<String>,
}
