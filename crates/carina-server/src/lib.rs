//! Carina's workbench web service: the JSON API of `docs/http-api.md`
//! (accounts, API tokens, users, labels, images, annotations with
//! optimistic concurrency and history), its OpenAPI document, and the
//! embedded browser editor. Persistence is `carina-store`; pixels are
//! `carina-imaging`.
//!
//! - [`build_router`] makes the whole app from an [`AppState`] (tests drive it
//!   with `oneshot`);
//! - [`Application::build`] connects the store, binds the configured address
//!   (port 0 picks a free port) and reports it; [`Application::run`] serves.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use carina_server::{Application, Config};
//! let config = Config { bind: "127.0.0.1:0".into(), ..Config::default() };
//! let app = Application::build(config).await?;
//! println!("listening on http://{}", app.local_addr());
//! app.run(std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod assets;
pub mod auth;
pub mod blind;
mod bundled;
pub mod config;
pub mod decode_budget;
pub mod dicom;
pub mod dicom_ids;
pub mod error;
pub mod extract;
mod openapi;
pub mod render_cache;
mod reporting;
mod route_table;
mod routes;
pub mod sr_export;
pub mod sr_import;
pub mod state;
pub mod sweep;
pub mod worker;

pub use config::{BurnedInPolicy, Config, ConfigError, FilenamePolicy, Secret, WorkerMode};
pub use route_table::route_table;
// The one ingest of every route into the library, for `carina ingest`'s local mode.
pub use routes::ingest::{Ingested, ingest_files};
pub use state::AppState;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use carina_store::{Database, ObjectStorage, Store};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// The OpenAPI 3.1 description of every route, generated from the handlers
/// and their request and response types; served at `/api/openapi.json`.
pub fn openapi_json() -> &'static str {
    openapi::json()
}

/// The whole application: `/api/v1/...`, `/api/openapi.json`, and the editor.
pub fn build_router(state: AppState) -> Router {
    app_routes(state.config.max_upload_bytes())
        .fallback(assets::fallback)
        .layer(middleware::from_fn(security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings may hold search terms.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

/// Every route of the application, before the editor's fallback and the
/// layers: what [`build_router`] serves and [`route_table`] lists.
fn app_routes(max_upload: usize) -> Router<AppState> {
    let api = Router::new()
        .merge(routes::auth::routes())
        .merge(routes::tokens::routes())
        .merge(routes::users::routes())
        .merge(routes::audit::routes())
        .merge(routes::labels::routes())
        .merge(routes::images::routes(max_upload))
        .merge(routes::burned_in::routes())
        .merge(routes::annotations::routes())
        .merge(routes::predictions::routes())
        .merge(routes::send::routes())
        .merge(routes::models::routes(max_upload))
        .merge(routes::preferences::routes())
        .merge(routes::reports::routes())
        .merge(routes::sr::routes())
        .merge(routes::readings::routes())
        .merge(routes::agreement::routes())
        .merge(routes::studies::routes())
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api)
        .route("/api/openapi.json", get(openapi::openapi))
        .nest("/dicom-web", routes::dicomweb::routes(max_upload))
}

async fn method_not_allowed() -> error::AppError {
    error::AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// Connects the database (migrating it) and the object store named by `config`.
pub async fn connect(config: Config) -> anyhow::Result<AppState> {
    use anyhow::Context;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let db = Database::connect(config.database_url().expose())
        .await
        .context("cannot open the database")?;
    let objects = match &config.object_store_url {
        Some(url) => ObjectStorage::from_url_with(
            url,
            config
                .object_store_options
                .iter()
                .map(|(k, v)| (k, v.expose())),
        )
        .context("cannot open the object store")?,
        None => ObjectStorage::local(&config.data_dir.join("objects"))
            .context("cannot open the local object store")?,
    };
    let secret = db
        .setting_or_init("deid_secret", &auth::random_token())
        .await
        .context("cannot read the de-identification key")?;
    tracing::info!(
        database = db.backend_name(),
        objects = objects.description(),
        "store ready"
    );
    let cache_dir = config.data_dir.join("model-cache");
    let config_decode_bytes = config.decode_memory_bytes();
    let tmp_dir = sweep::temp_dir(&config);
    let state = AppState {
        store: Store::new(db, objects),
        render_cache: Arc::new(render_cache::RenderCache::new(config.render_cache_bytes())),
        config: Arc::new(config),
        deid_secret: Arc::new(secret.into_bytes()),
        job_signal: Arc::new(tokio::sync::Notify::new()),
        detectors: Arc::new(worker::DetectorCache::new(cache_dir, tmp_dir)),
        decode_budget: Arc::new(decode_budget::DecodeBudget::new(config_decode_bytes)),
    };
    if state.config.bundled_model {
        bundled::ensure_registered(&state)
            .await
            .context("cannot register the bundled model")?;
    }
    Ok(state)
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: tokio::net::TcpListener,
    dicom: Option<carina_net::Scp>,
    state: AppState,
}

impl Application {
    /// Connects the store and binds `config.bind` (port 0: any free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        use anyhow::Context;
        let bind = config.bind.clone();
        let state = connect(config).await?;
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let dicom = dicom::bind(&state).await?;
        Ok(Self {
            listener,
            dicom,
            state,
        })
    }

    /// The DICOM node's address, when `dicom_bind` is set.
    pub fn dicom_addr(&self) -> Option<SocketAddr> {
        self.dicom.as_ref().map(|d| d.local_addr())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = build_router(self.state.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = (self.state.config.worker == WorkerMode::Inprocess)
            .then(|| worker::spawn_loops(&self.state, "inprocess", 1, &stop_rx));
        let sweeper = sweep::spawn(&self.state, stop_rx.clone());
        let dicom = self.dicom.map(|scp| {
            let handler = Arc::new(dicom::Ingest {
                state: self.state.clone(),
            });
            let mut stop = stop_rx.clone();
            tokio::spawn(scp.run(handler, async move {
                let _ = stop.wait_for(|s| *s).await;
            }))
        });
        let backfill = dicom_ids::spawn_backfill(&self.state);
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        let _ = stop_tx.send(true);
        if let Some(d) = dicom {
            let _ = d.await;
        }
        for w in worker.into_iter().flatten() {
            let _ = w.await;
        }
        sweeper.abort();
        backfill.abort();
        self.state.store.db.close().await;
        Ok(())
    }
}
