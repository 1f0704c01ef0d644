//! Login throttling: failed attempts are recorded in the database per
//! username and per client address; past the limit within the window,
//! further attempts are refused with 429 and `Retry-After`, even with the
//! right password.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use carina_store::Timestamp;
use std::time::Duration;

pub struct Keys {
    user: String,
    client: Option<String>,
}

impl Keys {
    pub fn new(username: &str, client: Option<std::net::IpAddr>) -> Self {
        Self {
            user: format!("user:{}", username.to_lowercase()),
            client: client.map(|ip| format!("ip:{ip}")),
        }
    }
}

fn window(state: &AppState) -> Duration {
    Duration::from_secs(state.config.login_window_minutes.max(1) * 60)
}

pub async fn check(state: &AppState, keys: &Keys) -> AppResult<()> {
    let now = Timestamp::now();
    let window = window(state);
    let since = Timestamp(now.millis() - window.as_millis() as i64);
    let max = i64::from(state.config.login_max_failures.max(1));
    let mut checks = vec![(&keys.user, max)];
    if let Some(c) = &keys.client {
        checks.push((c, max * 4));
    }
    for (key, limit) in checks {
        let (n, oldest) = state.store.db.login_failures(key, since).await?;
        if n >= limit {
            let free_at = oldest.unwrap_or(now).millis() + window.as_millis() as i64;
            let secs = ((free_at - now.millis()) / 1000).max(1) as u64;
            return Err(AppError::too_many_requests(
                format!("too many failed logins; try again in {secs} s"),
                secs,
            ));
        }
    }
    Ok(())
}

pub async fn failed(state: &AppState, keys: &Keys) -> AppResult<()> {
    let now = Timestamp::now();
    state.store.db.record_login_failure(&keys.user, now).await?;
    if let Some(c) = &keys.client {
        state.store.db.record_login_failure(c, now).await?;
    }
    Ok(())
}

pub async fn succeeded(state: &AppState, keys: &Keys) -> AppResult<()> {
    let before = Timestamp(Timestamp::now().millis() - window(state).as_millis() as i64);
    state
        .store
        .db
        .clear_login_failures(&keys.user, before)
        .await?;
    Ok(())
}
