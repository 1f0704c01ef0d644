//! The one place where a statement meets a database. A [`Query`] is SQL text
//! with `$N` placeholders and the values bound to them; it runs on the pool
//! of either backend or inside a transaction ([`On`]). Everything above this
//! file writes each statement once.
//!
//! The values are kept as [`Arg`]s (integer, real, boolean or text, each
//! possibly NULL) and bound to the native driver when the statement runs, so
//! PostgreSQL sees the same typed parameters (`INT8`, `FLOAT8`, `BOOL`,
//! `TEXT`) as when the code bound Rust values directly. Rows decode with the
//! `sqlx::FromRow` derives, which are generic over the row type.

use super::{Database, Tx};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::query::QueryAs;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Encode, FromRow, Type};

/// A row type both backends can decode (every `#[derive(sqlx::FromRow)]`
/// struct and tuple of the store's column types).
pub(crate) trait FromBoth:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> FromBoth for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A value bound to a placeholder; NULL keeps its SQL type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<&i64> for Arg {
    fn from(v: &i64) -> Self {
        Arg::Int(Some(*v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Real(Some(v))
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::Real(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Bool(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::Text(v.clone())
    }
}

/// Where a statement runs: a pool (one statement, autocommit) or the
/// connection of an open transaction.
pub(crate) enum On<'c> {
    SqlitePool(&'c SqlitePool),
    PgPool(&'c PgPool),
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl<'c> From<&'c Database> for On<'c> {
    fn from(db: &'c Database) -> Self {
        match db {
            Database::Sqlite(p) => On::SqlitePool(p),
            Database::Postgres(p) => On::PgPool(p),
        }
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        match tx {
            Tx::Sqlite(t) => On::Sqlite(t),
            Tx::Postgres(t) => On::Postgres(t),
        }
    }
}

/// A statement and its values: `sql("… WHERE id = $1").bind(id).fetch_optional(db)`.
#[must_use = "a query does nothing until it runs"]
pub(crate) struct Query<'s> {
    text: &'s str,
    args: Vec<Arg>,
}

/// A statement to bind values to and run.
pub(crate) fn sql(text: &str) -> Query<'_> {
    Query {
        text,
        args: Vec::new(),
    }
}

/// `sqlx::query_as` on backend `DB` with `args` bound in order.
fn bound<'q, DB, O>(text: &'q str, args: &'q [Arg]) -> QueryAs<'q, DB, O, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    O: for<'r> FromRow<'r, DB::Row>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    args.iter().fold(sqlx::query_as(text), |q, arg| match arg {
        Arg::Int(v) => q.bind(*v),
        Arg::Real(v) => q.bind(*v),
        Arg::Bool(v) => q.bind(*v),
        Arg::Text(v) => q.bind(v.as_deref()),
    })
}

/// `sqlx::query` on backend `DB` with `args` bound in order (no rows wanted).
fn bound_statement<'q, DB>(
    text: &'q str,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    args.iter().fold(sqlx::query(text), |q, arg| match arg {
        Arg::Int(v) => q.bind(*v),
        Arg::Real(v) => q.bind(*v),
        Arg::Bool(v) => q.bind(*v),
        Arg::Text(v) => q.bind(v.as_deref()),
    })
}

impl Query<'_> {
    /// Binds the next placeholder (`$1`, then `$2`, …).
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<u64, sqlx::Error> {
        let (text, args) = (self.text, &self.args);
        Ok(match on.into() {
            On::SqlitePool(p) => bound_statement::<sqlx::Sqlite>(text, args)
                .execute(p)
                .await?
                .rows_affected(),
            On::Sqlite(c) => bound_statement::<sqlx::Sqlite>(text, args)
                .execute(c)
                .await?
                .rows_affected(),
            On::PgPool(p) => bound_statement::<sqlx::Postgres>(text, args)
                .execute(p)
                .await?
                .rows_affected(),
            On::Postgres(c) => bound_statement::<sqlx::Postgres>(text, args)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }

    /// Every row.
    pub async fn fetch_all<'c, T: FromBoth>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Vec<T>, sqlx::Error> {
        let (text, args) = (self.text, &self.args);
        match on.into() {
            On::SqlitePool(p) => bound::<sqlx::Sqlite, T>(text, args).fetch_all(p).await,
            On::Sqlite(c) => bound::<sqlx::Sqlite, T>(text, args).fetch_all(c).await,
            On::PgPool(p) => bound::<sqlx::Postgres, T>(text, args).fetch_all(p).await,
            On::Postgres(c) => bound::<sqlx::Postgres, T>(text, args).fetch_all(c).await,
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional<'c, T: FromBoth>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Option<T>, sqlx::Error> {
        let (text, args) = (self.text, &self.args);
        match on.into() {
            On::SqlitePool(p) => bound::<sqlx::Sqlite, T>(text, args).fetch_optional(p).await,
            On::Sqlite(c) => bound::<sqlx::Sqlite, T>(text, args).fetch_optional(c).await,
            On::PgPool(p) => {
                bound::<sqlx::Postgres, T>(text, args)
                    .fetch_optional(p)
                    .await
            }
            On::Postgres(c) => {
                bound::<sqlx::Postgres, T>(text, args)
                    .fetch_optional(c)
                    .await
            }
        }
    }

    /// The first row; none is `sqlx::Error::RowNotFound`.
    pub async fn fetch_one<'c, T: FromBoth>(self, on: impl Into<On<'c>>) -> Result<T, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of every row.
    pub async fn scalar_all<'c, T>(self, on: impl Into<On<'c>>) -> Result<Vec<T>, sqlx::Error>
    where
        (T,): FromBoth,
    {
        Ok(self
            .fetch_all::<(T,)>(on)
            .await?
            .into_iter()
            .map(|(v,)| v)
            .collect())
    }

    /// The first column of the first row, if any.
    pub async fn scalar_optional<'c, T>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Option<T>, sqlx::Error>
    where
        (T,): FromBoth,
    {
        Ok(self.fetch_optional::<(T,)>(on).await?.map(|(v,)| v))
    }

    /// The first column of the first row; none is `sqlx::Error::RowNotFound`.
    pub async fn scalar_one<'c, T>(self, on: impl Into<On<'c>>) -> Result<T, sqlx::Error>
    where
        (T,): FromBoth,
    {
        Ok(self.fetch_one::<(T,)>(on).await?.0)
    }

    /// Hands each row to `f` as it arrives, without holding them all.
    pub async fn for_each<T: FromBoth>(
        self,
        db: &Database,
        mut f: impl FnMut(T) + Send,
    ) -> Result<(), sqlx::Error> {
        use futures_util::TryStreamExt;
        let (text, args) = (self.text, &self.args);
        match db {
            Database::Sqlite(p) => {
                let mut rows = bound::<sqlx::Sqlite, T>(text, args).fetch(p);
                while let Some(row) = rows.try_next().await? {
                    f(row);
                }
            }
            Database::Postgres(p) => {
                let mut rows = bound::<sqlx::Postgres, T>(text, args).fetch(p);
                while let Some(row) = rows.try_next().await? {
                    f(row);
                }
            }
        }
        Ok(())
    }
}
