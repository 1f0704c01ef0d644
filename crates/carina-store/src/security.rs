//! Login throttling, known clients and the audit log.

use crate::db::Database;
use crate::db::sql::sql;
use crate::error::{Result, StoreError};
use crate::time::Timestamp;
use crate::users::User;
use serde::Serialize;

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

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub subject_id: Option<i64>,
    pub subject: Option<String>,
    pub client: Option<String>,
    pub detail: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self> {
        Ok(AuditEntry {
            id: r.id,
            at: Timestamp(r.at),
            kind: r.kind,
            actor_id: r.actor_id,
            actor: r.actor,
            subject_id: r.subject_id,
            subject: r.subject,
            client: r.client,
            detail: serde_json::from_str(&r.detail)?,
        })
    }
}

impl Database {
    /// Counts a login attempt against `key` atomically (one statement) and
    /// returns the count in the current window, which is restarted when it
    /// began at or before `window_floor`.
    pub async fn count_login_attempt(
        &self,
        key: &str,
        now: Timestamp,
        window_floor: Timestamp,
    ) -> Result<ThrottleCount> {
        // Counts one login attempt against `key` and returns the counter, in one
        // statement: an upsert that starts a new window when the stored one began
        // before `window_floor`, else adds one. The row lock of the upsert
        // (PostgreSQL) or the write lock (SQLite) makes concurrent attempts from
        // any number of processes count one after another, so no two of them can
        // see the same count.
        let (attempts, window_start): (i64, i64) = sql(
            "INSERT INTO login_throttle (throttle_key, window_start, attempts) VALUES ($1, $2, 1) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               attempts = CASE WHEN login_throttle.window_start <= $3 THEN 1 \
                               ELSE login_throttle.attempts + 1 END, \
               window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 \
                                   ELSE login_throttle.window_start END \
             RETURNING attempts, window_start",
        )
        .bind(key)
        .bind(now.millis())
        .bind(window_floor.millis())
        .fetch_one(self)
        .await?;
        Ok(ThrottleCount {
            attempts,
            window_start: Timestamp(window_start),
        })
    }

    /// Forgets `key`'s counter, and every counter whose window began before `stale`.
    pub async fn reset_login_attempts(&self, key: &str, stale: Timestamp) -> Result<()> {
        sql("DELETE FROM login_throttle WHERE throttle_key = $1 OR window_start < $2")
            .bind(key)
            .bind(stale.millis())
            .execute(self)
            .await?;
        Ok(())
    }

    /// Takes back one attempt from `key`'s counter.
    pub async fn forgive_login_attempt(&self, key: &str) -> Result<()> {
        // Takes one attempt off `key`'s counter (a login that succeeded should not
        // use up a shared allowance).
        sql(
            "UPDATE login_throttle SET attempts = attempts - 1 WHERE throttle_key = $1 AND attempts > 0",
        )
        .bind(key)
        .execute(self)
        .await?;
        Ok(())
    }

    /// `key`'s stored counter, if any.
    pub async fn login_attempts(&self, key: &str) -> Result<Option<ThrottleCount>> {
        let row: Option<(i64, i64)> =
            sql("SELECT attempts, window_start FROM login_throttle WHERE throttle_key = $1")
                .bind(key)
                .fetch_optional(self)
                .await?;
        Ok(row.map(|(attempts, w)| ThrottleCount {
            attempts,
            window_start: Timestamp(w),
        }))
    }

    /// Whether the account logged in from `client` since `since`.
    pub async fn is_known_client(
        &self,
        user_id: i64,
        client: &str,
        since: Timestamp,
    ) -> Result<bool> {
        let n: i64 = sql(
            "SELECT COUNT(*) FROM known_clients WHERE user_id = $1 AND client = $2 AND last_login_at >= $3",
        )
        .bind(user_id)
        .bind(client)
        .bind(since.millis())
        .scalar_one(self)
        .await?;
        Ok(n > 0)
    }

    pub async fn remember_client(&self, user_id: i64, client: &str, at: Timestamp) -> Result<()> {
        sql(
            "INSERT INTO known_clients (user_id, client, last_login_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, client) DO UPDATE SET last_login_at = excluded.last_login_at",
        )
        .bind(user_id)
        .bind(client)
        .bind(at.millis())
        .execute(self)
        .await?;
        Ok(())
    }

    /// Appends to the audit log.
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<()> {
        sql(
            "INSERT INTO audit_log (at, kind, actor_id, actor, subject_id, subject, client, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Timestamp::now().millis())
        .bind(&entry.kind)
        .bind(entry.actor_id)
        .bind(&entry.actor)
        .bind(entry.subject_id)
        .bind(&entry.subject)
        .bind(&entry.client)
        .bind(serde_json::to_string(&entry.detail)?)
        .execute(self)
        .await?;
        Ok(())
    }

    /// A page of the audit log (newest first) and the number of matching entries.
    pub async fn audit(&self, query: &AuditQuery) -> Result<(Vec<AuditEntry>, i64)> {
        let kind = query.kind.as_deref().unwrap_or("");
        let user = query.user.as_deref().unwrap_or("").to_lowercase();
        let since = query.since.map_or(i64::MIN, Timestamp::millis);
        let until = query.until.map_or(i64::MAX, Timestamp::millis);
        let filter = "($1 = '' OR kind = $1) \
            AND ($2 = '' OR LOWER(COALESCE(actor, '')) = $2 OR LOWER(COALESCE(subject, '')) = $2) \
            AND at >= $3 AND at < $4";
        let total: i64 = sql(&format!("SELECT COUNT(*) FROM audit_log WHERE {filter}"))
            .bind(kind)
            .bind(&user)
            .bind(since)
            .bind(until)
            .scalar_one(self)
            .await?;
        let per_page = i64::from(query.per_page.max(1));
        let offset = i64::from(query.page.max(1) - 1) * per_page;
        let rows: Vec<AuditRow> = sql(&format!(
            "SELECT id, at, kind, actor_id, actor, subject_id, subject, client, detail \
             FROM audit_log WHERE {filter} ORDER BY id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(kind)
        .bind(&user)
        .bind(since)
        .bind(until)
        .bind(per_page)
        .bind(offset)
        .fetch_all(self)
        .await?;
        let entries = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<_>>>()?;
        Ok((entries, total))
    }
}
