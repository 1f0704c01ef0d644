//! Loaded detectors, one per model id, kept for the life of the process.
//! A model's weights live in the object store; the first use writes its
//! folder (`model.safetensors` + `model.json`) under the data directory's
//! `model-cache/` (assembled under `DATA_DIR/tmp`, which the sweeper clears
//! after a crash, and renamed into place) and loads it with `Detector::load`
//! on the blocking pool.

use carina_detect::Detector;
use carina_store::{ModelRecord, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;

pub struct DetectorCache {
    dir: PathBuf,
    tmp: PathBuf,
    loaded: Mutex<HashMap<i64, Arc<Detector>>>,
}

impl DetectorCache {
    /// Folders under `dir`, written first under `tmp` (on the same file
    /// system, so the rename is atomic).
    pub fn new(dir: PathBuf, tmp: PathBuf) -> Self {
        Self {
            dir,
            tmp,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The detector of `model`, loading it on first use (one load at a time).
    pub async fn get(&self, store: &Store, model: &ModelRecord) -> anyhow::Result<Arc<Detector>> {
        let mut loaded = self.loaded.lock().await;
        if let Some(d) = loaded.get(&model.id) {
            return Ok(d.clone());
        }
        let folder = self.materialise(store, model).await?;
        let detector = tokio::task::spawn_blocking(move || Detector::load(&folder)).await??;
        let detector = Arc::new(detector);
        loaded.insert(model.id, detector.clone());
        tracing::info!(model = model.id, name = %model.name, version = %model.version, "detector loaded");
        Ok(detector)
    }

    /// Writes the model's folder if it is not there yet (written to a
    /// temporary name and renamed, so a crash never leaves half a folder).
    async fn materialise(&self, store: &Store, model: &ModelRecord) -> anyhow::Result<PathBuf> {
        let sha = &model.weights_sha256;
        let folder = self
            .dir
            .join(format!("{}-{}", model.id, &sha[..sha.len().min(16)]));
        if folder.join("model.safetensors").exists() {
            return Ok(folder);
        }
        let weights = store.objects.get(&model.weights_key).await?;
        let card = serde_json::to_vec_pretty(&model.model_json)?;
        let tmp = self.tmp.join(format!(
            "model-cache-{}-{:08x}",
            model.id,
            rand::random::<u32>()
        ));
        let (t, f) = (tmp.clone(), folder.clone());
        tokio::task::spawn_blocking(move || write_folder(&t, &f, &weights, &card)).await??;
        Ok(folder)
    }
}

fn write_folder(tmp: &Path, folder: &Path, weights: &[u8], card: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(tmp)?;
    if let Some(parent) = folder.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(tmp.join("model.safetensors"), weights)?;
    std::fs::write(tmp.join("model.json"), card)?;
    match std::fs::rename(tmp, folder) {
        Ok(()) => Ok(()),
        // Another process wrote the same folder first.
        Err(_) if folder.join("model.safetensors").exists() => {
            let _ = std::fs::remove_dir_all(tmp);
            Ok(())
        }
        Err(e) => Err(e),
    }
}
