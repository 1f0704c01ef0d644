//! Accounts (issue 12 §4): admins create accounts, the last admin stays,
//! usernames ignore case, password rules, deleted accounts, scoped and
//! expiring API tokens that cannot mint tokens.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    last_admin_cannot_leave,
    admins_create_accounts,
    passwords_are_checked_and_reset,
    deleted_accounts_are_gone,
    tokens_are_scoped_expiring_and_cannot_mint
);

async fn patch_user(app: &TestApp, s: &Session, id: &Value, body: Value) -> reqwest::Response {
    app.req(Method::PATCH, &format!("/api/v1/users/{id}"), Some(s))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete_user(app: &TestApp, s: &Session, id: &Value) -> reqwest::Response {
    app.req(Method::DELETE, &format!("/api/v1/users/{id}"), Some(s))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, s: &Session) -> Value {
    let (status, v) = app.get_json("/api/v1/me", s).await;
    assert_eq!(status, StatusCode::OK);
    v
}

/// The only admin can neither demote nor delete themselves (409); with a
/// second admin they can, and then the other one is the last.
async fn last_admin_cannot_leave(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let id = me(&app, &admin).await["id"].clone();
    for role in ["radiologist", "viewer"] {
        let r = patch_user(&app, &admin, &id, json!({"role": role})).await;
        assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    }
    let r = delete_user(&app, &admin, &id).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    assert_eq!(me(&app, &admin).await["role"], "admin");
    // Keeping the role is no change and fine.
    let r = patch_user(&app, &admin, &id, json!({"role": "admin"})).await;
    assert_eq!(r.status(), StatusCode::OK);

    let second = app.user("second", "admin", Some(&admin)).await;
    let second_id = me(&app, &second).await["id"].clone();
    let r = patch_user(&app, &admin, &id, json!({"role": "radiologist"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(me(&app, &admin).await["role"], "radiologist");
    // Now `second` is the last admin.
    let r = patch_user(&app, &second, &second_id, json!({"role": "viewer"})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    let r = delete_user(&app, &second, &second_id).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "conflict");
    // And can still manage the site.
    let r = patch_user(&app, &second, &id, json!({"role": "admin"})).await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn admins_create_accounts(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let r = app
        .create_user(&admin, "carol", "a long passphrase", "viewer")
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let carol: Value = r.json().await.unwrap();
    assert_eq!(
        (&carol["username"], &carol["role"]),
        (&json!("carol"), &json!("viewer"))
    );
    // Logins ignore the case of the username; the stored spelling is shown.
    let s = app.login("CAROL", "a long passphrase").await;
    assert_eq!(me(&app, &s).await["username"], "carol");
    // Names are unique regardless of case.
    for name in ["Carol", "RAD", "Admin"] {
        let r = app
            .create_user(&admin, name, "another passphrase", "viewer")
            .await;
        assert_eq!(
            error_code(r, StatusCode::CONFLICT).await,
            "conflict",
            "{name}"
        );
    }
    // Only admins, and with a session.
    for s in [&rad, &viewer] {
        let r = app
            .create_user(s, "mallory", "a long passphrase", "admin")
            .await;
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
    }
    let anonymous = app
        .client
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "mallory", "password": "a long passphrase", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let token = make_token(&app, &admin, json!({"name": "ops"})).await;
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&json!({"username": "mallory", "password": "a long passphrase", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::FORBIDDEN).await,
        "session_required"
    );
    // Bad input is a 422 and creates nothing.
    for body in [
        json!({"username": "dave", "password": "a long passphrase", "role": "wizard"}),
        json!({"username": "d", "password": "a long passphrase", "role": "viewer"}),
        json!({"username": "dave", "password": "        ", "role": "viewer"}),
        json!({"username": "dave", "password": "qwertyuiop", "role": "viewer"}),
        json!({"username": "dave", "password": "a long passphrase"}),
    ] {
        let r = app
            .req(Method::POST, "/api/v1/users", Some(&admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (_, users) = app.get_json("/api/v1/users", &admin).await;
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "rad", "viewer", "carol"]);
}

async fn passwords_are_checked_and_reset(app: TestApp) {
    // The rules hold for the first account too.
    for weak in [
        "        ",
        "          ",
        "short",
        "password123",
        "1234567890",
        "Dragon2026!",
    ] {
        let r = app.register("first", weak).await;
        assert_eq!(
            error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await,
            "invalid",
            "{weak:?}"
        );
    }
    let (admin, rad, _) = app.team().await;
    let rad_id = me(&app, &rad).await["id"].clone();
    let r = patch_user(&app, &admin, &rad_id, json!({"password": "          "})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A reset ends the account's sessions; the new password works, the old does not.
    let r = patch_user(
        &app,
        &admin,
        &rad_id,
        json!({"password": "a brand new secret"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .req(Method::GET, "/api/v1/me", Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login_response("rad", "password-rad").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("rad", "a brand new secret").await;
    // Only admins reset others' passwords.
    let admin_id = me(&app, &admin).await["id"].clone();
    let rad = app.login("rad", "a brand new secret").await;
    let r = patch_user(&app, &rad, &admin_id, json!({"password": "taken over now"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = patch_user(&app, &admin, &rad_id, json!({})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn deleted_accounts_are_gone(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    let rad_id = me(&app, &rad).await["id"].clone();
    let token = make_token(&app, &rad, json!({"name": "mine"})).await;
    let r = delete_user(&app, &admin, &rad_id).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Session, token and password no longer work.
    let r = app
        .req(Method::GET, "/api/v1/me", Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login_response("rad", "password-rad").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Not listed; the name stays taken so old records stay unambiguous.
    let (_, users) = app.get_json("/api/v1/users", &admin).await;
    assert!(
        !users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "rad")
    );
    let r = app
        .create_user(&admin, "Rad", "a long passphrase", "viewer")
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = delete_user(&app, &admin, &rad_id).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

pub async fn make_token(app: &TestApp, s: &Session, body: Value) -> Value {
    let r = app
        .req(Method::POST, "/api/v1/tokens", Some(s))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

async fn tokens_are_scoped_expiring_and_cannot_mint(app: TestApp) {
    let (admin, _, _) = app.team().await;
    let now = std::time::SystemTime::now();
    let read = make_token(&app, &admin, json!({"name": "reader", "scope": "read"})).await;
    assert_eq!(read["scope"], "read");
    // The default lifetime is 90 days.
    let expires = humantime::parse_rfc3339(read["expires_at"].as_str().unwrap()).unwrap();
    let days = expires.duration_since(now).unwrap().as_secs_f64() / 86_400.0;
    assert!((89.9..90.1).contains(&days), "{days}");
    let forever = make_token(
        &app,
        &admin,
        json!({"name": "cron", "expires_in_days": null}),
    )
    .await;
    assert!(forever["expires_at"].is_null());
    assert_eq!(forever["scope"], "write");
    let week = make_token(&app, &admin, json!({"name": "wk", "expires_in_days": 7})).await;
    let expires = humantime::parse_rfc3339(week["expires_at"].as_str().unwrap()).unwrap();
    let days = expires.duration_since(now).unwrap().as_secs_f64() / 86_400.0;
    assert!((6.9..7.1).contains(&days), "{days}");
    for bad in [
        json!({"name": "x", "scope": "admin"}),
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "expires_in_days": 99999}),
    ] {
        let r = app
            .req(Method::POST, "/api/v1/tokens", Some(&admin))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let bearer = |t: &Value| t["token"].as_str().unwrap().to_string();
    // Read scope: GET works, anything else is 403 and changes nothing.
    let r = app
        .client
        .get(app.url("/api/v1/labels"))
        .bearer_auth(bearer(&read))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .post(app.url("/api/v1/labels"))
        .bearer_auth(bearer(&read))
        .json(&json!({"name": "Emphysema", "color": "#aabbcc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "token_scope");
    let (_, labels) = app.get_json("/api/v1/labels", &admin).await;
    assert_eq!(labels["labels"].as_array().unwrap().len(), 9);
    // No token mints tokens, not even a write one.
    for t in [&read, &forever] {
        let r = app
            .client
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(bearer(t))
            .json(&json!({"name": "child"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // An expired token is no token.
    let expired_secret = "carina_expired_test_token";
    app.state
        .store
        .db
        .create_api_token(
            me(&app, &admin).await["id"].as_i64().unwrap(),
            "old",
            &carina_server::auth::sha256_hex(expired_secret),
            carina_store::TokenScope::Write,
            Some(carina_store::Timestamp(
                carina_store::Timestamp::now().millis() - 1000,
            )),
        )
        .await
        .unwrap();
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(expired_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Listed with scope, expiry and last use; none was minted by a token.
    let (_, list) = app.get_json("/api/v1/tokens", &admin).await;
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 4);
    let reader = tokens.iter().find(|t| t["name"] == "reader").unwrap();
    assert!(reader["last_used_at"].is_string());
    assert_eq!(reader["scope"], "read");
    assert!(tokens.iter().find(|t| t["name"] == "wk").unwrap()["last_used_at"].is_null());
    assert!(tokens.iter().all(|t| t.get("token").is_none()));
}
