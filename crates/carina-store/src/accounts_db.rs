//! `impl Database` for accounts: users, sessions, API tokens, login
//! throttling and the audit log.

use crate::accounts::*;
use crate::{Database, backend, error::Result, models::*};

impl Database {
    /// Registration: the first account is always `Admin`, later ones get
    /// `default_role`. With `first_only`, only the first account may register
    /// ([`crate::StoreError::Invalid`] otherwise).
    #[tracing::instrument(skip(self, password_hash))]
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        default_role: Role,
        first_only: bool,
    ) -> Result<User> {
        dispatch!(
            self,
            create_user(username, password_hash, default_role, first_only)
        )
    }
    /// An account with exactly `role` (made by an admin or the CLI). A name
    /// taken in any case is a [`crate::StoreError::Conflict`].
    #[tracing::instrument(skip(self, password_hash))]
    pub async fn create_user_with_role(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<User> {
        dispatch!(self, create_user_with_role(username, password_hash, role))
    }
    /// The live account named `username` (matched regardless of case).
    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        dispatch!(self, credentials(username))
    }
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        dispatch!(self, user_by_id(id))
    }
    /// The live account named `username` (any case).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(self.credentials(username).await?.map(|c| c.user))
    }
    /// Live accounts (deleted ones are left out).
    pub async fn list_users(&self) -> Result<Vec<User>> {
        dispatch!(self, list_users())
    }
    /// Sets the role and returns the account before and after. Taking the
    /// admin role from the last admin is a [`crate::StoreError::Conflict`].
    pub async fn set_role(&self, user_id: i64, role: Role) -> Result<(User, User)> {
        dispatch!(self, set_role(user_id, role))
    }
    /// Replaces the password hash and ends the account's sessions.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<User> {
        dispatch!(self, set_password(user_id, password_hash))
    }
    /// Deletes an account (its name stays taken; its sessions and tokens
    /// go). The last admin is a [`crate::StoreError::Conflict`].
    pub async fn delete_user(&self, user_id: i64) -> Result<User> {
        dispatch!(self, delete_user(user_id))
    }

    /// Stores a session by the hash of its token (the token itself is never stored).
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        dispatch!(
            self,
            create_session(user_id, token_hash, csrf_token, expires_at)
        )
    }
    /// The unexpired session with this token hash (of a live account).
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        dispatch!(self, session(token_hash))
    }
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        dispatch!(self, delete_session(token_hash))
    }
    pub async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        scope: TokenScope,
        expires_at: Option<Timestamp>,
    ) -> Result<ApiToken> {
        dispatch!(
            self,
            create_api_token(user_id, name, token_hash, scope, expires_at)
        )
    }
    pub async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        dispatch!(self, list_api_tokens(user_id))
    }
    /// Deletes one of `user_id`'s tokens; None if it has no such token.
    pub async fn delete_api_token(&self, user_id: i64, id: i64) -> Result<Option<ApiToken>> {
        dispatch!(self, delete_api_token(user_id, id))
    }
    /// The owner and scope of the unexpired token with this hash (and records its use).
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
        dispatch!(self, api_token_user(token_hash))
    }

    /// Counts a login attempt against `key` atomically (one statement) and
    /// returns the count in the current window, which is restarted when it
    /// began at or before `window_floor`.
    pub async fn count_login_attempt(
        &self,
        key: &str,
        now: Timestamp,
        window_floor: Timestamp,
    ) -> Result<ThrottleCount> {
        dispatch!(self, count_login_attempt(key, now, window_floor))
    }
    /// Forgets `key`'s counter, and every counter whose window began before `stale`.
    pub async fn reset_login_attempts(&self, key: &str, stale: Timestamp) -> Result<()> {
        dispatch!(self, reset_login_attempts(key, stale))
    }
    /// Takes back one attempt from `key`'s counter.
    pub async fn forgive_login_attempt(&self, key: &str) -> Result<()> {
        dispatch!(self, forgive_login_attempt(key))
    }
    /// `key`'s stored counter, if any.
    pub async fn login_attempts(&self, key: &str) -> Result<Option<ThrottleCount>> {
        dispatch!(self, login_attempts(key))
    }
    /// Whether the account logged in from `client` since `since`.
    pub async fn is_known_client(
        &self,
        user_id: i64,
        client: &str,
        since: Timestamp,
    ) -> Result<bool> {
        dispatch!(self, is_known_client(user_id, client, since))
    }
    pub async fn remember_client(&self, user_id: i64, client: &str, at: Timestamp) -> Result<()> {
        dispatch!(self, remember_client(user_id, client, at))
    }

    /// Appends to the audit log.
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<()> {
        dispatch!(self, record_audit(entry))
    }
    /// A page of the audit log (newest first) and the number of matching entries.
    pub async fn audit(&self, query: &AuditQuery) -> Result<(Vec<AuditEntry>, i64)> {
        dispatch!(self, audit(query))
    }
}
