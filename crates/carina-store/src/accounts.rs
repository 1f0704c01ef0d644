//! Values of the accounts side: roles, users, sessions, API tokens and
//! their scopes, the audit log, login throttling counters.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What a user may do; each role includes the ones below it
/// (`Admin > Radiologist > Viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Radiologist,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Radiologist => "radiologist",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "radiologist" => Some(Role::Radiologist),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A user with the stored password hash (for logging in only).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// A live session found by its token hash.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// A personal API token's public part; the token itself is shown once.
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: Timestamp,
    /// None: never expires.
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// What an API token may do: `Read` is GET and HEAD only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            _ => None,
        }
    }
}

/// The live (unexpired) token a request carried, and its owner.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub user: User,
    pub token_id: i64,
    pub scope: TokenScope,
}

/// One login-throttle counter after an attempt was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleCount {
    /// Attempts in the current window, this one included.
    pub attempts: i64,
    /// When the current window began.
    pub window_start: Timestamp,
}

/// An entry for the audit log. Never put a password, a token or patient
/// data in it: names, ids, roles and counts only.
#[derive(Debug, Clone, Default)]
pub struct NewAudit {
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub subject_id: Option<i64>,
    pub subject: Option<String>,
    /// The client address, where there is one.
    pub client: Option<String>,
    pub detail: serde_json::Value,
}

impl NewAudit {
    pub fn new(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            detail: serde_json::json!({}),
            ..Self::default()
        }
    }
    pub fn actor(mut self, user: &User) -> Self {
        self.actor_id = Some(user.id);
        self.actor = Some(user.username.clone());
        self
    }
    pub fn subject(mut self, user: &User) -> Self {
        self.subject_id = Some(user.id);
        self.subject = Some(user.username.clone());
        self
    }
    pub fn client(mut self, client: Option<String>) -> Self {
        self.client = client;
        self
    }
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A stored audit entry, as `GET /audit` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub subject_id: Option<i64>,
    pub subject: Option<String>,
    pub client: Option<String>,
    pub detail: serde_json::Value,
}

/// Which audit entries to read (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub kind: Option<String>,
    /// A username (any case): entries where it is the actor or the subject.
    pub user: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}
