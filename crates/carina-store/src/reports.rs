//! Reports: every version (draft → signed; an amendment is a new version
//! that supersedes the signed one). A signed version is never updated here
//! except to mark it superseded; the schema's triggers refuse anything else,
//! so the rule holds even for a query written wrongly later. The findings
//! are an opaque JSON snapshot: what a finding is (location, size, who found
//! it) is `carina-report`'s business.

use crate::db::sql::sql;
use crate::db::{Database, Tx};
use crate::error::{Result, StoreError, unique_as};
use crate::time::Timestamp;
use serde::Serialize;

pub use carina_core::report_status::ReportStatus;

/// One stored version of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReport {
    pub id: i64,
    pub version: i64,
    pub status: ReportStatus,
    pub image_ids: Vec<i64>,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub impression: String,
    pub no_finding: bool,
    /// The findings snapshot (a JSON list).
    pub findings: serde_json::Value,
    pub author: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<Timestamp>,
    /// The version this one amends.
    pub supersedes: Option<i64>,
    /// The signed amendment that replaced this version.
    pub superseded_by: Option<i64>,
    /// The admin who last edited or signed this draft in its author's place
    /// (a take-over), and when.
    pub taken_over_by: Option<String>,
    pub taken_over_at: Option<Timestamp>,
}

/// A new draft report.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub image_ids: Vec<i64>,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub impression: String,
    pub no_finding: bool,
    pub findings: serde_json::Value,
    pub author: String,
}

/// A change to a draft; `None` keeps the field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportEdit {
    pub impression: Option<String>,
    pub no_finding: Option<bool>,
    pub findings: Option<serde_json::Value>,
}

/// Filters of the report list (newest first).
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// Case-insensitive substring of the impression, the findings, the
    /// author, the signer or the study pseudonym.
    pub q: Option<String>,
    pub status: Option<ReportStatus>,
    pub image_id: Option<i64>,
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReportRow {
    pub id: i64,
    pub version: i64,
    pub status: String,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub impression: String,
    pub no_finding: bool,
    pub findings_json: String,
    pub author: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<i64>,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    pub taken_over_by: Option<String>,
    pub taken_over_at: Option<i64>,
}

impl ReportRow {
    pub fn into_report(self, image_ids: Vec<i64>) -> Result<StoredReport> {
        Ok(StoredReport {
            id: self.id,
            version: self.version,
            status: ReportStatus::parse(&self.status).ok_or_else(|| {
                StoreError::Invalid(format!("unknown report status {:?}", self.status))
            })?,
            image_ids,
            study_pseudonym: self.study_pseudonym,
            patient_pseudonym: self.patient_pseudonym,
            impression: self.impression,
            no_finding: self.no_finding,
            findings: serde_json::from_str(&self.findings_json)?,
            author: self.author,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            updated_by: self.updated_by,
            signed_by: self.signed_by,
            signed_at: self.signed_at.map(Timestamp),
            supersedes: self.supersedes,
            superseded_by: self.superseded_by,
            taken_over_by: self.taken_over_by,
            taken_over_at: self.taken_over_at.map(Timestamp),
        })
    }
}

impl Database {
    pub async fn report(&self, id: i64) -> Result<Option<StoredReport>> {
        let mut tx = self.begin_write().await?;
        let r = report_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// A new draft report (version 1).
    #[tracing::instrument(skip(self, new), fields(images = ?new.image_ids))]
    pub async fn create_report(&self, new: &NewReport) -> Result<StoredReport> {
        let mut tx = self.begin_write().await?;
        let id = insert_report(&mut tx, new, 1, None, Timestamp::now()).await?;
        let r = report_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(r)
    }

    /// Edits a draft; a signed report is a [`crate::StoreError::Conflict`].
    #[tracing::instrument(skip(self, edit))]
    pub async fn update_report_draft(
        &self,
        id: i64,
        edit: &ReportEdit,
        user: &str,
    ) -> Result<StoredReport> {
        let mut tx = self.begin_write().await?;
        let findings = edit
            .findings
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        // Guarded by status: a signed report matches no row.
        let r = sql("UPDATE reports SET impression = COALESCE($1, impression), \
             no_finding = COALESCE($2, no_finding), findings_json = COALESCE($3, findings_json), \
             updated_at = $4, updated_by = $5, \
             taken_over_by = CASE WHEN $5 <> author THEN $5 ELSE taken_over_by END, \
             taken_over_at = CASE WHEN $5 <> author THEN $4 ELSE taken_over_at END \
             WHERE id = $6 AND status = 'draft'")
        .bind(&edit.impression)
        .bind(edit.no_finding)
        .bind(findings)
        .bind(Timestamp::now().millis())
        .bind(user)
        .bind(id)
        .execute(&mut tx)
        .await?;
        if r != 1 {
            return Err(
                report_refusal(&mut tx, id, "a signed report cannot change; amend it").await,
            );
        }
        let out = report_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    /// Signs a draft (now, by `user`); signing the amendment of a report
    /// marks that report superseded. Already signed: `Conflict`.
    #[tracing::instrument(skip(self))]
    pub async fn sign_report(&self, id: i64, user: &str) -> Result<StoredReport> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        let r = sql(
            "UPDATE reports SET status = CASE WHEN supersedes IS NULL THEN 'signed' ELSE 'amended' END, \
             signed_by = $1, signed_at = $2, updated_at = $2, updated_by = $1, \
             taken_over_by = CASE WHEN $1 <> author THEN $1 ELSE taken_over_by END, \
             taken_over_at = CASE WHEN $1 <> author THEN $2 ELSE taken_over_at END \
             WHERE id = $3 AND status = 'draft'",
        )
        .bind(user)
        .bind(now.millis())
        .bind(id)
        .execute(&mut tx)
        .await?;
        if r != 1 {
            return Err(report_refusal(&mut tx, id, "it is signed already").await);
        }
        let signed = report_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        if let Some(old) = signed.supersedes {
            sql(
                "UPDATE reports SET status = 'superseded', superseded_by = $1 \
                 WHERE id = $2 AND superseded_by IS NULL",
            )
            .bind(id)
            .bind(old)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(signed)
    }

    /// A new draft amending signed report `id`; a draft, a superseded or an
    /// already amended report: `Conflict`.
    #[tracing::instrument(skip(self))]
    pub async fn amend_report(&self, id: i64, user: &str) -> Result<StoredReport> {
        let mut tx = self.begin_write().await?;
        let old = report_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        match old.status {
            ReportStatus::Draft => {
                return Err(StoreError::Conflict(format!(
                    "report {id} is a draft; edit it instead of amending it"
                )));
            }
            ReportStatus::Superseded => {
                return Err(StoreError::Conflict(format!(
                    "report {id} was superseded by report {}; amend that one",
                    old.superseded_by.unwrap_or_default()
                )));
            }
            ReportStatus::Signed | ReportStatus::Amended => {}
        }
        let new = NewReport {
            image_ids: old.image_ids.clone(),
            study_pseudonym: old.study_pseudonym.clone(),
            patient_pseudonym: old.patient_pseudonym.clone(),
            impression: old.impression.clone(),
            no_finding: old.no_finding,
            findings: old.findings.clone(),
            author: user.to_string(),
        };
        let new_id =
            insert_report(&mut tx, &new, old.version + 1, Some(id), Timestamp::now()).await?;
        let out = report_in(&mut tx, new_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    /// Newest first.
    pub async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<StoredReport>> {
        let q = query
            .q
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_lowercase();
        let pattern = format!("%{}%", like_escape(&q));
        let ids: Vec<i64> = sql(concat!(
            "SELECT r.id FROM reports r WHERE ($1 = '' OR r.status = $1) ",
            "AND ($2 = 0 OR EXISTS (SELECT 1 FROM report_images ri ",
            "WHERE ri.report_id = r.id AND ri.image_id = $2)) ",
            r"AND ($3 = '' OR LOWER(r.impression) LIKE $4 ESCAPE '\' ",
            r"OR LOWER(r.findings_json) LIKE $4 ESCAPE '\' OR LOWER(r.author) LIKE $4 ESCAPE '\' ",
            r"OR LOWER(COALESCE(r.signed_by, '')) LIKE $4 ESCAPE '\' ",
            r"OR LOWER(COALESCE(r.study_pseudonym, '')) LIKE $4 ESCAPE '\') ",
            "ORDER BY r.updated_at DESC, r.id DESC LIMIT $5"
        ))
        .bind(query.status.map(|s| s.as_str()).unwrap_or(""))
        .bind(query.image_id.unwrap_or(0))
        .bind(&q)
        .bind(&pattern)
        .bind(i64::from(query.limit.clamp(1, 500)))
        .scalar_all(self)
        .await?;
        let mut tx = self.begin_write().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = report_in(&mut tx, id).await? {
                out.push(r);
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}

const REPORT_COLUMNS: &str = "id, version, status, study_pseudonym, patient_pseudonym, impression, \
    no_finding, findings_json, author, created_at, updated_at, updated_by, signed_by, signed_at, \
    supersedes, superseded_by, taken_over_by, taken_over_at";

async fn report_in(tx: &mut Tx, id: i64) -> Result<Option<StoredReport>> {
    let row: Option<ReportRow> = sql(&format!(
        "SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let images: Vec<i64> =
        sql("SELECT image_id FROM report_images WHERE report_id = $1 ORDER BY position")
            .bind(id)
            .scalar_all(&mut *tx)
            .await?;
    row.into_report(images).map(Some)
}

async fn insert_report(
    tx: &mut Tx,
    new: &NewReport,
    version: i64,
    supersedes: Option<i64>,
    now: Timestamp,
) -> Result<i64> {
    let id: i64 = sql(
        "INSERT INTO reports (version, status, study_pseudonym, patient_pseudonym, impression, \
         no_finding, findings_json, author, created_at, updated_at, updated_by, supersedes) \
         VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $8, $7, $9) RETURNING id",
    )
    .bind(version)
    .bind(&new.study_pseudonym)
    .bind(&new.patient_pseudonym)
    .bind(&new.impression)
    .bind(new.no_finding)
    .bind(serde_json::to_string(&new.findings)?)
    .bind(&new.author)
    .bind(now.millis())
    .bind(supersedes)
    .scalar_one(&mut *tx)
    .await
    .map_err(|e| unique_as(e, "this report already has an amendment; amend that one"))?;
    for (pos, image_id) in new.image_ids.iter().enumerate() {
        sql("INSERT INTO report_images (report_id, image_id, position) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(image_id)
            .bind(pos as i64)
            .execute(&mut *tx)
            .await?;
    }
    Ok(id)
}

/// Why a guarded statement on a report matched no row.
async fn report_refusal(tx: &mut Tx, id: i64, what: &str) -> StoreError {
    match report_in(tx, id).await {
        Ok(None) => StoreError::NotFound,
        Ok(Some(r)) => {
            StoreError::Conflict(format!("report {id} is {}; {what}", r.status.as_str()))
        }
        Err(e) => e,
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
