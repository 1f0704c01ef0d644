// Login throttling and the audit log (included by both backends).

// ---- login throttling ----------------------------------------------------------

/// Counts one login attempt against `key` and returns the counter, in one
/// statement: an upsert that starts a new window when the stored one began
/// before `window_floor`, else adds one. The row lock of the upsert
/// (PostgreSQL) or the write lock (SQLite) makes concurrent attempts from
/// any number of processes count one after another, so no two of them can
/// see the same count.
pub async fn count_login_attempt(
    pool: &Pool<Db>,
    key: &str,
    now: Timestamp,
    window_floor: Timestamp,
) -> Result<ThrottleCount> {
    let (attempts, window_start): (i64, i64) = sqlx::query_as(
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
    .fetch_one(pool)
    .await?;
    Ok(ThrottleCount {
        attempts,
        window_start: Timestamp(window_start),
    })
}

/// Forgets `key`'s counter and every counter whose window began before `stale`.
pub async fn reset_login_attempts(pool: &Pool<Db>, key: &str, stale: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1 OR window_start < $2")
        .bind(key)
        .bind(stale.millis())
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes one attempt off `key`'s counter (a login that succeeded should not
/// use up a shared allowance).
pub async fn forgive_login_attempt(pool: &Pool<Db>, key: &str) -> Result<()> {
    sqlx::query(
        "UPDATE login_throttle SET attempts = attempts - 1 WHERE throttle_key = $1 AND attempts > 0",
    )
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// `key`'s counter as stored (attempts, window start), if any.
pub async fn login_attempts(pool: &Pool<Db>, key: &str) -> Result<Option<ThrottleCount>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT attempts, window_start FROM login_throttle WHERE throttle_key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(attempts, w)| ThrottleCount {
        attempts,
        window_start: Timestamp(w),
    }))
}

/// Whether `user_id` logged in from `client` since `since`.
pub async fn is_known_client(
    pool: &Pool<Db>,
    user_id: i64,
    client: &str,
    since: Timestamp,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM known_clients WHERE user_id = $1 AND client = $2 AND last_login_at >= $3",
    )
    .bind(user_id)
    .bind(client)
    .bind(since.millis())
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub async fn remember_client(
    pool: &Pool<Db>,
    user_id: i64,
    client: &str,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO known_clients (user_id, client, last_login_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, client) DO UPDATE SET last_login_at = excluded.last_login_at",
    )
    .bind(user_id)
    .bind(client)
    .bind(at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

// ---- audit log -------------------------------------------------------------------

pub async fn record_audit(pool: &Pool<Db>, entry: &NewAudit) -> Result<()> {
    sqlx::query(
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
    .execute(pool)
    .await?;
    Ok(())
}

/// A page of audit entries (newest first) and how many match.
pub async fn audit(pool: &Pool<Db>, query: &AuditQuery) -> Result<(Vec<AuditEntry>, i64)> {
    let kind = query.kind.as_deref().unwrap_or("");
    let user = query.user.as_deref().unwrap_or("").to_lowercase();
    let since = query.since.map_or(i64::MIN, Timestamp::millis);
    let until = query.until.map_or(i64::MAX, Timestamp::millis);
    let filter = "($1 = '' OR kind = $1) \
        AND ($2 = '' OR LOWER(COALESCE(actor, '')) = $2 OR LOWER(COALESCE(subject, '')) = $2) \
        AND at >= $3 AND at < $4";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE {filter}"))
        .bind(kind)
        .bind(&user)
        .bind(since)
        .bind(until)
        .fetch_one(pool)
        .await?;
    let per_page = i64::from(query.per_page.max(1));
    let offset = i64::from(query.page.max(1) - 1) * per_page;
    let rows: Vec<AuditRow> = sqlx::query_as(&format!(
        "SELECT id, at, kind, actor_id, actor, subject_id, subject, client, detail \
         FROM audit_log WHERE {filter} ORDER BY id DESC LIMIT $5 OFFSET $6"
    ))
    .bind(kind)
    .bind(&user)
    .bind(since)
    .bind(until)
    .bind(per_page)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let entries = rows
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<Vec<_>>>()?;
    Ok((entries, total))
}
