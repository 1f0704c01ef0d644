//! Login throttling (issue 12 §4): atomic, per account and client pair,
//! with a slower per-account back-off that spares the account's usual
//! client. Clients are told apart by `X-Forwarded-For` from a trusted
//! proxy (127.0.0.1 here).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

pub fn behind_proxy(c: &mut carina_server::Config) {
    c.trusted_proxies = carina_server::auth::client_ip::parse_list("127.0.0.1").unwrap();
}

crate::both_backends_with!(
    concurrent_guesses_are_counted_atomically,
    crate::throttle::behind_proxy
);
crate::both_backends_with!(
    account_backoff_spares_the_usual_client,
    crate::throttle::behind_proxy
);

async fn login_from(app: &TestApp, user: &str, password: &str, ip: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", ip)
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn audit_count(app: &TestApp, kind: &str) -> i64 {
    let (entries, _) = app
        .state
        .store
        .db
        .audit(&carina_store::AuditQuery {
            kind: Some(kind.into()),
            page: 1,
            per_page: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    entries.len() as i64
}

/// 60 wrong passwords at once for one account from one client: at most the
/// limit (5) reach the password check (each 401 is one argon2
/// verification), the rest are 429. The real user, from the client they
/// use, still logs in.
async fn concurrent_guesses_are_counted_atomically(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let r = app
        .create_user(&admin, "victim", "password-victim", "radiologist")
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        login_from(&app, "victim", "password-victim", "198.51.100.7").await,
        StatusCode::OK
    );
    let mut tasks = Vec::new();
    for _ in 0..60 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            login_from(&app, "victim", "wrong guess!", "203.0.113.66").await
        }));
    }
    let (mut checked, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked <= 5, "{checked} guesses reached the password check");
    assert_eq!(checked + refused, 60);
    assert_eq!(audit_count(&app, "login_failed").await, checked);
    assert_eq!(audit_count(&app, "login_throttled").await, refused);
    // The attacker's client is locked out of this account, even with the password...
    assert_eq!(
        login_from(&app, "victim", "password-victim", "203.0.113.66").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...the real user is not, from their usual client or (the account's
    // back-off not reached) a new one; case does not matter.
    assert_eq!(
        login_from(&app, "victim", "password-victim", "198.51.100.7").await,
        StatusCode::OK
    );
    assert_eq!(
        login_from(&app, "VICTIM", "password-victim", "192.0.2.10").await,
        StatusCode::OK
    );
    // And the attacker's address can still reach other accounts.
    assert_eq!(
        login_from(&app, "admin", "password-admin", "203.0.113.66").await,
        StatusCode::OK
    );
}

/// Guesses spread over many addresses: after 4 × 5 the account refuses
/// clients it does not know, but still lets its usual client in.
async fn account_backoff_spares_the_usual_client(app: TestApp) {
    let admin = app.user("admin", "admin", None).await;
    let r = app
        .create_user(&admin, "victim", "password-victim", "radiologist")
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        login_from(&app, "victim", "password-victim", "198.51.100.7").await,
        StatusCode::OK
    );
    for i in 0..20 {
        let ip = format!("203.0.113.{}", 100 + i);
        assert_eq!(
            login_from(&app, "victim", "wrong guess!", &ip).await,
            StatusCode::UNAUTHORIZED,
            "{ip}"
        );
    }
    // The 21st address is refused without a check, even with the password.
    assert_eq!(
        login_from(&app, "victim", "password-victim", "203.0.113.200").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "victim", "password-victim", "198.51.100.7").await,
        StatusCode::OK
    );
    // Other accounts from those addresses are unaffected.
    assert_eq!(
        login_from(&app, "admin", "password-admin", "203.0.113.200").await,
        StatusCode::OK
    );
}
