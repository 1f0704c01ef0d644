//! The audit log (issue 12 §4): logins (failed, throttled, successful),
//! account and role changes, password resets and tokens, read by admins
//! with `GET /audit`, filtered and paged, never holding a password or a
//! token.

use crate::accounts::make_token;
use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(audit_log_records_and_filters);

async fn audit(app: &TestApp, s: &Session, query: &str) -> Value {
    let (status, v) = app.get_json(&format!("/api/v1/audit{query}"), s).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

fn kinds(v: &Value) -> Vec<String> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn audit_log_records_and_filters(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let rad_id = app.get_json("/api/v1/me", &rad).await.1["id"].clone();
    assert_eq!(
        app.login_response("rad", "not the password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_response("ghost", "not the password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .req(
            Method::PATCH,
            &format!("/api/v1/users/{rad_id}"),
            Some(&admin),
        )
        .json(&json!({"role": "viewer", "password": "secret reset value"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t = make_token(&app, &admin, json!({"name": "nightly", "scope": "read"})).await;
    let r = app
        .req(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", t["id"]),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .req(
            Method::DELETE,
            &format!("/api/v1/users/{rad_id}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Admins only.
    for s in [&viewer] {
        let r = app
            .req(Method::GET, "/api/v1/audit", Some(s))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let all = audit(&app, &admin, "?per_page=500").await;
    let k = kinds(&all);
    // Newest first.
    assert_eq!(
        k[..5],
        [
            "user_deleted",
            "token_revoked",
            "token_created",
            "password_reset",
            "role_changed"
        ]
    );
    for kind in ["user_registered", "user_created", "login", "login_failed"] {
        assert!(k.iter().any(|x| x == kind), "{kind} missing: {k:?}");
    }
    assert_eq!(all["total"], k.len());
    let text = all.to_string();
    for secret in [
        "password-rad",
        "not the password",
        "secret reset value",
        t["token"].as_str().unwrap(),
        &admin.cookie,
        "ghost",
    ] {
        assert!(!text.contains(secret), "the audit log holds {secret:?}");
    }
    // Filters: kind, user (actor or subject, any case), time; pages.
    let failed = audit(&app, &admin, "?kind=login_failed").await;
    assert_eq!(kinds(&failed), ["login_failed", "login_failed"]);
    assert_eq!(failed["entries"][0]["detail"]["account"], "unknown");
    assert_eq!(failed["entries"][1]["subject"], "rad");
    assert!(failed["entries"][1]["client"].is_string());
    let role = audit(&app, &admin, "?kind=role_changed&user=RAD").await;
    assert_eq!(role["total"], 1);
    let e = &role["entries"][0];
    assert_eq!(
        (&e["actor"], &e["subject"]),
        (&json!("admin"), &json!("rad"))
    );
    assert_eq!(e["detail"], json!({"from": "radiologist", "to": "viewer"}));
    let viewer_entries = audit(&app, &admin, "?user=viewer").await;
    assert!(
        viewer_entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "viewer" || e["subject"] == "viewer")
    );
    let future = audit(&app, &admin, "?since=2999-01-01T00:00:00Z").await;
    assert_eq!(future["total"], 0);
    let past = audit(&app, &admin, "?until=2000-01-01T00:00:00Z").await;
    assert_eq!(past["total"], 0);
    let now = audit(
        &app,
        &admin,
        "?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(now["total"], all["total"]);
    let p1 = audit(&app, &admin, "?per_page=2&page=1").await;
    let p2 = audit(&app, &admin, "?per_page=2&page=2").await;
    assert_eq!(kinds(&p1), k[..2]);
    assert_eq!(kinds(&p2), k[2..4]);
    for bad in ["?since=yesterday", "?kind=DROP%20TABLE", "?page=x"] {
        let r = app
            .req(Method::GET, &format!("/api/v1/audit{bad}"), Some(&admin))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }
}
