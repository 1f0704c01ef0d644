//! Who is calling: a session cookie (with CSRF protection for requests that
//! change state) or a personal API token. Sessions, tokens and throttling
//! live in the database so several server processes can share them.

pub mod client_ip;
pub mod password;
pub mod throttle;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{Method, header, request::Parts};
use carina_store::{Role, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "carina_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum AuthVia {
    Session {
        token_hash: String,
        csrf_token: String,
    },
    ApiToken,
}

/// The authenticated caller. Extracting it answers 401 for anonymous
/// callers and 403 for a cookie request that changes state without the
/// session's CSRF token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub via: AuthVia,
}

impl CurrentUser {
    /// Refuses callers below `role` (roles include the ones below them).
    pub fn require(&self, role: Role) -> AppResult<()> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "this needs the {} role (you are {})",
                role.as_str(),
                self.user.role.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        if let Some(token) = bearer_token(parts) {
            let user = state
                .store
                .db
                .api_token_user(&sha256_hex(token))
                .await?
                .ok_or_else(AppError::unauthorized)?;
            return Ok(CurrentUser {
                user,
                via: AuthVia::ApiToken,
            });
        }
        let cookie = session_cookie(parts).ok_or_else(AppError::unauthorized)?;
        let token_hash = sha256_hex(cookie);
        let session = state
            .store
            .db
            .session(&token_hash)
            .await?
            .ok_or_else(AppError::unauthorized)?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(AppError::csrf());
            }
        }
        Ok(CurrentUser {
            user: session.user,
            via: AuthVia::Session {
                token_hash,
                csrf_token: session.csrf_token,
            },
        })
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// 32 random bytes as hex: session tokens, CSRF tokens, API tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Tokens are stored only as their SHA-256, so a leaked database does not
/// hand out live sessions.
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 64);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
