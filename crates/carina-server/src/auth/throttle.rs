//! Login throttling, shared by every process through the database.
//!
//! Each attempt is counted **before** its password is checked, by one
//! atomic upsert per key (`Database::count_login_attempt`), so any number of
//! simultaneous attempts get distinct counts and only those within the limit
//! reach argon2. Counters run for a fixed window of `login_window_minutes`
//! from their first attempt (`N` = `login_max_failures`):
//!
//! - **account and client pair** (`pair:<account>|<client>`): `N` attempts.
//!   A success resets it. Guessing from one address locks only that address
//!   out of that account: the real user elsewhere is not affected.
//! - **account, from clients it is not known from** (`account:<account>`):
//!   `4 N` attempts, the slower back-off against guessing spread over many
//!   addresses. A client is *known* once the account logged in from it (in
//!   the last 90 days, `known_clients`); known clients skip this counter and
//!   the next, so the real user still gets in from their usual client while
//!   an account is under attack. A successful login takes its attempt back
//!   from this counter and the next, so only failures use them up.
//! - **client, on accounts it is not known for** (`client:<client>`): `4 N`
//!   attempts, so one address cannot spray guesses over every account. Users
//!   behind the same address who logged in from it before are not affected.
//!
//! Past a limit the answer is 429 with `Retry-After` (the end of that
//! window), without checking the password. Account names are compared
//! lower-cased, like usernames.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use carina_store::Timestamp;
use std::time::Duration;

/// How long a successful login makes a client known to an account.
pub const KNOWN_CLIENT_DAYS: u64 = 90;

pub fn pair_key(account: &str, client: &str) -> String {
    format!("pair:{}|{client}", account.to_lowercase())
}
pub fn account_key(account: &str) -> String {
    format!("account:{}", account.to_lowercase())
}
pub fn client_key(client: &str) -> String {
    format!("client:{client}")
}

/// The client as a throttling and audit label.
pub fn client_label(client: Option<std::net::IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

fn window(state: &AppState) -> Duration {
    Duration::from_secs(state.config.login_window_minutes.max(1) * 60)
}

/// Counts one attempt on `account` from `client`, known or not to that
/// account; refuses it (429) if a counter is past its limit.
pub async fn admit(state: &AppState, account: &str, client: &str, known: bool) -> AppResult<()> {
    let now = Timestamp::now();
    let window = window(state);
    let floor = Timestamp(now.millis() - window.as_millis() as i64);
    let n = i64::from(state.config.login_max_failures.max(1));
    let mut keys = vec![(pair_key(account, client), n)];
    if !known {
        keys.push((account_key(account), 4 * n));
        keys.push((client_key(client), 4 * n));
    }
    for (key, limit) in keys {
        let count = state.store.db.count_login_attempt(&key, now, floor).await?;
        if count.attempts > limit {
            let free_at = count.window_start.millis() + window.as_millis() as i64;
            let secs = ((free_at - now.millis()) / 1000).max(1) as u64;
            return Err(AppError::too_many_requests(
                format!("too many login attempts; try again in {secs} s"),
                secs,
            ));
        }
    }
    Ok(())
}

/// Whether `user_id` has logged in from `client` lately.
pub async fn is_known(state: &AppState, user_id: i64, client: &str) -> AppResult<bool> {
    let since = Timestamp::now().millis() - (KNOWN_CLIENT_DAYS * 86_400_000) as i64;
    Ok(state
        .store
        .db
        .is_known_client(user_id, client, Timestamp(since))
        .await?)
}

/// After a successful login: the pair's counter restarts, the shared
/// counters get the attempt back (if it was counted: `known` false), the
/// client becomes known to the account, and counters of past windows are
/// swept.
pub async fn succeeded(
    state: &AppState,
    account: &str,
    user_id: i64,
    client: &str,
    known: bool,
) -> AppResult<()> {
    let now = Timestamp::now();
    if !known {
        for key in [account_key(account), client_key(client)] {
            state.store.db.forgive_login_attempt(&key).await?;
        }
    }
    let stale = Timestamp(now.millis() - window(state).as_millis() as i64);
    state
        .store
        .db
        .reset_login_attempts(&pair_key(account, client), stale)
        .await?;
    state.store.db.remember_client(user_id, client, now).await?;
    Ok(())
}
