//! The demo model embedded in the binary (`carina-assets`'
//! `models/carina-demo/`): registered and deployed at start-up when the registry
//! is empty, so a fresh workbench proposes boxes out of the box.

use crate::state::AppState;
use carina_learn::{ModelFolder, RegisterError, Workbench, register_folder};
use carina_store::{ModelSource, StoreError};

use carina_assets::demo_model::{CARD, MODEL_JSON, WEIGHTS};

pub async fn ensure_registered(state: &AppState) -> anyhow::Result<()> {
    if !state.store.db.models().await?.is_empty() {
        return Ok(());
    }
    let folder = ModelFolder {
        weights: bytes::Bytes::from_static(WEIGHTS),
        model_json: MODEL_JSON.as_bytes().to_vec(),
        card: Some(CARD.to_string()),
        name: None,
        version: None,
    };
    // The embedded folder is not loaded here (the worker loads it on first
    // use); its model.json is still checked.
    let tmp = crate::sweep::temp_dir(&state.config);
    let wb = Workbench::new(&state.store, &tmp);
    match register_folder(&wb, folder, ModelSource::Bundled, "carina", true, false).await {
        Ok(m) => {
            tracing::info!(model = m.id, name = %m.name, version = %m.version, synthetic = m.synthetic, "bundled model registered and deployed");
            Ok(())
        }
        // Another process registered it at the same moment.
        Err(RegisterError::Store(StoreError::Conflict(_))) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}
