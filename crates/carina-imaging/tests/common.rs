//! Helpers shared by the test modules: where the real sample files are.

use std::path::PathBuf;

/// `../shared/data/samples` beside the clone (see the workspace README).
pub fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples")
}

pub fn read_sample(rel: &str) -> Vec<u8> {
    let p = samples_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Every sample image, relative to [`samples_dir`].
pub fn all_samples() -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["dicom", "png", "jpeg"] {
        let dir = samples_dir().join(sub);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("LICENSE"))
            .map(|n| format!("{sub}/{n}"))
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}
