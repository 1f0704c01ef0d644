//! The model registry's folder logic: check a model folder (loading it
//! with `carina_detect::Detector`), store its weights and register it. Used
//! by uploads (`routes::models`), the bundled model and fine-tuning.

use crate::error::AppError;
use crate::state::AppState;
use bytes::Bytes;
use carina_store::{ModelRecord, ModelSource, NewModel, StoreError};
use serde_json::Value;

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

impl From<RegisterError> for AppError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::Invalid(m) => AppError::unprocessable(m),
            RegisterError::Store(s) => s.into(),
            RegisterError::Other(e) => AppError::internal(e),
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Checks `folder` (with `load`: by loading it with the detector), stores
/// its weights and registers it.
pub async fn register_folder(
    state: &AppState,
    folder: ModelFolder,
    source: ModelSource,
    user: &str,
    deploy: bool,
    load: bool,
) -> Result<ModelRecord, RegisterError> {
    let card: Value = serde_json::from_slice(&folder.model_json)
        .map_err(|e| RegisterError::Invalid(format!("model.json is not JSON: {e}")))?;
    let parsed: carina_detect::ModelCard = serde_json::from_value(card.clone()).map_err(|e| {
        RegisterError::Invalid(format!(
            "model.json is not a model card (it needs arch, num_classes, class_names): {e}"
        ))
    })?;
    let (arch, num_classes, class_names, input_size) = if load {
        let weights = folder.weights.clone();
        let json = folder.model_json.clone();
        // Under DATA_DIR/tmp, which the sweeper clears after a crash.
        let tmp_root = crate::sweep::temp_dir(&state.config);
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
        .map_err(|e| RegisterError::Other(e.into()))??
    } else {
        let size = card["input_size"].as_u64().unwrap_or(0) as usize;
        let names = parsed.class_names.clone();
        (parsed.arch.clone(), parsed.num_classes, names, size)
    };
    let sha = crate::routes::ingest::sha256_hex(&folder.weights);
    let name = folder
        .name
        .or_else(|| text(&card, "name"))
        .unwrap_or_else(|| format!("carina-{arch}"));
    let version = folder
        .version
        .or_else(|| text(&card, "version"))
        .or_else(|| text(&card, "created"))
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
    state.store.objects.put(&key, folder.weights).await?;
    let metrics = card
        .get("validation")
        .filter(|v| !v.is_null())
        .cloned()
        .or_else(|| card.get("metrics").filter(|v| !v.is_null()).cloned());
    let new = NewModel {
        name,
        version,
        arch,
        num_classes: num_classes as u32,
        class_names,
        input_size: input_size as u32,
        synthetic: card["synthetic"].as_bool().unwrap_or(false),
        model_json: card,
        card: folder.card,
        metrics,
        weights_key: key,
        weights_sha256: sha,
        source,
        created_by: user.to_string(),
    };
    match state.store.db.register_model(&new, deploy).await {
        Ok(m) => Ok(m),
        Err(e) => {
            // Nothing else points at the weights this call wrote.
            let _ = state.store.objects.delete(&new.weights_key).await;
            Err(e.into())
        }
    }
}
