//! Adding, changing, replacing and deleting image rows.

use super::{Image, ImageStatus, NewImage, image_in};
use crate::annotations::{StoredBox, append_history, state_in};
use crate::db::sql::sql;
use crate::db::{Database, Tx};
use crate::error::{Result, StoreError, unique_as};
use crate::time::Timestamp;

impl Database {
    /// Inserts the row for objects already written (see [`Store::add_image`]).
    pub async fn insert_image(
        &self,
        new: &NewImage,
        object_key: &str,
        thumbnail_key: &str,
    ) -> Result<Image> {
        let now = Timestamp::now().millis();
        let m = &new.meta;
        let mut tx = self.begin_write().await?;
        let id: i64 = sql(
            "INSERT INTO images (sha256, object_key, thumbnail_key, format, width, height, bits_stored, \
             photometric, window_center, window_width, pixel_spacing_row, pixel_spacing_col, modality, \
             study_pseudonym, patient_pseudonym, original_filename, status, created_at, created_by, \
             updated_at, updated_by, burned_in_annotation, view_position, study_instance_uid, \
             series_instance_uid, sop_instance_uid, sop_class_uid, series_number, instance_number, \
             study_date) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, 'new', $17, $18, $17, $18, $19, $20, $21, $22, \
             $23, $24, $25, $26, $27) RETURNING id",
        )
        .bind(&new.sha256)
        .bind(object_key)
        .bind(thumbnail_key)
        .bind(&m.format)
        .bind(i64::from(m.width))
        .bind(i64::from(m.height))
        .bind(i64::from(m.bits_stored))
        .bind(&m.photometric)
        .bind(m.window_center)
        .bind(m.window_width)
        .bind(m.pixel_spacing.map(|p| p[0]))
        .bind(m.pixel_spacing.map(|p| p[1]))
        .bind(&m.modality)
        .bind(&m.study_pseudonym)
        .bind(&m.patient_pseudonym)
        .bind(&new.original_filename)
        .bind(now)
        .bind(&new.created_by)
        .bind(&m.burned_in_annotation)
        .bind(&m.view_position)
        .bind(&new.dicom.study_instance_uid)
        .bind(&new.dicom.series_instance_uid)
        .bind(&new.dicom.sop_instance_uid)
        .bind(&new.dicom.sop_class_uid)
        .bind(new.dicom.series_number)
        .bind(new.dicom.instance_number)
        .bind(&new.dicom.study_date)
        .scalar_one(&mut tx)
        .await
        .map_err(|e| unique_as(e, "an image with the same content exists"))?;
        sql("INSERT INTO annotation_states (image_id, version, no_finding) VALUES ($1, 0, $2)")
            .bind(id)
            .bind(false)
            .execute(&mut tx)
            .await?;
        let image = image_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(image)
    }

    /// Sets (or with `None` clears) the admin's display label of an image.
    pub async fn set_display_label(&self, id: i64, label: Option<&str>, by: &str) -> Result<Image> {
        let now = Timestamp::now().millis();
        let n = sql(
            "UPDATE images SET display_label = $1, updated_at = $2, updated_by = $3 WHERE id = $4",
        )
        .bind(label)
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(self)
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.image(id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn set_image_status(&self, id: i64, status: ImageStatus, by: &str) -> Result<Image> {
        let r =
            sql("UPDATE images SET status = $1, updated_at = $2, updated_by = $3 WHERE id = $4")
                .bind(status.as_str())
                .bind(Timestamp::now().millis())
                .bind(by)
                .bind(id)
                .execute(self)
                .await?;
        if r == 0 {
            return Err(StoreError::NotFound);
        }
        self.image(id).await?.ok_or(StoreError::NotFound)
    }

    /// An admin confirms a flagged image (burned-in text) for export.
    pub async fn confirm_burned_in(&self, id: i64, by: &str) -> Result<Image> {
        // Records that an admin looked at a flagged image (burned-in text) and
        // allows it in exports.
        let r = sql(
            "UPDATE images SET burned_in_confirmed_by = $1, burned_in_confirmed_at = $2 WHERE id = $3",
        )
        .bind(by)
        .bind(Timestamp::now().millis())
        .bind(id)
        .execute(self)
        .await?;
        if r == 0 {
            return Err(StoreError::NotFound);
        }
        self.image(id).await?.ok_or(StoreError::NotFound)
    }

    /// Points image `id` at new objects (the caller wrote them) and new pixel
    /// facts. Boxes that do not fit the new size are clipped when `force`, else
    /// the replacement is refused. The models' raw outputs and unreviewed
    /// proposals of the old file are dropped (reviewed model boxes stay). Returns the old image (whose objects the
    /// caller may now delete) and the new one.
    pub(crate) async fn replace_image(
        &self,
        id: i64,
        new: &NewImage,
        object_key: &str,
        thumbnail_key: &str,
        force: bool,
    ) -> Result<(Image, Image)> {
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        // Bump the annotation version first: it takes the row (and SQLite's write)
        // lock, so a concurrent save cannot slip in between the check and the clip.
        let bumped = sql("UPDATE annotation_states SET version = version + 1 WHERE image_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        if bumped == 0 {
            return Err(StoreError::NotFound);
        }
        let old = image_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let before = state_in(&mut tx, id).await?;
        let (w, h) = (new.meta.width, new.meta.height);
        let outside: Vec<&StoredBox> = before
            .boxes
            .iter()
            .filter(|b| b.bbox.check_within(w, h).is_err())
            .collect();
        if !outside.is_empty() && !force {
            return Err(StoreError::Conflict(format!(
                "{} box(es) lie outside the new {w}x{h} image; replace with force=true to clip them",
                outside.len()
            )));
        }
        for b in &outside {
            let c = b.bbox.clip(w, h);
            sql(
                "UPDATE boxes SET x_min = $1, y_min = $2, x_max = $3, y_max = $4, updated_at = $5, \
                 updated_by = $6 WHERE id = $7",
            )
            .bind(c.x_min())
            .bind(c.y_min())
            .bind(c.x_max())
            .bind(c.y_max())
            .bind(now.millis())
            .bind(&new.created_by)
            .bind(b.id)
            .execute(&mut tx)
            .await?;
        }
        drop_model_outputs(&mut tx, id).await?;
        set_file(&mut tx, id, new, (object_key, thumbnail_key), now).await?;
        let after = state_in(&mut tx, id).await?;
        append_history(
            &mut tx,
            id,
            now,
            &new.created_by,
            "replace_file",
            &before,
            &after,
        )
        .await?;
        let updated = image_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((old, updated))
    }

    /// Deletes an image row with its boxes (the history stays); returns it so
    /// the caller can delete its objects.
    pub(crate) async fn delete_image(&self, id: i64) -> Result<Image> {
        let mut tx = self.begin_write().await?;
        let image = image_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        sql("DELETE FROM boxes WHERE image_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        sql("DELETE FROM annotation_states WHERE image_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        sql("DELETE FROM images WHERE id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(image)
    }
}

/// The models' outputs describe the old pixels: unreviewed proposals go,
/// decisions already made stay as boxes (still naming their model and
/// version) but no longer point at a raw output, and the raw outputs go, so
/// the deployed model can predict on the new file.
async fn drop_model_outputs(tx: &mut Tx, id: i64) -> Result<()> {
    sql("DELETE FROM boxes WHERE image_id = $1 AND source_kind = 'model' AND status = 'proposed'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sql("UPDATE boxes SET prediction_id = NULL WHERE image_id = $1 AND prediction_id IS NOT NULL")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sql("DELETE FROM predictions WHERE image_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The image row points at the new file (`keys`: object and thumbnail) and
/// takes its metadata.
async fn set_file(
    tx: &mut Tx,
    id: i64,
    new: &NewImage,
    (object_key, thumbnail_key): (&str, &str),
    now: Timestamp,
) -> Result<()> {
    let m = &new.meta;
    sql(
        "UPDATE images SET sha256 = $1, object_key = $2, thumbnail_key = $3, format = $4, width = $5, \
         height = $6, bits_stored = $7, photometric = $8, window_center = $9, window_width = $10, \
         pixel_spacing_row = $11, pixel_spacing_col = $12, modality = $13, study_pseudonym = $14, \
         patient_pseudonym = $15, original_filename = $16, updated_at = $17, updated_by = $18, \
         burned_in_annotation = $20, burned_in_confirmed_by = NULL, burned_in_confirmed_at = NULL, \
         view_position = $21, study_instance_uid = $22, series_instance_uid = $23, \
         sop_instance_uid = $24, sop_class_uid = $25, series_number = $26, instance_number = $27, \
         study_date = $28 WHERE id = $19",
    )
    .bind(&new.sha256)
    .bind(object_key)
    .bind(thumbnail_key)
    .bind(&m.format)
    .bind(i64::from(m.width))
    .bind(i64::from(m.height))
    .bind(i64::from(m.bits_stored))
    .bind(&m.photometric)
    .bind(m.window_center)
    .bind(m.window_width)
    .bind(m.pixel_spacing.map(|p| p[0]))
    .bind(m.pixel_spacing.map(|p| p[1]))
    .bind(&m.modality)
    .bind(&m.study_pseudonym)
    .bind(&m.patient_pseudonym)
    .bind(&new.original_filename)
    .bind(now.millis())
    .bind(&new.created_by)
    .bind(id)
    .bind(&m.burned_in_annotation)
    .bind(&m.view_position)
    .bind(&new.dicom.study_instance_uid)
    .bind(&new.dicom.series_instance_uid)
    .bind(&new.dicom.sop_instance_uid)
    .bind(&new.dicom.sop_class_uid)
    .bind(new.dicom.series_number)
    .bind(new.dicom.instance_number)
    .bind(&new.dicom.study_date)
    .execute(&mut *tx)
    .await
    .map_err(|e| unique_as(e, "another image has the same content"))?;
    Ok(())
}
