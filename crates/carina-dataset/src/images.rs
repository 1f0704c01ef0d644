//! Finding the image file for an id in an images folder, and reading its size.

use crate::error::DatasetError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Extensions tried, in order, when an id names a file without its extension
/// (VinDr-CXR ids are bare; its images are `.dicom`, or `.png` once converted).
const EXTENSIONS: [&str; 7] = ["dicom", "dcm", "png", "jpg", "jpeg", "tif", "tiff"];

/// The files of an images folder (walked recursively), by file name and by
/// file stem.
#[derive(Debug, Default)]
pub struct ImageIndex {
    by_name: HashMap<String, PathBuf>,
    by_stem: HashMap<String, PathBuf>,
}

impl ImageIndex {
    pub fn scan(dir: &Path) -> Result<Self, DatasetError> {
        let mut idx = ImageIndex::default();
        let meta = std::fs::metadata(dir).map_err(|e| DatasetError::io(dir, e))?;
        if !meta.is_dir() {
            return Err(DatasetError::Invalid(format!(
                "{}: the images folder is not a directory",
                dir.display()
            )));
        }
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| DatasetError::io(&d, e))?;
            for e in entries {
                let e = e.map_err(|e| DatasetError::io(&d, e))?;
                let p = e.path();
                let ft = e.file_type().map_err(|e| DatasetError::io(&p, e))?;
                if ft.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let name = name.to_string();
                let ext_ok = p
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()));
                if ext_ok && let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                    // Keep the preferred extension when an id has several files.
                    let stem = stem.to_string();
                    let better = match idx.by_stem.get(&stem) {
                        None => true,
                        Some(old) => ext_rank(&p) < ext_rank(old),
                    };
                    if better {
                        idx.by_stem.insert(stem, p.clone());
                    }
                }
                idx.by_name.insert(name, p);
            }
        }
        Ok(idx)
    }

    /// The file for `id`: an exact file name first, then a file whose stem is `id`.
    pub fn find(&self, id: &str) -> Option<&Path> {
        self.by_name
            .get(id)
            .or_else(|| self.by_stem.get(id))
            .map(PathBuf::as_path)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

fn ext_rank(p: &Path) -> usize {
    let ext = p
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    EXTENSIONS
        .iter()
        .position(|e| *e == ext)
        .unwrap_or(EXTENSIONS.len())
}

/// Width and height of an image file (PNG, JPEG or DICOM), judged from its
/// content and read from the header only ([`carina_imaging::probe`]): the
/// pixel data is not decoded, so listing a folder of large DICOMs stays
/// cheap. `prepare` decodes every image anyway and refuses one whose decoded
/// size differs from the imported one.
pub fn probe_size(path: &Path) -> Result<(u32, u32), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let p = carina_imaging::probe(&bytes, &carina_imaging::Limits::default())
        .map_err(|e| e.to_string())?;
    Ok((p.width, p.height))
}
