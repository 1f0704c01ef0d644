//! The label set (the findings boxes are drawn for); ids are never reused.

use crate::db::Database;
use crate::db::sql::sql;
use crate::error::is_unique_violation;
use crate::error::{Result, StoreError, unique_as};
use carina_core::findings::{Label, LabelSet};

#[derive(sqlx::FromRow)]
pub(crate) struct LabelRow {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub retired: bool,
}

impl From<LabelRow> for carina_core::findings::Label {
    fn from(r: LabelRow) -> Self {
        carina_core::findings::Label {
            id: r.id as u32,
            name: r.name,
            color: r.color,
            retired: r.retired,
        }
    }
}

impl Database {
    pub async fn labels(&self) -> Result<LabelSet> {
        let rows: Vec<LabelRow> = sql("SELECT id, name, color, retired FROM labels ORDER BY id")
            .fetch_all(self)
            .await?;
        Ok(LabelSet::new(rows.into_iter().map(Into::into).collect()))
    }

    pub async fn create_label(&self, name: &str, color: &str) -> Result<Label> {
        // The new id is max+1 (ids are never reused); two concurrent creations
        // collide on the primary key and the loser retries.
        for _ in 0..5 {
            let r: std::result::Result<LabelRow, sqlx::Error> = sql(
                "INSERT INTO labels (id, name, color, retired) \
                 SELECT COALESCE(MAX(id), -1) + 1, $1, $2, $3 FROM labels RETURNING id, name, color, retired",
            )
            .bind(name)
            .bind(color)
            .bind(false)
            .fetch_one(self)
            .await;
            match r {
                Ok(row) => return Ok(row.into()),
                Err(e) if is_unique_violation(&e) => {
                    let taken: Option<i64> =
                        sql("SELECT id FROM labels WHERE LOWER(name) = LOWER($1)")
                            .bind(name)
                            .scalar_optional(self)
                            .await?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict(format!(
                            "a label named {name:?} exists"
                        )));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(
            "could not allocate a label id, try again".into(),
        ))
    }

    pub async fn update_label(
        &self,
        id: u32,
        name: Option<&str>,
        color: Option<&str>,
        retired: Option<bool>,
    ) -> Result<Label> {
        let row: Option<LabelRow> = sql(
            "UPDATE labels SET name = COALESCE($1, name), color = COALESCE($2, color), \
             retired = COALESCE($3, retired) WHERE id = $4 RETURNING id, name, color, retired",
        )
        .bind(name)
        .bind(color)
        .bind(retired)
        .bind(i64::from(id))
        .fetch_optional(self)
        .await
        .map_err(|e| unique_as(e, "a label with this name exists"))?;
        Ok(row.ok_or(StoreError::NotFound)?.into())
    }
}
