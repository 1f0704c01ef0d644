//! What DICOMweb and the study list read of the images: the served file's
//! UIDs and numbers (columns filled at ingest, or by the server's backfill
//! for rows stored before them), the instances of a study or series, and
//! the studies (images grouped by study pseudonym) with paging.

use super::ImageStatus;
use crate::db::Database;
use crate::db::sql::sql;
use crate::error::{Result, StoreError};
use serde::Serialize;

/// The identifying attributes of a stored (served, de-identified) DICOM
/// file, as DICOMweb serves them. `None` where the file says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DicomIds {
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub sop_class_uid: Option<String>,
    pub series_number: Option<i64>,
    pub instance_number: Option<i64>,
    /// Study Date (DA, `YYYYMMDD`) as stored: de-identification empties it,
    /// so it is `None` unless de-identification is off.
    pub study_date: Option<String>,
}

/// One image as a DICOM instance: the rows DICOMweb searches and serves.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DicomInstance {
    pub image_id: i64,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: Option<String>,
    pub series_number: Option<i64>,
    pub instance_number: Option<i64>,
    pub study_date: Option<String>,
    pub modality: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub width: i64,
    pub height: i64,
    pub bits_stored: i64,
    pub photometric: String,
    /// Where the stored file lives in the object store.
    pub object_key: String,
}

/// Search and paging of the study list.
#[derive(Debug, Clone, Default)]
pub struct StudyQuery {
    /// Case-insensitive substring of a pseudonym, a display label or a file
    /// name of any of the study's images.
    pub q: Option<String>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// A study: the images sharing a study pseudonym, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct StudySummary {
    pub study_pseudonym: String,
    pub patient_pseudonym: Option<String>,
    /// The study's date as stored (see [`DicomIds::study_date`]).
    pub study_date: Option<String>,
    /// The earliest stored study date of the same patient, if any.
    pub patient_first_study_date: Option<String>,
    /// Each image's id, modality and review status, in upload order.
    pub images: Vec<(i64, Option<String>, ImageStatus)>,
}

#[derive(sqlx::FromRow)]
struct DicomIdsRow {
    study_instance_uid: Option<String>,
    series_instance_uid: Option<String>,
    sop_instance_uid: Option<String>,
    sop_class_uid: Option<String>,
    series_number: Option<i64>,
    instance_number: Option<i64>,
    study_date: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StudyImageRow {
    id: i64,
    study_pseudonym: String,
    patient_pseudonym: Option<String>,
    modality: Option<String>,
    status: String,
    study_date: Option<String>,
    first_date: Option<String>,
}

const INSTANCE_COLUMNS: &str = "id AS image_id, study_instance_uid, series_instance_uid, \
    sop_instance_uid, sop_class_uid, series_number, instance_number, study_date, modality, \
    patient_pseudonym, width, height, bits_stored, photometric, object_key";

impl Database {
    /// The images that are DICOM instances (their UIDs are known), in upload
    /// order, narrowed to a study, a series and an instance where given.
    pub async fn dicom_instances(
        &self,
        study: Option<&str>,
        series: Option<&str>,
        sop: Option<&str>,
    ) -> Result<Vec<DicomInstance>> {
        Ok(sql(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM images WHERE study_instance_uid IS NOT NULL \
             AND series_instance_uid IS NOT NULL AND sop_instance_uid IS NOT NULL \
             AND ($1 = '' OR study_instance_uid = $1) AND ($2 = '' OR series_instance_uid = $2) \
             AND ($3 = '' OR sop_instance_uid = $3) ORDER BY id"
        ))
        .bind(study.unwrap_or(""))
        .bind(series.unwrap_or(""))
        .bind(sop.unwrap_or(""))
        .fetch_all(self)
        .await?)
    }

    /// Up to `limit` images after `after_id` (in id order) whose DICOM
    /// identifiers were never read: `(id, object_key)`, for the backfill.
    pub async fn images_without_dicom_ids(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        Ok(sql(
            "SELECT id, object_key FROM images WHERE sop_instance_uid IS NULL AND id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(self)
        .await?)
    }

    /// The identifiers recorded for image `id` (`None`: no such image).
    pub async fn image_dicom_ids(&self, id: i64) -> Result<Option<DicomIds>> {
        let row: Option<DicomIdsRow> = sql(
            "SELECT study_instance_uid, series_instance_uid, sop_instance_uid, sop_class_uid, \
             series_number, instance_number, study_date FROM images WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self)
        .await?;
        Ok(row.map(|r| DicomIds {
            study_instance_uid: r.study_instance_uid,
            series_instance_uid: r.series_instance_uid,
            sop_instance_uid: r.sop_instance_uid,
            sop_class_uid: r.sop_class_uid,
            series_number: r.series_number,
            instance_number: r.instance_number,
            study_date: r.study_date,
        }))
    }

    /// Records the identifiers read from image `id`'s stored file.
    pub async fn set_dicom_ids(&self, id: i64, ids: &DicomIds) -> Result<()> {
        let n = sql(
            "UPDATE images SET study_instance_uid = $1, series_instance_uid = $2, \
             sop_instance_uid = $3, sop_class_uid = $4, series_number = $5, instance_number = $6, \
             study_date = $7 WHERE id = $8",
        )
        .bind(&ids.study_instance_uid)
        .bind(&ids.series_instance_uid)
        .bind(&ids.sop_instance_uid)
        .bind(&ids.sop_class_uid)
        .bind(ids.series_number)
        .bind(ids.instance_number)
        .bind(&ids.study_date)
        .bind(id)
        .execute(self)
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A page of studies (the one with the newest image first) and how many
    /// match. Only DICOM uploads count: a PNG/JPEG is served as a Secondary
    /// Capture of a study of its own, which is not listed. A study matches when any of its images does; each study lists
    /// all of its images.
    pub async fn list_studies(&self, query: &StudyQuery) -> Result<(Vec<StudySummary>, i64)> {
        let q = query
            .q
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_lowercase();
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let filter = concat!(
            r"i.study_pseudonym IS NOT NULL AND i.format = 'dicom' AND ($1 = '' ",
            r"OR LOWER(i.original_filename) LIKE $2 ESCAPE '\' ",
            r"OR LOWER(COALESCE(i.patient_pseudonym, '')) LIKE $2 ESCAPE '\' ",
            r"OR LOWER(i.study_pseudonym) LIKE $2 ESCAPE '\' ",
            r"OR LOWER(COALESCE(i.display_label, '')) LIKE $2 ESCAPE '\')"
        );
        let total: i64 = sql(&format!(
            "SELECT COUNT(DISTINCT i.study_pseudonym) FROM images i WHERE {filter}"
        ))
        .bind(&q)
        .bind(&pattern)
        .scalar_one(self)
        .await?;
        let per_page = i64::from(query.per_page.max(1));
        let offset = i64::from(query.page.max(1) - 1) * per_page;
        let page: Vec<String> = sql(&format!(
            "SELECT i.study_pseudonym FROM images i WHERE {filter} GROUP BY i.study_pseudonym \
             ORDER BY MAX(i.id) DESC LIMIT $3 OFFSET $4"
        ))
        .bind(&q)
        .bind(&pattern)
        .bind(per_page)
        .bind(offset)
        .scalar_all(self)
        .await?;
        if page.is_empty() {
            return Ok((Vec::new(), total));
        }
        // One placeholder per study of the page (at most `per_page`).
        let marks: Vec<String> = (1..=page.len()).map(|n| format!("${n}")).collect();
        let text = format!(
            "SELECT i.id, i.study_pseudonym, i.patient_pseudonym, i.modality, i.status, i.study_date, \
             (SELECT MIN(p.study_date) FROM images p WHERE p.patient_pseudonym = i.patient_pseudonym \
               AND p.study_date IS NOT NULL AND p.study_date <> '') AS first_date \
             FROM images i WHERE i.format = 'dicom' AND i.study_pseudonym IN ({}) ORDER BY i.id",
            marks.join(", ")
        );
        let rows: Vec<StudyImageRow> = page
            .iter()
            .fold(sql(&text), |s, p| s.bind(p.as_str()))
            .fetch_all(self)
            .await?;
        let mut studies: Vec<StudySummary> = page
            .iter()
            .map(|p| StudySummary {
                study_pseudonym: p.clone(),
                patient_pseudonym: None,
                study_date: None,
                patient_first_study_date: None,
                images: Vec::new(),
            })
            .collect();
        for r in rows {
            let Some(s) = studies
                .iter_mut()
                .find(|s| s.study_pseudonym == r.study_pseudonym)
            else {
                continue;
            };
            let status = ImageStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Invalid(format!("unknown status {:?}", r.status)))?;
            s.patient_pseudonym = s.patient_pseudonym.take().or(r.patient_pseudonym);
            s.study_date = s
                .study_date
                .take()
                .or(r.study_date.filter(|d| !d.is_empty()));
            s.patient_first_study_date = s.patient_first_study_date.take().or(r.first_date);
            s.images.push((r.id, r.modality, status));
        }
        Ok((studies, total))
    }
}
