//! The browser editor, built into `web/dist` and embedded in the binary at
//! compile time (no npm needed to run). Unknown non-API paths fall back to
//! `index.html` so the editor's client-side routes survive a reload;
//! unknown `/api` paths answer a JSON 404.

use crate::error::AppError;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Dist;

/// The Content-Security-Policy of every HTML page.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'";

/// Shown when the binary was built without `web/dist`.
const NOT_BUILT: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Carina</title></head>\
<body><h1>Carina</h1><p>The browser editor was not built into this binary (web/dist was missing). \
The JSON API is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p></body></html>";

fn mime_for(path: &str) -> Cow<'static, str> {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("wasm") => "application/wasm".into(),
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8".into(),
        Some("html") => "text/html; charset=utf-8".into(),
        Some("css") => "text/css; charset=utf-8".into(),
        Some("json") | Some("map") => "application/json".into(),
        _ => mime_guess::from_path(path)
            .first_or_octet_stream()
            .to_string()
            .into(),
    }
}

/// `CARINA_WEB_DIR`, read once: a folder served instead of the embedded
/// build, for working on the editor without rebuilding the binary.
fn web_dir() -> Option<&'static std::path::Path> {
    static DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        std::env::var_os("CARINA_WEB_DIR")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    })
    .as_deref()
}

/// A file of the editor's build: from `CARINA_WEB_DIR` when set, else embedded.
/// Names with anything but plain components (`..`, a root, a backslash) are
/// never looked up on disk.
fn dist_file(name: &str) -> Option<Vec<u8>> {
    match web_dir() {
        Some(dir) => {
            let rel = std::path::Path::new(name);
            let plain = !name.contains('\\')
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !plain {
                return None;
            }
            let path = dir.join(rel);
            if !path.is_file() {
                return None;
            }
            std::fs::read(path).ok()
        }
        None => Dist::get(name).map(|f| f.data.into_owned()),
    }
}

fn html(body: Body) -> Response {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no API route {path}"),
        )
        .into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return AppError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET is served here",
        )
        .into_response();
    }
    let name = path.trim_start_matches('/');
    let name = if name.is_empty() { "index.html" } else { name };
    if let Some(data) = dist_file(name) {
        if name.ends_with(".html") {
            return html(Body::from(data));
        }
        let mut r = Response::new(Body::from(data));
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&mime_for(name)) {
            h.insert(header::CONTENT_TYPE, v);
        }
        // Vite puts content hashes in the names under assets/.
        let cache = if name.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        return r;
    }
    // A missing file with an extension is a real 404; anything else is a client route.
    let last = name.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match dist_file("index.html") {
        Some(index) => html(Body::from(index)),
        None => html(Body::from(NOT_BUILT)),
    }
}

#[cfg(test)]
mod tests {
    use super::mime_for;

    #[test]
    fn mime_types_the_browser_insists_on() {
        assert_eq!(mime_for("assets/x.wasm"), "application/wasm");
        assert!(mime_for("assets/index-abc.js").starts_with("text/javascript"));
        assert!(mime_for("index.html").starts_with("text/html"));
        assert_eq!(mime_for("favicon.png"), "image/png");
    }
}
