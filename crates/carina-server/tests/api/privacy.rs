//! File names that could name the patient, and the client address behind a
//! reverse proxy for login throttling.

use crate::both_backends;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(file_names_are_reduced_to_the_extension_by_default);
crate::both_backends_with!(
    file_names_kept_when_configured,
    |c: &mut carina_server::Config| c.original_filenames = carina_server::FilenamePolicy::Keep
);
crate::both_backends_with!(
    forwarded_for_counts_behind_a_trusted_proxy,
    |c: &mut carina_server::Config| {
        c.trusted_proxies = carina_server::auth::client_ip::parse_list("127.0.0.1").unwrap()
    }
);
both_backends!(forwarded_for_is_ignored_by_default);

const NAMED: &str = "Doe^John_1960-01-02_chest.PNG";

async fn file_names_are_reduced_to_the_extension_by_default(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, NAMED, png(40, 30, 5)).await;
    let name = img["original_filename"].as_str().unwrap();
    let sha = img["sha256"].as_str().unwrap();
    assert_eq!(name, format!("image-{}.png", &sha[..12]));
    let (_, shown) = app
        .get_json(&format!("/api/v1/images/{}", img["id"]), &viewer)
        .await;
    assert!(!shown.to_string().contains("Doe"), "{shown}");
    let (_, found) = app.get_json("/api/v1/images?q=Doe", &viewer).await;
    assert_eq!(found["total"], 0);
    // No usable extension: the stem alone.
    let img = app.upload_ok(&rad, "Jane Roe", png(40, 30, 6)).await;
    assert!(!img["original_filename"].as_str().unwrap().contains('.'));
    let stored = app
        .state
        .store
        .db
        .image(img["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.original_filename.contains("Roe"));
}

async fn file_names_kept_when_configured(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, NAMED, png(40, 30, 5)).await;
    assert_eq!(img["original_filename"], NAMED);
    let (_, found) = app.get_json("/api/v1/images?q=chest", &viewer).await;
    assert_eq!(found["total"], 1);
}

async fn login_with(app: &TestApp, user: &str, xff: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", xff)
        .json(&json!({"username": user, "password": "wrong wrong"}))
        .send()
        .await
        .unwrap()
        .status()
}

/// Attempts counted against a login-throttle key (`client:<address>`).
async fn failures(app: &TestApp, key: &str) -> i64 {
    app.state
        .store
        .db
        .login_attempts(key)
        .await
        .unwrap()
        .map_or(0, |c| c.attempts)
}

async fn forwarded_for_counts_behind_a_trusted_proxy(app: TestApp) {
    app.register("someone", "password-someone").await;
    for _ in 0..2 {
        assert_eq!(
            login_with(&app, "someone", "203.0.113.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // A client-sent spoof to the left is passed over.
    assert_eq!(
        login_with(&app, "someone", "198.51.100.1, 203.0.113.8").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(failures(&app, "client:203.0.113.7").await, 2);
    assert_eq!(failures(&app, "client:203.0.113.8").await, 1);
    assert_eq!(failures(&app, "client:198.51.100.1").await, 0);
    assert_eq!(failures(&app, "client:127.0.0.1").await, 0);
}

async fn forwarded_for_is_ignored_by_default(app: TestApp) {
    app.register("someone", "password-someone").await;
    assert_eq!(
        login_with(&app, "someone", "203.0.113.7").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(failures(&app, "client:203.0.113.7").await, 0);
    assert_eq!(failures(&app, "client:127.0.0.1").await, 1);
}
