//! The rest of the surface: OpenAPI, the embedded editor and its headers,
//! JSON 404s, and `build_router` driven without a socket.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

both_backends!(static_editor_and_api_fallbacks, router_works_with_oneshot);

async fn static_editor_and_api_fallbacks(app: TestApp) {
    let r = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    for path in ["/", "/images/12", "/some/client/route"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let r = app
        .client
        .get(app.url("/assets/missing-file.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for (method, path) in [
        (Method::GET, "/api/v1/nope"),
        (Method::POST, "/api/nothing"),
        (Method::GET, "/api"),
    ] {
        let r = app
            .client
            .request(method, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    }
    let r = app
        .client
        .delete(app.url("/api/v1/labels"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::METHOD_NOT_ALLOWED).await,
        "method_not_allowed"
    );
    let r = app
        .client
        .get(app.url("/api/v1/images/not-a-number"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
}

async fn router_works_with_oneshot(app: TestApp) {
    let router = carina_server::build_router(app.state.clone());
    let req = axum::http::Request::builder()
        .uri("/api/v1/me")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = router.oneshot(req).await.unwrap();
    assert_eq!(res.status(), axum::http::StatusCode::UNAUTHORIZED);
}
