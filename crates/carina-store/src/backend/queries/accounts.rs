// Users, sessions, API tokens, login throttling and settings (included by both backends).

// ---- users -----------------------------------------------------------------

pub async fn create_user(
    pool: &Pool<Db>,
    username: &str,
    password_hash: &str,
    default_role: Role,
    first_only: bool,
) -> Result<User> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    sqlx::query(FIRST_USER_LOCK).execute(&mut *tx).await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 && first_only {
        return Err(StoreError::Invalid("registration is closed".into()));
    }
    let role = if existing == 0 {
        Role::Admin
    } else {
        default_role
    };
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(Timestamp::now().millis())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| unique_as(e, "this username is taken"))?;
    tx.commit().await?;
    row.user()
}

pub async fn credentials(pool: &Pool<Db>, username: &str) -> Result<Option<Credentials>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Credentials {
            user: r.user()?,
            password_hash: r.password_hash,
        })
    })
    .transpose()
}

pub async fn list_users(pool: &Pool<Db>) -> Result<Vec<User>> {
    let rows: Vec<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(pool)
            .await?;
    rows.iter().map(UserRow::user).collect()
}

pub async fn set_role(pool: &Pool<Db>, id: i64, role: Role) -> Result<User> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "UPDATE users SET role = $1 WHERE id = $2 RETURNING {USER_COLUMNS}"
    ))
    .bind(role.as_str())
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.ok_or(StoreError::NotFound)?.user()
}

// ---- sessions and tokens -----------------------------------------------------

pub async fn create_session(
    pool: &Pool<Db>,
    user_id: i64,
    token_hash: &str,
    csrf_token: &str,
    expires_at: Timestamp,
) -> Result<()> {
    let now = Timestamp::now().millis();
    // Expired sessions are swept here rather than by a timer, so that every
    // process sharing the database does its part without coordination.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn session(pool: &Pool<Db>, token_hash: &str) -> Result<Option<Session>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        csrf_token: String,
        expires_at: i64,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT u.id, u.username, u.role, u.created_at, u.password_hash, s.csrf_token, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(Timestamp::now().millis())
    .fetch_optional(pool)
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

pub async fn delete_session(pool: &Pool<Db>, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn create_api_token(
    pool: &Pool<Db>,
    user_id: i64,
    name: &str,
    token_hash: &str,
) -> Result<ApiToken> {
    let row: TokenRow = sqlx::query_as(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, created_at, last_used_at",
    )
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(Timestamp::now().millis())
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

pub async fn list_api_tokens(pool: &Pool<Db>, user_id: i64) -> Result<Vec<ApiToken>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn delete_api_token(pool: &Pool<Db>, user_id: i64, id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn api_token_user(pool: &Pool<Db>, token_hash: &str) -> Result<Option<User>> {
    let user_id: Option<i64> = sqlx::query_scalar(
        "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 RETURNING user_id",
    )
    .bind(Timestamp::now().millis())
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let user: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    user.map(|u| u.user()).transpose()
}

// ---- login throttling ----------------------------------------------------------

pub async fn record_login_failure(pool: &Pool<Db>, key: &str, at: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO login_failures (throttle_key, at) VALUES ($1, $2)")
        .bind(key)
        .bind(at.millis())
        .execute(pool)
        .await?;
    Ok(())
}

/// Failures for `key` since `since`: their number and the oldest one's time.
pub async fn login_failures(
    pool: &Pool<Db>,
    key: &str,
    since: Timestamp,
) -> Result<(i64, Option<Timestamp>)> {
    let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_failures WHERE throttle_key = $1 AND at >= $2",
    )
    .bind(key)
    .bind(since.millis())
    .fetch_one(pool)
    .await?;
    Ok((n, oldest.map(Timestamp)))
}

pub async fn clear_login_failures(pool: &Pool<Db>, key: &str, before: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1 OR at < $2")
        .bind(key)
        .bind(before.millis())
        .execute(pool)
        .await?;
    Ok(())
}

// ---- settings ----------------------------------------------------------------------

/// The stored value of `name`, storing `initial` first if there is none
/// (the first process to ask wins; every process then reads the same value).
pub async fn setting_or_init(pool: &Pool<Db>, name: &str, initial: &str) -> Result<String> {
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(initial)
        .execute(pool)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?,
    )
}
