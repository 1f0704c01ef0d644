//! The image list: search, filters, paging, counts by status.

use super::{IMAGE_COLUMNS, Image, ImageQuery, ImageRow};
use crate::db::Database;
use crate::db::sql::sql;
use crate::error::Result;

impl Database {
    /// A page of images (newest first) and the number matching the filter.
    pub async fn list_images(&self, query: &ImageQuery) -> Result<(Vec<Image>, i64)> {
        let (images, total, _) = self.list_images_counted(query, false).await?;
        Ok((images, total))
    }

    /// [`Database::list_images`] and, with `counts`, how many images of each
    /// status match the filter without its status.
    pub async fn list_images_counted(
        &self,
        query: &ImageQuery,
        counts: bool,
    ) -> Result<(Vec<Image>, i64, Vec<(String, i64)>)> {
        // The image list's page, its total, and (with `counts`) how many images of
        // each status match the same filter without the status; the images the
        // query's `viewer` reads blind count as `blind`, whatever their status.
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
        let status = query.status.map(|s| s.as_str()).unwrap_or("");
        let study = query.study.as_deref().unwrap_or("");
        let reader = query.assigned_reader.as_deref().unwrap_or("");
        let viewer = query.viewer.as_deref().unwrap_or("");
        // $1..$5 bind the same values in every statement below ($5: the caller,
        // whose blind images' status is others' work), $6 the status.
        let base = concat!(
            r"($1 = '' OR LOWER(i.original_filename) LIKE $2 ESCAPE '\' ",
            r"OR LOWER(COALESCE(i.patient_pseudonym, '')) LIKE $2 ESCAPE '\' ",
            r"OR LOWER(COALESCE(i.study_pseudonym, '')) LIKE $2 ESCAPE '\' ",
            r"OR LOWER(COALESCE(i.display_label, '')) LIKE $2 ESCAPE '\') ",
            "AND ($3 = '' OR i.study_pseudonym = $3) ",
            "AND ($4 = '' OR EXISTS (SELECT 1 FROM readings r WHERE r.image_id = i.id AND r.reader = $4))"
        );
        let blind = "EXISTS (SELECT 1 FROM readings rb WHERE rb.image_id = i.id \
                     AND rb.reader = $5 AND rb.status = 'assigned')";
        // A status filter never matches an image the caller reads blind: its
        // status would tell that someone has saved on it.
        let filter = format!("{base} AND ($6 = '' OR (i.status = $6 AND NOT {blind}))");
        let total: i64 = sql(&format!("SELECT COUNT(*) FROM images i WHERE {filter}"))
            .bind(&q)
            .bind(&pattern)
            .bind(study)
            .bind(reader)
            .bind(viewer)
            .bind(status)
            .scalar_one(self)
            .await?;
        let per_page = i64::from(query.per_page.max(1));
        let offset = i64::from(query.page.max(1) - 1) * per_page;
        let rows: Vec<ImageRow> = sql(&format!(
            "SELECT {IMAGE_COLUMNS} WHERE {filter} ORDER BY i.id DESC LIMIT $7 OFFSET $8"
        ))
        .bind(&q)
        .bind(&pattern)
        .bind(study)
        .bind(reader)
        .bind(viewer)
        .bind(status)
        .bind(per_page)
        .bind(offset)
        .fetch_all(self)
        .await?;
        let images = rows
            .into_iter()
            .map(Image::try_from)
            .collect::<Result<_>>()?;
        let by_status = if counts {
            sql(&format!(
                "SELECT CASE WHEN {blind} THEN 'blind' ELSE i.status END, COUNT(*) \
                 FROM images i WHERE {base} GROUP BY 1"
            ))
            .bind(&q)
            .bind(&pattern)
            .bind(study)
            .bind(reader)
            .bind(viewer)
            .fetch_all(self)
            .await?
        } else {
            Vec::new()
        };
        Ok((images, total, by_status))
    }

    /// How many proposals of each image (`(image_id, count)`, images with
    /// none left out) score at or above `threshold`.
    pub async fn proposals_at_or_above(
        &self,
        image_ids: &[i64],
        threshold: f64,
    ) -> Result<Vec<(i64, i64)>> {
        if image_ids.is_empty() {
            return Ok(Vec::new());
        }
        // The ids are integers from the database, not user text.
        let list = image_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Ok(sql(&format!(
            "SELECT image_id, COUNT(*) FROM boxes WHERE image_id IN ({list}) \
             AND status = 'proposed' AND score >= $1 GROUP BY image_id"
        ))
        .bind(threshold)
        .fetch_all(self)
        .await?)
    }
}
