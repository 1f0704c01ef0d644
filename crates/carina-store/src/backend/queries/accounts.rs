// Users, sessions, API tokens and settings (included by both backends).
// Usernames match case-insensitively (a unique index on LOWER(username));
// a deleted account keeps its row and name but is invisible here.

// ---- users -----------------------------------------------------------------

const LIVE: &str = "deleted_at IS NULL";

/// Registration: the first account is an admin; later ones get
/// `default_role`, or are refused with `first_only`.
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
    let user = insert_user(&mut tx, username, password_hash, role).await?;
    tx.commit().await?;
    Ok(user)
}

/// An account with exactly `role` (an admin creating it, or the CLI).
pub async fn create_user_with_role(
    pool: &Pool<Db>,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<User> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let user = insert_user(&mut tx, username, password_hash, role).await?;
    tx.commit().await?;
    Ok(user)
}

async fn insert_user(
    tx: &mut Tx<'_>,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<User> {
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(Timestamp::now().millis())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| unique_as(e, "this username is taken (usernames ignore case)"))?;
    row.user()
}

/// The live account named `username` (any case) with its password hash.
pub async fn credentials(pool: &Pool<Db>, username: &str) -> Result<Option<Credentials>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE LOWER(username) = LOWER($1) AND {LIVE}"
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

pub async fn user_by_id(pool: &Pool<Db>, id: i64) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND {LIVE}"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(UserRow::user).transpose()
}

pub async fn list_users(pool: &Pool<Db>) -> Result<Vec<User>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {LIVE} ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(UserRow::user).collect()
}

/// Refuses (409) a change that would leave no live admin. Runs inside the
/// transaction that makes the change, after `FIRST_USER_LOCK`, so two
/// admins demoting each other at once cannot both succeed.
async fn keep_an_admin(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    let others: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND {LIVE} AND id <> $1"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if others == 0 {
        return Err(StoreError::Conflict(
            "this is the last admin: make another account admin first".into(),
        ));
    }
    Ok(())
}

async fn live_user_in(tx: &mut Tx<'_>, id: i64) -> Result<User> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND {LIVE}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or(StoreError::NotFound)?.user()
}

/// Sets the role; the last admin cannot lose it (Conflict). Returns the
/// account before and after.
pub async fn set_role(pool: &Pool<Db>, id: i64, role: Role) -> Result<(User, User)> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    sqlx::query(FIRST_USER_LOCK).execute(&mut *tx).await?;
    let before = live_user_in(&mut tx, id).await?;
    if before.role == Role::Admin && role != Role::Admin {
        keep_an_admin(&mut tx, id).await?;
    }
    let row: UserRow = sqlx::query_as(&format!(
        "UPDATE users SET role = $1 WHERE id = $2 RETURNING {USER_COLUMNS}"
    ))
    .bind(role.as_str())
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((before, row.user()?))
}

/// Replaces the password hash and ends the account's sessions.
pub async fn set_password(pool: &Pool<Db>, id: i64, password_hash: &str) -> Result<User> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND {LIVE} RETURNING {USER_COLUMNS}"
    ))
    .bind(password_hash)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let user = row.ok_or(StoreError::NotFound)?.user()?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes an account: it can no longer log in, its sessions, tokens and
/// known clients go, and its name stays taken so old records stay
/// unambiguous. The last admin cannot be deleted (Conflict).
pub async fn delete_user(pool: &Pool<Db>, id: i64) -> Result<User> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    sqlx::query(FIRST_USER_LOCK).execute(&mut *tx).await?;
    let user = live_user_in(&mut tx, id).await?;
    if user.role == Role::Admin {
        keep_an_admin(&mut tx, id).await?;
    }
    sqlx::query("UPDATE users SET deleted_at = $1 WHERE id = $2")
        .bind(Timestamp::now().millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for table in ["sessions", "api_tokens", "known_clients"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(user)
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
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deleted_at IS NULL",
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

const TOKEN_COLUMNS: &str = "id, name, scope, created_at, expires_at, last_used_at";

pub async fn create_api_token(
    pool: &Pool<Db>,
    user_id: i64,
    name: &str,
    token_hash: &str,
    scope: TokenScope,
    expires_at: Option<Timestamp>,
) -> Result<ApiToken> {
    let row: TokenRow = sqlx::query_as(&format!(
        "INSERT INTO api_tokens (user_id, name, token_hash, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(scope.as_str())
    .bind(Timestamp::now().millis())
    .bind(expires_at.map(Timestamp::millis))
    .fetch_one(pool)
    .await?;
    row.try_into()
}

pub async fn list_api_tokens(pool: &Pool<Db>, user_id: i64) -> Result<Vec<ApiToken>> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Deletes one of `user_id`'s tokens and returns it; None if it has no such token.
pub async fn delete_api_token(pool: &Pool<Db>, user_id: i64, id: i64) -> Result<Option<ApiToken>> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    row.map(TryInto::try_into).transpose()
}

/// The owner of the live token with this hash, recording its use. An
/// expired token, or one of a deleted account, is no token.
pub async fn api_token_user(pool: &Pool<Db>, token_hash: &str) -> Result<Option<TokenOwner>> {
    let now = Timestamp::now().millis();
    let token: Option<(i64, i64, String)> = sqlx::query_as(
        "UPDATE api_tokens SET last_used_at = $1 \
         WHERE token_hash = $2 AND (expires_at IS NULL OR expires_at > $1) \
         RETURNING id, user_id, scope",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    let Some((token_id, user_id, scope)) = token else {
        return Ok(None);
    };
    let Some(user) = user_by_id(pool, user_id).await? else {
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
