//! The harness: one app per test on port 0 with its own temporary data
//! directory and its own database (SQLite in the directory, or a fresh
//! PostgreSQL database `carina_test_<random>` dropped afterwards).

use carina_server::{AppState, Application, Config, Secret};
use carina_testkit::{DATABASE_URL_VAR, PgDatabase, env_or_skip};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an `async fn(TestApp)` once per backend, as `<name>::sqlite` and
/// `<name>::postgres`. Without `CARINA_TEST_DATABASE_URL` the PostgreSQL
/// variant is skipped with a note, or fails when `CI` is set.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::helpers::run($crate::helpers::Backend::Sqlite, |app| super::$name(app)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::helpers::run($crate::helpers::Backend::Postgres, |app| super::$name(app)).await;
            }
        }
    )*};
}

/// [`both_backends!`] for one test whose configuration `tweak` changes.
#[macro_export]
macro_rules! both_backends_with {
    ($name:ident, $tweak:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::helpers::run_with($crate::helpers::Backend::Sqlite, $tweak, |app| {
                    super::$name(app)
                })
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::helpers::run_with($crate::helpers::Backend::Postgres, $tweak, |app| {
                    super::$name(app)
                })
                .await;
            }
        }
    };
}

pub async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    run_with(backend, |_| {}, body).await
}

/// Like [`run`], with a changed configuration.
pub async fn run_with<F, Fut>(backend: Backend, tweak: impl FnOnce(&mut Config), body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(app) = TestApp::spawn(backend, tweak).await else {
        return;
    };
    // The body runs in its own task so that a failing assertion still lets
    // us drop the test database before reporting it.
    let result = tokio::spawn(body(app.clone())).await;
    app.cleanup().await;
    if let Err(e) = result {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

pub fn sample(rel: &str) -> Vec<u8> {
    let p = shared_dir().join("data/samples").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A small gray PNG whose pixels depend on `seed` (so each seed is new content).
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(width, height, |x, y| {
        image::Luma([((x * 7 + y * 3) as u8).wrapping_add(seed)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    inner: Arc<Inner>,
}

struct Inner {
    _dir: tempfile::TempDir,
    /// The PostgreSQL database of a PostgreSQL run, dropped at the end.
    pg: Option<PgDatabase>,
    shutdown: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// The first account made through [`TestApp::user`]: it creates later
    /// accounts when a test names no admin (registration is closed).
    first_admin: std::sync::Mutex<Option<Session>>,
}

/// A logged-in browser: its cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub username: String,
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            bind: "127.0.0.1:0".into(),
            data_dir: dir.path().join("data"),
            // Tests that want the suggestion loop turn these on (see `review.rs`);
            // the others keep their annotation versions to themselves.
            predict_on_upload: false,
            bundled_model: false,
            worker_poll_ms: 50,
            job_retry_base_ms: 50,
            ..Config::default()
        };
        let mut pg = None;
        if backend == Backend::Postgres {
            let admin = env_or_skip(DATABASE_URL_VAR, "a PostgreSQL test")?;
            let name = format!("carina_test_{}", &carina_server::auth::random_token()[..16]);
            let db = PgDatabase::create(&admin, &name).await;
            config.database_url = Some(Secret::new(db.url.clone()));
            pg = Some(db);
        }
        tweak(&mut config);
        let app = Application::build(config).await.expect("build the app");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        Some(TestApp {
            base,
            state,
            client: reqwest::Client::new(),
            inner: Arc::new(Inner {
                _dir: dir,
                pg,
                shutdown: std::sync::Mutex::new(Some(tx)),
                first_admin: std::sync::Mutex::new(None),
            }),
        })
    }

    async fn cleanup(&self) {
        if let Some(tx) = self.inner.shutdown.lock().unwrap().take() {
            let _ = tx.send(());
        }
        self.state.store.db.close().await;
        if let Some(db) = &self.inner.pg {
            db.drop().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request, with the session's cookie and CSRF token when given.
    pub fn req(&self, method: Method, path: &str, session: Option<&Session>) -> RequestBuilder {
        let mut r = self.client.request(method, self.url(path));
        if let Some(s) = session {
            r = r
                .header("Cookie", format!("carina_session={}", s.cookie))
                .header("X-CSRF-Token", &s.csrf);
        }
        r
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn login_response(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Session {
        let r = self.login_response(username, password).await;
        assert_eq!(r.status(), StatusCode::OK, "login {username}");
        let cookie = session_cookie(&r).expect("login sets the session cookie");
        let body: Value = r.json().await.unwrap();
        Session {
            username: username.into(),
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// Makes the account `username` (password `password-<username>`) with
    /// `role` and logs in. The first account registers (and becomes admin:
    /// registration is closed after it); later ones are created by `admin`,
    /// or by that first account when `admin` is None (`POST /users`).
    pub async fn user(&self, username: &str, role: &str, admin: Option<&Session>) -> Session {
        let pw = format!("password-{username}");
        let creator = admin
            .cloned()
            .or_else(|| self.inner.first_admin.lock().unwrap().clone());
        match creator {
            None => {
                let r = self.register(username, &pw).await;
                assert_eq!(r.status(), StatusCode::CREATED, "register {username}");
                let created: Value = r.json().await.unwrap();
                assert_eq!(created["role"], role, "the first account is an admin");
                let session = self.login(username, &pw).await;
                // A separate session, so a test logging out its own keeps this one.
                let keep = self.login(username, &pw).await;
                *self.inner.first_admin.lock().unwrap() = Some(keep);
                return session;
            }
            Some(creator) => {
                let r = self.create_user(&creator, username, &pw, role).await;
                let status = r.status();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_eq!(status, StatusCode::CREATED, "create {username}: {body}");
            }
        }
        self.login(username, &pw).await
    }

    /// `POST /users` as `admin`.
    pub async fn create_user(
        &self,
        admin: &Session,
        username: &str,
        password: &str,
        role: &str,
    ) -> Response {
        self.req(Method::POST, "/api/v1/users", Some(admin))
            .json(&json!({"username": username, "password": password, "role": role}))
            .send()
            .await
            .unwrap()
    }

    /// An admin (the first account), a radiologist and a viewer.
    pub async fn team(&self) -> (Session, Session, Session) {
        let admin = self.user("admin", "admin", None).await;
        let rad = self.user("rad", "radiologist", Some(&admin)).await;
        let viewer = self.user("viewer", "viewer", Some(&admin)).await;
        (admin, rad, viewer)
    }

    pub async fn upload(&self, session: &Session, files: &[(&str, Vec<u8>)]) -> Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        self.req(Method::POST, "/api/v1/images", Some(session))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads one file and returns the image JSON (asserting 201).
    pub async fn upload_ok(&self, session: &Session, name: &str, bytes: Vec<u8>) -> Value {
        let r = self.upload(session, &[(name, bytes)]).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "upload {name}: {body}");
        body
    }

    pub async fn get_json(&self, path: &str, session: &Session) -> (StatusCode, Value) {
        let r = self
            .req(Method::GET, path, Some(session))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Keys in the object store under `images/`.
    pub async fn objects(&self) -> Vec<String> {
        self.state.store.objects.list("images").await.unwrap()
    }
}

pub fn session_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("carina_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .filter(|v| !v.is_empty())
}

/// Asserts the API's error shape and returns the code.
pub async fn error_code(r: Response, status: StatusCode) -> String {
    let got = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "body: {body}");
    assert!(body["error"]["message"].is_string(), "error shape: {body}");
    body["error"]["code"].as_str().unwrap().to_string()
}
