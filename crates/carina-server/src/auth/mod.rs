//! Who is calling: a session cookie (with CSRF protection for requests that
//! change state) or a personal API token. Sessions, tokens and throttling
//! live in the database so several server processes can share them.

pub mod audit;
pub mod client_ip;
pub mod password;
pub mod throttle;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{Method, header, request::Parts};
use carina_store::{Role, TokenScope, User};
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
    /// A personal API token: which one, and what it may do.
    ApiToken { id: i64, scope: TokenScope },
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

    /// Refuses API tokens: making tokens and managing accounts need a
    /// logged-in session, so a leaked token cannot make credentials that
    /// outlive it.
    pub fn require_session(&self) -> AppResult<()> {
        match self.via {
            AuthVia::Session { .. } => Ok(()),
            AuthVia::ApiToken { .. } => Err(AppError::new(
                axum::http::StatusCode::FORBIDDEN,
                "session_required",
                "an API token cannot do this; log in",
            )),
        }
    }

    /// The caller's username, for audit entries.
    pub fn audit(&self, kind: &str) -> carina_store::NewAudit {
        carina_store::NewAudit::new(kind).actor(&self.user)
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        if let Some(token) = bearer_token(parts) {
            let owner = state
                .store
                .db
                .api_token_user(&sha256_hex(token))
                .await?
                .ok_or_else(AppError::unauthorized)?;
            if owner.scope == TokenScope::Read
                && !matches!(parts.method, Method::GET | Method::HEAD)
            {
                return Err(AppError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "token_scope",
                    "this API token is read-only (GET and HEAD)",
                ));
            }
            return Ok(CurrentUser {
                user: owner.user,
                via: AuthVia::ApiToken {
                    id: owner.token_id,
                    scope: owner.scope,
                },
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

/// The client address of a request (see [`client_ip`]); `None` when the
/// server was not given the peer address (tests driving the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl ClientAddr {
    pub fn label(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientAddr(client_ip::client_ip(
            peer,
            forwarded,
            &state.config.trusted_proxies,
        )))
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

/// Why `name` cannot be a username, if it cannot: 3 to 64 characters of
/// A-Z, a-z, 0-9, '.', '_' or '-' (unique regardless of case).
pub fn username_problem(name: &str) -> Option<&'static str> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    (!(3..=64).contains(&name.len()) || !ok_chars)
        .then_some("username must be 3 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
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
