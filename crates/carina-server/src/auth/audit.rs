//! The audit log: who logged in (or failed to), who changed whose role or
//! password, made or deleted an account, made or revoked a token, and who
//! exported data. Entries carry names, ids, roles, counts and the client
//! address; never a password, a token or patient data. Admins read them
//! with `GET /audit`.

use crate::error::AppResult;
use crate::state::AppState;
use carina_store::NewAudit;

/// The kinds of entry, as stored and filtered on.
pub mod kind {
    pub const LOGIN: &str = "login";
    pub const LOGIN_FAILED: &str = "login_failed";
    pub const LOGIN_THROTTLED: &str = "login_throttled";
    pub const USER_REGISTERED: &str = "user_registered";
    pub const USER_CREATED: &str = "user_created";
    pub const USER_DELETED: &str = "user_deleted";
    pub const ROLE_CHANGED: &str = "role_changed";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const TOKEN_CREATED: &str = "token_created";
    pub const TOKEN_REVOKED: &str = "token_revoked";
    pub const EXPORT: &str = "export";
    /// Written by migration 0004 for an account renamed because its name
    /// differed from an older one's only in case.
    pub const USER_RENAMED: &str = "user_renamed";
}

pub async fn record(state: &AppState, entry: NewAudit) -> AppResult<()> {
    state.store.db.record_audit(&entry).await?;
    Ok(())
}
