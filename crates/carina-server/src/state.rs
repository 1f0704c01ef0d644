//! What every handler can reach: the store and the configuration. Nothing
//! else is kept in memory but caches (loaded detectors by model id, decoded
//! images by object key: immutable content), so several processes can serve
//! one database.

use crate::config::Config;
use crate::decode_budget::DecodeBudget;
use crate::render_cache::RenderCache;
use crate::worker::detectors::DetectorCache;
use carina_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    /// Key of the de-identification pseudonyms. It lives in the database
    /// (created by the first process) so every process and restart maps a
    /// patient to the same pseudonym.
    pub deid_secret: Arc<Vec<u8>>,
    /// Wakes this process's worker when a job is queued here (other
    /// processes' workers find it by polling).
    pub job_signal: Arc<tokio::sync::Notify>,
    /// Loaded detectors by model id.
    pub detectors: Arc<DetectorCache>,
    /// Decoded images for `/render`, bounded by `config.render_cache_mb`.
    pub render_cache: Arc<RenderCache>,
    /// Memory for decoding images, shared by every decode of this process
    /// (`config.decode_memory_mb`).
    pub decode_budget: Arc<DecodeBudget>,
}

impl AppState {
    /// The image `id`, or a 404.
    pub async fn image(&self, id: i64) -> crate::error::AppResult<carina_store::Image> {
        self.store
            .db
            .image(id)
            .await?
            .ok_or_else(|| crate::error::AppError::not_found("image"))
    }
}
