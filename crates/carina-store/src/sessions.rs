//! Sessions (by the hash of their token) and personal API tokens.

use crate::db::Database;
use crate::db::sql::sql;
use crate::error::{Result, StoreError};
use crate::time::Timestamp;
use crate::users::{User, UserRow};
use serde::Serialize;

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

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self> {
        Ok(ApiToken {
            id: r.id,
            name: r.name,
            scope: TokenScope::parse(&r.scope)
                .ok_or_else(|| StoreError::Invalid(format!("unknown token scope {:?}", r.scope)))?,
            created_at: Timestamp(r.created_at),
            expires_at: r.expires_at.map(Timestamp),
            last_used_at: r.last_used_at.map(Timestamp),
        })
    }
}

impl Database {
    /// Stores a session by the hash of its token (the token itself is never stored).
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        let now = Timestamp::now().millis();
        // Expired sessions are swept here rather than by a timer, so that every
        // process sharing the database does its part without coordination.
        sql("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(self)
            .await?;
        sql(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(expires_at.millis())
        .execute(self)
        .await?;
        Ok(())
    }

    /// The unexpired session with this token hash (of a live account).
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            csrf_token: String,
            expires_at: i64,
        }
        let row: Option<Row> = sql(
            "SELECT u.id, u.username, u.role, u.created_at, u.password_hash, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deleted_at IS NULL",
        )
        .bind(token_hash)
        .bind(Timestamp::now().millis())
        .fetch_optional(self)
        .await?;
        row.map(|r| {
            Ok(Session {
                user: r.user.user()?,
                csrf_token: r.csrf_token,
                expires_at: Timestamp(r.expires_at),
            })
        })
        .transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sql("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self)
            .await?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        scope: TokenScope,
        expires_at: Option<Timestamp>,
    ) -> Result<ApiToken> {
        let row: TokenRow = sql(&format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(scope.as_str())
        .bind(Timestamp::now().millis())
        .bind(expires_at.map(Timestamp::millis))
        .fetch_one(self)
        .await?;
        row.try_into()
    }

    pub async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sql(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(self)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Deletes one of `user_id`'s tokens; None if it has no such token.
    pub async fn delete_api_token(&self, user_id: i64, id: i64) -> Result<Option<ApiToken>> {
        let row: Option<TokenRow> = sql(&format!(
            "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(self)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// The owner and scope of the unexpired token with this hash (and records its use).
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
        // The owner of the live token with this hash, recording its use. An
        // expired token, or one of a deleted account, is no token.
        let now = Timestamp::now().millis();
        let token: Option<(i64, i64, String)> = sql("UPDATE api_tokens SET last_used_at = $1 \
             WHERE token_hash = $2 AND (expires_at IS NULL OR expires_at > $1) \
             RETURNING id, user_id, scope")
        .bind(now)
        .bind(token_hash)
        .fetch_optional(self)
        .await?;
        let Some((token_id, user_id, scope)) = token else {
            return Ok(None);
        };
        let Some(user) = self.user(user_id).await? else {
            return Ok(None);
        };
        let scope = TokenScope::parse(&scope)
            .ok_or_else(|| StoreError::Invalid(format!("unknown token scope {scope:?}")))?;
        Ok(Some(TokenOwner {
            user,
            token_id,
            scope,
        }))
    }
}

const TOKEN_COLUMNS: &str = "id, name, scope, created_at, expires_at, last_used_at";
