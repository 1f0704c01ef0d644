//! The model registry's folder logic: check a model folder (its
//! `model.json`, read typed and migrated to the current format, and with
//! `load` the weights, by loading them with `carina_detect::Detector`), store
//! its weights and register it. Used by model uploads, the bundled model and
//! fine-tuning.

use crate::Workbench;
use bytes::Bytes;
use carina_core::model_card::{ModelCard, ModelCardError};
use carina_store::{ModelRecord, ModelSource, NewModel, StoreError};
use sha2::{Digest, Sha256};

/// A model folder's files.
pub struct ModelFolder {
    pub weights: Bytes,
    pub model_json: Vec<u8>,
    pub card: Option<String>,
    /// Overrides of `model.json`'s `name` / `version`.
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The files are not a loadable model (the message says why).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl From<ModelCardError> for RegisterError {
    fn from(e: ModelCardError) -> Self {
        RegisterError::Invalid(e.to_string())
    }
}

fn text(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the registry row says about the network: from the loaded weights
/// (`load`) or from the card alone.
async fn network(
    wb: &Workbench<'_>,
    folder: &ModelFolder,
    card: &ModelCard,
    load: bool,
) -> Result<(String, usize, Vec<String>, usize), RegisterError> {
    if !load {
        return Ok((
            card.arch.clone(),
            card.num_classes,
            card.class_names.clone(),
            card.input_size.unwrap_or(0),
        ));
    }
    let weights = folder.weights.clone();
    let json = card.to_json_pretty();
    // Under DATA_DIR/tmp, which the sweeper clears after a crash.
    let tmp_root = wb.temp_dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<_, RegisterError> {
        let dir = std::fs::create_dir_all(&tmp_root)
            .and_then(|()| tempfile::tempdir_in(&tmp_root))
            .map_err(|e| RegisterError::Other(e.into()))?;
        std::fs::write(dir.path().join("model.safetensors"), &weights)
            .and_then(|()| std::fs::write(dir.path().join("model.json"), &json))
            .map_err(|e| RegisterError::Other(e.into()))?;
        let d = carina_detect::Detector::load(dir.path())
            .map_err(|e| RegisterError::Invalid(format!("the model does not load: {e}")))?;
        let c = d.config();
        Ok((
            c.arch.clone(),
            c.num_classes,
            d.class_names().to_vec(),
            c.image_size,
        ))
    })
    .await
    .map_err(|e| RegisterError::Other(e.into()))?
}

/// Checks `folder` (with `load`: by loading it with the detector), stores
/// its weights and registers it.
pub async fn register_folder(
    wb: &Workbench<'_>,
    folder: ModelFolder,
    source: ModelSource,
    user: &str,
    deploy: bool,
    load: bool,
) -> Result<ModelRecord, RegisterError> {
    let card = ModelCard::parse(&folder.model_json)?;
    let (arch, num_classes, class_names, input_size) = network(wb, &folder, &card, load).await?;
    let sha = sha256_hex(&folder.weights);
    let name = folder
        .name
        .or_else(|| text(card.name.as_ref()))
        .unwrap_or_else(|| format!("carina-{arch}"));
    let version = folder
        .version
        .or_else(|| text(card.version.as_ref()))
        .or_else(|| text(card.created.as_ref()))
        .unwrap_or_else(|| sha[..12].to_string());
    if name.len() > 200 || version.len() > 200 {
        return Err(RegisterError::Invalid(
            "name and version must be at most 200 characters".into(),
        ));
    }
    // A key of its own (never reused, like image keys), written before the
    // row: the sweeper's ordering argument (carina-store `sweep`) relies on it.
    let key = format!(
        "models/{sha}-{:016x}/model.safetensors",
        rand::random::<u64>()
    );
    let store = wb.store;
    store.objects.put(&key, folder.weights).await?;
    let new = NewModel {
        name,
        version,
        arch,
        num_classes: num_classes as u32,
        class_names,
        input_size: input_size as u32,
        synthetic: card.synthetic,
        metrics: card.metrics(),
        model_json: card.to_value(),
        card: folder.card,
        weights_key: key,
        weights_sha256: sha,
        source,
        created_by: user.to_string(),
    };
    match store.db.register_model(&new, deploy).await {
        Ok(m) => Ok(m),
        Err(e) => {
            // Nothing else points at the weights this call wrote.
            let _ = store.objects.delete(&new.weights_key).await;
            Err(e.into())
        }
    }
}
