//! Accounts, sessions, cookies, CSRF, throttling and API tokens.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    register_login_logout,
    first_user_is_admin_and_roles,
    csrf_is_required,
    bad_cookies_are_refused,
    login_is_throttled,
    api_tokens
);
crate::both_backends_with!(
    open_registration_when_configured,
    |c: &mut carina_server::Config| c.open_registration = true
);

async fn register_login_logout(app: TestApp) {
    let r = app.register("ann", "correct horse").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Bad input is a 4xx with a message.
    assert_eq!(
        error_code(
            app.register("a", "correct horse").await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "invalid"
    );
    assert_eq!(
        error_code(
            app.register("bob", "short").await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "invalid"
    );
    // Closed for a taken name too (a name taken in any case is a 409 from POST /users).
    assert_eq!(
        error_code(
            app.register("ann", "another pw").await,
            StatusCode::FORBIDDEN
        )
        .await,
        "forbidden"
    );
    // Registration closed behind the first account (by default).
    assert_eq!(
        error_code(
            app.register("bob", "correct horse").await,
            StatusCode::FORBIDDEN
        )
        .await,
        "forbidden"
    );
    assert_eq!(
        error_code(
            app.login_response("ann", "wrong horse").await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "bad_credentials"
    );
    assert_eq!(
        error_code(
            app.login_response("nobody", "wrong horse").await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "bad_credentials"
    );

    let r = app.login_response("ann", "correct horse").await;
    assert_eq!(r.status(), StatusCode::OK);
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "no TLS here: {set_cookie}");
    let s = Session {
        username: "ann".into(),
        cookie: session_cookie(&r).unwrap(),
        csrf: r.json::<Value>().await.unwrap()["csrf_token"]
            .as_str()
            .unwrap()
            .into(),
    };
    let (status, me) = app.get_json("/api/v1/me", &s).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "ann");
    assert_eq!(me["csrf_token"], s.csrf.as_str());

    let r = app
        .req(Method::POST, "/api/v1/auth/logout", Some(&s))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .req(Method::GET, "/api/v1/me", Some(&s))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "unauthorized"
    );
}

async fn first_user_is_admin_and_roles(app: TestApp) {
    let (admin, rad, viewer) = app.team().await;
    let (_, me) = app.get_json("/api/v1/me", &admin).await;
    assert_eq!(me["role"], "admin");
    let (_, me) = app.get_json("/api/v1/me", &rad).await;
    assert_eq!(me["role"], "radiologist");
    let (status, users) = app.get_json("/api/v1/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users["users"].as_array().unwrap().len(), 3);
    // Only admins manage users; bad roles are refused.
    let r = app
        .req(Method::GET, "/api/v1/users", Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden");
    let r = app
        .req(Method::PATCH, "/api/v1/users/1", Some(&viewer))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(Method::PATCH, "/api/v1/users/2", Some(&admin))
        .json(&json!({"role": "wizard"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A role change applies to live sessions at once.
    let r = app
        .req(Method::PATCH, "/api/v1/users/2", Some(&admin))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, me) = app.get_json("/api/v1/me", &rad).await;
    assert_eq!(me["role"], "viewer");
}

async fn csrf_is_required(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let body = json!({"name": "Emphysema", "color": "#123456"});
    let no_csrf = app
        .client
        .post(app.url("/api/v1/labels"))
        .header("Cookie", format!("carina_session={}", admin.cookie))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(no_csrf, StatusCode::FORBIDDEN).await, "csrf");
    let wrong = app
        .client
        .post(app.url("/api/v1/labels"))
        .header("Cookie", format!("carina_session={}", admin.cookie))
        .header("X-CSRF-Token", "0".repeat(64))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(wrong, StatusCode::FORBIDDEN).await, "csrf");
    // Nothing was created by the refused requests.
    let (_, labels) = app.get_json("/api/v1/labels", &admin).await;
    assert_eq!(labels["labels"].as_array().unwrap().len(), 9);
    // Reads need no token; the right token works.
    let r = app
        .client
        .get(app.url("/api/v1/labels"))
        .header("Cookie", format!("carina_session={}", admin.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .req(Method::POST, "/api/v1/labels", Some(&admin))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn bad_cookies_are_refused(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    // One character changed.
    let mut chars: Vec<char> = admin.cookie.chars().collect();
    chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
    let tampered = Session {
        cookie: chars.into_iter().collect(),
        ..admin.clone()
    };
    let r = app
        .req(Method::GET, "/api/v1/me", Some(&tampered))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r, StatusCode::UNAUTHORIZED).await,
        "unauthorized"
    );
    let r = app
        .req(Method::POST, "/api/v1/labels", Some(&tampered))
        .json(&json!({"name": "X", "color": "#000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let garbage = Session {
        cookie: "not-a-session".into(),
        ..admin.clone()
    };
    let r = app
        .req(Method::GET, "/api/v1/images", Some(&garbage))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Someone else's cookie with my CSRF token does not pass.
    let mixed = Session {
        cookie: admin.cookie.clone(),
        ..rad.clone()
    };
    let r = app
        .req(Method::POST, "/api/v1/labels", Some(&mixed))
        .json(&json!({"name": "X", "color": "#000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "csrf");
    // A bad bearer token is a 401 too.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("carina_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn login_is_throttled(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let r = app
        .create_user(&admin, "victim", "password-victim", "radiologist")
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for _ in 0..5 {
        let r = app.login_response("victim", "guess-guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now from this client, with Retry-After.
    let r = app.login_response("victim", "password-victim").await;
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert_eq!(
        error_code(r, StatusCode::TOO_MANY_REQUESTS).await,
        "throttled"
    );
    // Another account from the same address is not locked out.
    let r = app.login_response("admin", "password-admin").await;
    assert_eq!(r.status(), StatusCode::OK);
    // The attempts are in the database, where other server processes see them.
    let c = app
        .state
        .store
        .db
        .login_attempts("pair:victim|127.0.0.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.attempts, 6);
}

async fn api_tokens(app: TestApp) {
    let (admin, rad, _) = app.team().await;
    let r = app
        .req(Method::POST, "/api/v1/tokens", Some(&admin))
        .json(&json!({"name": "script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let t: Value = r.json().await.unwrap();
    let token = t["token"].as_str().unwrap().to_string();
    // Bearer requests need no CSRF token.
    let r = app
        .client
        .post(app.url("/api/v1/labels"))
        .bearer_auth(&token)
        .json(&json!({"name": "Emphysema", "color": "#aabbcc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let me = carina_testkit::get_json_bearer(&app.client, &app.url("/api/v1/me"), &token).await;
    assert_eq!(me["username"], "admin");
    assert!(me.get("csrf_token").is_none());
    // Listed without the secret, with its last use.
    let (_, list) = app.get_json("/api/v1/tokens", &admin).await;
    let listed = &list["tokens"][0];
    assert_eq!(listed["name"], "script");
    assert!(listed.get("token").is_none());
    assert!(listed["last_used_at"].is_string());
    // Someone else cannot revoke it; its owner can, and then it stops working.
    let path = format!("/api/v1/tokens/{}", t["id"]);
    let r = app
        .req(Method::DELETE, &path, Some(&rad))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .req(Method::DELETE, &path, Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn open_registration_when_configured(app: TestApp) {
    let r = app.register("first", "password-first").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "admin");
    let r = app.register("second", "password-second").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "radiologist");
    // The password rules hold for registration too.
    let r = app.register("third", "        ").await;
    assert_eq!(
        error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await,
        "invalid"
    );
}
