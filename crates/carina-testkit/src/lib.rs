//! Test fixtures shared by Carina's crates (a dev-dependency only; it
//! depends on no Carina crate, so any crate's tests may use it).
//!
//! The external test services are named by environment variables
//! (`scripts/test.sh` sets them): [`DATABASE_URL_VAR`] for PostgreSQL and
//! [`S3_ENDPOINT_VAR`] for an S3-compatible server (moto). A test whose
//! variable is unset is skipped with a note, except when `CI` is set (even
//! to an empty value): there it fails, because CI must run every test.
//!
//! [`dicom`] writes DICOM bytes by hand for tests of hostile files.

pub mod dicom;
pub mod orthanc;

use sqlx::Connection;

/// The variable naming the test PostgreSQL server (an admin URL).
pub const DATABASE_URL_VAR: &str = "CARINA_TEST_DATABASE_URL";
/// The variable naming the test S3-compatible server's endpoint.
pub const S3_ENDPOINT_VAR: &str = "CARINA_TEST_S3_ENDPOINT";

/// The value of `var`, or `None` with a note on stderr when it is unset or
/// empty. Panics when `CI` is set and `var` is not: CI must run `what`.
pub fn env_or_skip(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {var} is not: {what} must run in CI (scripts/test.sh sets it)"
            );
            eprintln!("note: {var} is not set; skipping {what}");
            None
        }
    }
}

/// `base` (a PostgreSQL URL) with its database name replaced by `name`,
/// keeping any `?query`.
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (base, String::new()),
    };
    let prefix = match head.rfind('/') {
        Some(i) if i > "postgres://".len() => &head[..i],
        _ => head,
    };
    format!("{prefix}/{name}{query}")
}

/// A fresh, empty PostgreSQL database on the test server; [`PgDatabase::drop`]
/// removes it.
pub struct PgDatabase {
    /// The URL of the fresh database.
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    /// Drops any database called `name` on the server at `admin` (a URL the
    /// test may administer with), creates it afresh, and returns it. Panics
    /// when the server cannot be reached.
    pub async fn create(admin: &str, name: &str) -> PgDatabase {
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        PgDatabase {
            url: with_database(admin, name),
            admin: admin.to_string(),
            name: name.to_string(),
        }
    }

    /// Drops the database (best effort: a failure is ignored).
    pub async fn drop(&self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
        }
    }
}

/// A fresh bucket on the test S3 server (skipped as [`env_or_skip`] says),
/// and the object-store options that reach it.
pub async fn s3_bucket() -> Option<(String, Vec<(String, String)>)> {
    let endpoint = env_or_skip(S3_ENDPOINT_VAR, "the S3 tests")?;
    let endpoint = endpoint.trim_end_matches('/').to_string();
    let bucket = format!("carina-test-{}", unique_suffix());
    // moto accepts unsigned requests: CreateBucket is a PUT on the bucket.
    let r = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("reach the test S3 server");
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    let options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
        ("aws_region", "us-east-1"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec();
    Some((bucket, options))
}

/// `GET url` with a bearer token, and its JSON answer; panics when the
/// request fails or the answer is not JSON.
pub async fn get_json_bearer(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> serde_json::Value {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// A suffix unique to this process and moment (hex nanoseconds and pid).
pub fn unique_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", n, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_swapped_and_query_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
    }
}
