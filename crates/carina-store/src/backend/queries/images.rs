// Labels and images (included by both backends).

// ---- labels ------------------------------------------------------------------------

pub async fn labels(pool: &Pool<Db>) -> Result<LabelSet> {
    let rows: Vec<LabelRow> =
        sqlx::query_as("SELECT id, name, color, retired FROM labels ORDER BY id")
            .fetch_all(pool)
            .await?;
    Ok(LabelSet::new(rows.into_iter().map(Into::into).collect()))
}

pub async fn create_label(pool: &Pool<Db>, name: &str, color: &str) -> Result<Label> {
    // The new id is max+1 (ids are never reused); two concurrent creations
    // collide on the primary key and the loser retries.
    for _ in 0..5 {
        let r: std::result::Result<LabelRow, sqlx::Error> = sqlx::query_as(
            "INSERT INTO labels (id, name, color, retired) \
             SELECT COALESCE(MAX(id), -1) + 1, $1, $2, $3 FROM labels RETURNING id, name, color, retired",
        )
        .bind(name)
        .bind(color)
        .bind(false)
        .fetch_one(pool)
        .await;
        match r {
            Ok(row) => return Ok(row.into()),
            Err(e) if is_unique_violation(&e) => {
                let taken: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM labels WHERE LOWER(name) = LOWER($1)")
                        .bind(name)
                        .fetch_optional(pool)
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
    pool: &Pool<Db>,
    id: u32,
    name: Option<&str>,
    color: Option<&str>,
    retired: Option<bool>,
) -> Result<Label> {
    let row: Option<LabelRow> = sqlx::query_as(
        "UPDATE labels SET name = COALESCE($1, name), color = COALESCE($2, color), \
         retired = COALESCE($3, retired) WHERE id = $4 RETURNING id, name, color, retired",
    )
    .bind(name)
    .bind(color)
    .bind(retired)
    .bind(i64::from(id))
    .fetch_optional(pool)
    .await
    .map_err(|e| unique_as(e, "a label with this name exists"))?;
    Ok(row.ok_or(StoreError::NotFound)?.into())
}

// ---- images ------------------------------------------------------------------------

pub async fn insert_image(
    pool: &Pool<Db>,
    new: &NewImage,
    object_key: &str,
    thumbnail_key: &str,
) -> Result<Image> {
    let now = Timestamp::now().millis();
    let m = &new.meta;
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO images (sha256, object_key, thumbnail_key, format, width, height, bits_stored, \
         photometric, window_center, window_width, pixel_spacing_row, pixel_spacing_col, modality, \
         study_pseudonym, patient_pseudonym, original_filename, status, created_at, created_by, \
         updated_at, updated_by, burned_in_annotation, view_position) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         $8, $9, $10, $11, $12, $13, $14, $15, $16, 'new', $17, $18, $17, $18, $19, $20) RETURNING id",
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
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| unique_as(e, "an image with the same content exists"))?;
    sqlx::query("INSERT INTO annotation_states (image_id, version, no_finding) VALUES ($1, 0, $2)")
        .bind(id)
        .bind(false)
        .execute(&mut *tx)
        .await?;
    let image = image_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(image)
}

async fn image_in(tx: &mut Tx<'_>, id: i64) -> Result<Option<Image>> {
    let row: Option<ImageRow> = sqlx::query_as(&format!("SELECT {IMAGE_COLUMNS} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(Image::try_from).transpose()
}

pub async fn image(pool: &Pool<Db>, id: i64) -> Result<Option<Image>> {
    let row: Option<ImageRow> = sqlx::query_as(&format!("SELECT {IMAGE_COLUMNS} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(Image::try_from).transpose()
}

pub async fn image_by_sha256(pool: &Pool<Db>, sha256: &str) -> Result<Option<Image>> {
    let row: Option<ImageRow> =
        sqlx::query_as(&format!("SELECT {IMAGE_COLUMNS} WHERE i.sha256 = $1"))
            .bind(sha256)
            .fetch_optional(pool)
            .await?;
    row.map(Image::try_from).transpose()
}

pub async fn object_key_in_use(pool: &Pool<Db>, key: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM images WHERE object_key = $1 OR thumbnail_key = $1",
    )
    .bind(key)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub async fn list_images(pool: &Pool<Db>, query: &ImageQuery) -> Result<(Vec<Image>, i64)> {
    let (images, total, _) = list_images_counted(pool, query, false).await?;
    Ok((images, total))
}

/// The image list's page, its total, and (with `counts`) how many images of
/// each status match the same filter without the status; the images the
/// query's `viewer` reads blind count as `blind`, whatever their status.
pub async fn list_images_counted(
    pool: &Pool<Db>,
    query: &ImageQuery,
    counts: bool,
) -> Result<(Vec<Image>, i64, Vec<(String, i64)>)> {
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
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM images i WHERE {filter}"))
        .bind(&q)
        .bind(&pattern)
        .bind(study)
        .bind(reader)
        .bind(viewer)
        .bind(status)
        .fetch_one(pool)
        .await?;
    let per_page = i64::from(query.per_page.max(1));
    let offset = i64::from(query.page.max(1) - 1) * per_page;
    let rows: Vec<ImageRow> = sqlx::query_as(&format!(
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
    .fetch_all(pool)
    .await?;
    let images = rows
        .into_iter()
        .map(Image::try_from)
        .collect::<Result<_>>()?;
    let by_status = if counts {
        sqlx::query_as(&format!(
            "SELECT CASE WHEN {blind} THEN 'blind' ELSE i.status END, COUNT(*) \
             FROM images i WHERE {base} GROUP BY 1"
        ))
        .bind(&q)
        .bind(&pattern)
        .bind(study)
        .bind(reader)
        .bind(viewer)
        .fetch_all(pool)
        .await?
    } else {
        Vec::new()
    };
    Ok((images, total, by_status))
}

/// How many proposals of each image score at or above `threshold`.
pub async fn proposals_at_or_above(
    pool: &Pool<Db>,
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
    Ok(sqlx::query_as(&format!(
        "SELECT image_id, COUNT(*) FROM boxes WHERE image_id IN ({list}) \
         AND status = 'proposed' AND score >= $1 GROUP BY image_id"
    ))
    .bind(threshold)
    .fetch_all(pool)
    .await?)
}

pub async fn set_display_label(
    pool: &Pool<Db>,
    id: i64,
    label: Option<&str>,
    by: &str,
) -> Result<Image> {
    let now = Timestamp::now().millis();
    let n = sqlx::query(
        "UPDATE images SET display_label = $1, updated_at = $2, updated_by = $3 WHERE id = $4",
    )
    .bind(label)
    .bind(now)
    .bind(by)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    image(pool, id).await?.ok_or(StoreError::NotFound)
}

pub async fn set_image_status(
    pool: &Pool<Db>,
    id: i64,
    status: ImageStatus,
    by: &str,
) -> Result<Image> {
    let r = sqlx::query(
        "UPDATE images SET status = $1, updated_at = $2, updated_by = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(Timestamp::now().millis())
    .bind(by)
    .bind(id)
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    image(pool, id).await?.ok_or(StoreError::NotFound)
}

/// Records that an admin looked at a flagged image (burned-in text) and
/// allows it in exports.
pub async fn confirm_burned_in(pool: &Pool<Db>, id: i64, by: &str) -> Result<Image> {
    let r = sqlx::query(
        "UPDATE images SET burned_in_confirmed_by = $1, burned_in_confirmed_at = $2 WHERE id = $3",
    )
    .bind(by)
    .bind(Timestamp::now().millis())
    .bind(id)
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    image(pool, id).await?.ok_or(StoreError::NotFound)
}

/// Points image `id` at new objects (the caller wrote them) and new pixel
/// facts. Boxes that do not fit the new size are clipped when `force`, else
/// the replacement is refused. The models' raw outputs and unreviewed
/// proposals of the old file are dropped (reviewed model boxes stay). Returns the old image (whose objects the
/// caller may now delete) and the new one.
pub async fn replace_image(
    pool: &Pool<Db>,
    id: i64,
    new: &NewImage,
    object_key: &str,
    thumbnail_key: &str,
    force: bool,
) -> Result<(Image, Image)> {
    let now = Timestamp::now();
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    // Bump the annotation version first: it takes the row (and SQLite's write)
    // lock, so a concurrent save cannot slip in between the check and the clip.
    let bumped =
        sqlx::query("UPDATE annotation_states SET version = version + 1 WHERE image_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if bumped.rows_affected() == 0 {
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
        sqlx::query(
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
        .execute(&mut *tx)
        .await?;
    }
    // The models' outputs describe the old pixels: unreviewed proposals go,
    // decisions already made stay as boxes (still naming their model and
    // version) but no longer point at a raw output, and the raw outputs go,
    // so the deployed model can predict on the new file.
    sqlx::query("DELETE FROM boxes WHERE image_id = $1 AND source_kind = 'model' AND status = 'proposed'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE boxes SET prediction_id = NULL WHERE image_id = $1 AND prediction_id IS NOT NULL")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM predictions WHERE image_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let m = &new.meta;
    sqlx::query(
        "UPDATE images SET sha256 = $1, object_key = $2, thumbnail_key = $3, format = $4, width = $5, \
         height = $6, bits_stored = $7, photometric = $8, window_center = $9, window_width = $10, \
         pixel_spacing_row = $11, pixel_spacing_col = $12, modality = $13, study_pseudonym = $14, \
         patient_pseudonym = $15, original_filename = $16, updated_at = $17, updated_by = $18, \
         burned_in_annotation = $20, burned_in_confirmed_by = NULL, burned_in_confirmed_at = NULL, \
         view_position = $21 WHERE id = $19",
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
    .execute(&mut *tx)
    .await
    .map_err(|e| unique_as(e, "another image has the same content"))?;
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
pub async fn delete_image(pool: &Pool<Db>, id: i64) -> Result<Image> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let image = image_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    sqlx::query("DELETE FROM boxes WHERE image_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM annotation_states WHERE image_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM images WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(image)
}
