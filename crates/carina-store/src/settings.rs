//! Instance-wide settings and each user's editor preferences.

use crate::db::Database;
use crate::db::sql::sql;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// A user's settings of the editor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// Proposals scoring below this are hidden in the editor.
    pub proposal_threshold: f64,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            proposal_threshold: 0.3,
        }
    }
}

impl Database {
    /// An instance-wide setting, initialised to `initial` by whoever asks first.
    pub async fn setting_or_init(&self, name: &str, initial: &str) -> Result<String> {
        // The stored value of `name`, storing `initial` first if there is none
        // (the first process to ask wins; every process then reads the same value).
        sql("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(initial)
            .execute(self)
            .await?;
        Ok(sql("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .scalar_one(self)
            .await?)
    }

    pub async fn preferences(&self, user_id: i64) -> Result<Preferences> {
        let t: Option<f64> =
            sql("SELECT proposal_threshold FROM user_preferences WHERE user_id = $1")
                .bind(user_id)
                .scalar_optional(self)
                .await?;
        Ok(
            t.map_or_else(Preferences::default, |proposal_threshold| Preferences {
                proposal_threshold,
            }),
        )
    }

    pub async fn set_preferences(&self, user_id: i64, p: &Preferences) -> Result<Preferences> {
        sql(
            "INSERT INTO user_preferences (user_id, proposal_threshold) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET proposal_threshold = excluded.proposal_threshold",
        )
        .bind(user_id)
        .bind(p.proposal_threshold)
        .execute(self)
        .await?;
        Ok(*p)
    }
}
