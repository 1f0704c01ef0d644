//! Accounts: roles, users and their passwords. Usernames match
//! case-insensitively (a unique index on `LOWER(username)`); a deleted
//! account keeps its row and name but is invisible here.

use crate::db::Backend;
use crate::db::sql::sql;
use crate::db::{Database, Tx};
use crate::error::{Result, StoreError, unique_as};
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

const USER_COLUMNS: &str = "id, username, role, created_at, password_hash";

const LIVE: &str = "deleted_at IS NULL";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub created_at: i64,
    pub password_hash: String,
}

impl UserRow {
    pub fn user(&self) -> Result<User> {
        Ok(User {
            id: self.id,
            username: self.username.clone(),
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Invalid(format!("unknown role {:?}", self.role)))?,
            created_at: Timestamp(self.created_at),
        })
    }
}

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
        let mut tx = self.begin_write().await?;
        lock_accounts(&mut tx).await?;
        let existing: i64 = sql("SELECT COUNT(*) FROM users")
            .scalar_one(&mut tx)
            .await?;
        if existing > 0 && first_only {
            return Err(StoreError::Invalid("registration is closed".into()));
        }
        let role = if existing == 0 {
            Role::Admin
        } else {
            default_role
        };
        let user = insert_user(&mut tx, username, password_hash, role).await?;
        tx.commit().await?;
        Ok(user)
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
        let mut tx = self.begin_write().await?;
        let user = insert_user(&mut tx, username, password_hash, role).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The live account named `username` (matched regardless of case).
    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let row: Option<UserRow> = sql(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE LOWER(username) = LOWER($1) AND {LIVE}"
        ))
        .bind(username)
        .fetch_optional(self)
        .await?;
        row.map(|r| {
            Ok(Credentials {
                user: r.user()?,
                password_hash: r.password_hash,
            })
        })
        .transpose()
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let row: Option<UserRow> = sql(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND {LIVE}"
        ))
        .bind(id)
        .fetch_optional(self)
        .await?;
        row.as_ref().map(UserRow::user).transpose()
    }

    /// The live account named `username` (any case).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(self.credentials(username).await?.map(|c| c.user))
    }

    /// Live accounts (deleted ones are left out).
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sql(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {LIVE} ORDER BY id"
        ))
        .fetch_all(self)
        .await?;
        rows.iter().map(UserRow::user).collect()
    }

    /// Sets the role and returns the account before and after. Taking the
    /// admin role from the last admin is a [`crate::StoreError::Conflict`].
    pub async fn set_role(&self, id: i64, role: Role) -> Result<(User, User)> {
        let mut tx = self.begin_write().await?;
        lock_accounts(&mut tx).await?;
        let before = live_user_in(&mut tx, id).await?;
        if before.role == Role::Admin && role != Role::Admin {
            keep_an_admin(&mut tx, id).await?;
        }
        let row: UserRow = sql(&format!(
            "UPDATE users SET role = $1 WHERE id = $2 RETURNING {USER_COLUMNS}"
        ))
        .bind(role.as_str())
        .bind(id)
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok((before, row.user()?))
    }

    /// Replaces the password hash and ends the account's sessions.
    pub async fn set_password(&self, id: i64, password_hash: &str) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let row: Option<UserRow> = sql(&format!(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND {LIVE} RETURNING {USER_COLUMNS}"
        ))
        .bind(password_hash)
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let user = row.ok_or(StoreError::NotFound)?.user()?;
        sql("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deletes an account (its name stays taken; its sessions and tokens
    /// go). The last admin is a [`crate::StoreError::Conflict`].
    pub async fn delete_user(&self, id: i64) -> Result<User> {
        // Deletes an account: it can no longer log in, its sessions, tokens and
        // known clients go, and its name stays taken so old records stay
        // unambiguous. The last admin cannot be deleted (Conflict).
        let mut tx = self.begin_write().await?;
        lock_accounts(&mut tx).await?;
        let user = live_user_in(&mut tx, id).await?;
        if user.role == Role::Admin {
            keep_an_admin(&mut tx, id).await?;
        }
        sql("UPDATE users SET deleted_at = $1 WHERE id = $2")
            .bind(Timestamp::now().millis())
            .bind(id)
            .execute(&mut tx)
            .await?;
        for table in ["sessions", "api_tokens", "known_clients"] {
            sql(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }
}

async fn insert_user(tx: &mut Tx, username: &str, password_hash: &str, role: Role) -> Result<User> {
    let row: UserRow = sql(&format!(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(Timestamp::now().millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| unique_as(e, "this username is taken (usernames ignore case)"))?;
    row.user()
}

/// Refuses (409) a change that would leave no live admin. Runs inside the
/// transaction that makes the change, after [`lock_accounts`], so two
/// admins demoting each other at once cannot both succeed.
async fn keep_an_admin(tx: &mut Tx, id: i64) -> Result<()> {
    let others: i64 = sql(&format!(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND {LIVE} AND id <> $1"
    ))
    .bind(id)
    .scalar_one(&mut *tx)
    .await?;
    if others == 0 {
        return Err(StoreError::Conflict(
            "this is the last admin: make another account admin first".into(),
        ));
    }
    Ok(())
}

async fn live_user_in(tx: &mut Tx, id: i64) -> Result<User> {
    let row: Option<UserRow> = sql(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND {LIVE}"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    row.ok_or(StoreError::NotFound)?.user()
}

/// Orders first-account creation, role changes and deletions, in the
/// transaction that makes them. Two first registrations racing would both
/// see an empty table under PostgreSQL's READ COMMITTED, and two admins
/// demoting each other would both see another admin: a transaction-scoped
/// advisory lock orders them. SQLite serialises writers itself (the write
/// transaction holds its write lock from the start), so nothing more is
/// needed there.
async fn lock_accounts(tx: &mut Tx) -> Result<()> {
    match tx.backend() {
        Backend::Sqlite => {}
        Backend::Postgres => {
            sql("SELECT pg_advisory_xact_lock(727274)")
                .execute(tx)
                .await?;
        }
    }
    Ok(())
}
