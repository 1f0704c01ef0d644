//! Writing a prepared dataset (the layout of `carina_core::manifest`), for
//! [`prepare`](super::prepare) and the synthetic generator (`carina-synth`)
//! alike: everything goes into a temporary folder beside the output, one
//! COCO file per split, then `summary.json`, then `manifest.json` last, and
//! the folder is renamed into place, so that an interrupted or failed run
//! never leaves a folder that looks complete (nor, on an error, anything at
//! all). [`SplitCounts`] are the per-split counts both summaries hold.

use crate::error::{DatasetError, OutputError};
use carina_core::BBox;
use carina_core::coco::{CocoAnnotation, CocoDataset};
use carina_core::manifest::{MANIFEST_FILE, PreparedManifest};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A prepared dataset being written: a temporary folder beside the output
/// with an `images` folder for the caller to fill. Dropped without
/// [`finish`](Self::finish) (on an error), it removes the temporary folder.
pub struct PreparedWriter {
    out: PathBuf,
    dir: tempfile::TempDir,
    /// Split name → COCO file written.
    splits: BTreeMap<String, String>,
}

impl PreparedWriter {
    /// Starts writing the dataset `out`, which must not exist or be an
    /// empty folder; the temporary folder's name starts with `prefix`.
    pub fn create(out: &Path, prefix: &str) -> Result<Self, OutputError> {
        let out_err = |message: String| OutputError {
            path: out.to_path_buf(),
            message,
        };
        if out.exists() {
            let empty = out
                .read_dir()
                .map_err(|_| out_err("exists and is not a readable folder".into()))?
                .next()
                .is_none();
            if !empty {
                return Err(out_err("already exists and is not empty".into()));
            }
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| out_err(format!("cannot create its parent folder: {e}")))?;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&parent)
            .map_err(|e| out_err(format!("cannot write beside it: {e}")))?;
        std::fs::create_dir(dir.path().join("images"))
            .map_err(|e| out_err(format!("cannot create images folder: {e}")))?;
        Ok(Self {
            out: out.to_path_buf(),
            dir,
            splits: BTreeMap::new(),
        })
    }

    /// Where the images go (the manifest's `images_dir`, `images`).
    pub fn images_dir(&self) -> PathBuf {
        self.dir.path().join("images")
    }

    /// An error about the output folder, for the caller's own steps.
    pub fn error(&self, message: String) -> OutputError {
        OutputError {
            path: self.out.clone(),
            message,
        }
    }

    /// Writes `{split}.json`.
    pub fn write_split(&mut self, split: &str, coco: &CocoDataset) -> Result<(), OutputError> {
        let file = format!("{split}.json");
        self.write(&file, coco)?;
        self.splits.insert(split.to_string(), file);
        Ok(())
    }

    /// Split name → COCO file, of the splits written so far (the manifest's
    /// `splits`).
    pub fn splits(&self) -> &BTreeMap<String, String> {
        &self.splits
    }

    /// Writes `summary.json`, then `manifest.json` (whose `splits` must be
    /// [`splits`](Self::splits)), and moves the folder into place.
    pub fn finish<S: Serialize>(
        self,
        summary: &S,
        manifest: &PreparedManifest,
    ) -> Result<(), OutputError> {
        debug_assert_eq!(
            manifest.splits, self.splits,
            "the manifest lists the splits written"
        );
        self.write("summary.json", summary)?;
        // The manifest goes last: a folder with one is complete.
        self.write(MANIFEST_FILE, manifest)?;
        if self.out.exists() {
            std::fs::remove_dir(&self.out)
                .map_err(|e| self.error(format!("cannot replace the empty folder: {e}")))?;
        }
        let Self { out, dir, .. } = self;
        let kept = dir.keep();
        std::fs::rename(&kept, &out).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            OutputError {
                message: format!("cannot move the finished dataset into place: {e}"),
                path: out,
            }
        })
    }

    fn write<T: Serialize>(&self, file: &str, value: &T) -> Result<(), OutputError> {
        write_json(&self.dir.path().join(file), value).map_err(|e| match e {
            DatasetError::Io { source, .. } => self.error(format!("cannot write {file}: {source}")),
            e => self.error(e.to_string()),
        })
    }
}

/// Writes JSON through a temporary file and a rename, so a reader never sees
/// half a file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), DatasetError> {
    let tmp: PathBuf = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| DatasetError::Invalid(format!("{}: {e}", path.display())))?;
    std::fs::write(&tmp, bytes).map_err(|e| DatasetError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DatasetError::io(path, e))
}

/// A box of a prepared COCO file: `bbox` in model-input pixels.
pub fn box_annotation(id: i64, image_id: i64, category_id: i64, bbox: &BBox) -> CocoAnnotation {
    CocoAnnotation {
        area: bbox.area(),
        ..CocoAnnotation::new(id, image_id, category_id, bbox.to_xywh())
    }
}

/// Counts of one class in one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassSplitCounts {
    pub images: usize,
    pub boxes: usize,
}

/// The per-split counts of `summary.json` (prepare's and carina-synth's
/// summaries both flatten it into theirs).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SplitCounts {
    /// split → number of images.
    pub images: BTreeMap<String, usize>,
    /// split → number of boxes.
    pub boxes: BTreeMap<String, usize>,
    /// split → images without any box.
    pub images_without_boxes: BTreeMap<String, usize>,
    /// class name → split → counts.
    pub per_class: BTreeMap<String, BTreeMap<String, ClassSplitCounts>>,
}

impl SplitCounts {
    /// Starts `split` at zero, for each of `classes` too.
    pub fn open(&mut self, split: &str, classes: &[String]) {
        for name in classes {
            self.class(name, split);
        }
        self.images.insert(split.into(), 0);
        self.boxes.insert(split.into(), 0);
        self.images_without_boxes.insert(split.into(), 0);
    }

    /// Counts an image of `split` (opened before) with a box of each class
    /// of `boxes` (one class name per box).
    pub fn add_image<'a>(&mut self, split: &str, boxes: impl IntoIterator<Item = &'a str>) {
        *self.images.entry(split.into()).or_default() += 1;
        let mut seen: Vec<&str> = Vec::new();
        for name in boxes {
            *self.boxes.entry(split.into()).or_default() += 1;
            let c = self.class(name, split);
            c.boxes += 1;
            if !seen.contains(&name) {
                seen.push(name);
                c.images += 1;
            }
        }
        if seen.is_empty() {
            *self.images_without_boxes.entry(split.into()).or_default() += 1;
        }
    }

    fn class(&mut self, name: &str, split: &str) -> &mut ClassSplitCounts {
        self.per_class
            .entry(name.to_string())
            .or_default()
            .entry(split.to_string())
            .or_default()
    }
}
