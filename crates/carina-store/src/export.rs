//! A read-only view of the workbench for dataset export (`carina dataset
//! export --from-db`): every image with its current boxes, filtered by box
//! source, box status and image status. Source kinds and statuses are kept
//! as the strings the database stores, so kinds added later (a `consensus`
//! source, say) export without a change here. Images flagged for burned-in
//! text (`yes` / `unknown`) are left out until an admin confirms them.

use crate::db::Database;
use crate::db::sql::sql;
use crate::error::{Result, StoreError};
use carina_core::BBox;

/// Which rows an export reads; an empty list keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Box `source_kind`s, e.g. `radiologist`, `model`.
    pub sources: Vec<String>,
    /// Box statuses, e.g. `accepted`, `manual`.
    pub statuses: Vec<String>,
    /// Image statuses (`new`, `in_review`, `done`).
    pub image_statuses: Vec<String>,
}

/// One image and the boxes the filter kept (in id order).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedImage {
    pub id: i64,
    /// Key of the served (de-identified) file in the object store.
    pub object_key: String,
    pub width: u32,
    pub height: u32,
    pub bits_stored: u32,
    pub status: String,
    pub no_finding: bool,
    pub updated_by: String,
    pub boxes: Vec<ExportedBox>,
}

/// One stored box, in the image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedBox {
    pub id: i64,
    pub class_id: u32,
    pub bbox: BBox,
    pub source_kind: String,
    pub source_user: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub score: Option<f64>,
    pub status: String,
}

/// One row of the export join: an image, and one of its boxes or none.
#[derive(sqlx::FromRow)]
struct ExportRow {
    pub image_id: i64,
    pub object_key: String,
    pub width: i64,
    pub height: i64,
    pub bits_stored: i64,
    pub image_status: String,
    pub no_finding: bool,
    pub updated_by: String,
    pub box_id: Option<i64>,
    pub class_id: Option<i64>,
    pub x_min: Option<f64>,
    pub y_min: Option<f64>,
    pub x_max: Option<f64>,
    pub y_max: Option<f64>,
    pub source_kind: Option<String>,
    pub source_user: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub score: Option<f64>,
    pub box_status: Option<String>,
}

/// `$first, $first+1, ...` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A box's source as exported: fused boxes are stored as the reviewer's
/// human boxes with `consensus_readers` set, and export as `consensus`.
const SOURCE: &str =
    "(CASE WHEN b.consensus_readers IS NOT NULL THEN 'consensus' ELSE b.source_kind END)";

/// The one statement of an export: a single SELECT, so both databases read
/// one consistent snapshot.
fn export_sql(f: &ExportFilter) -> String {
    let mut sql = format!(
        "SELECT i.id AS image_id, i.object_key, i.width, i.height, i.bits_stored, \
         i.status AS image_status, a.no_finding, i.updated_by, b.id AS box_id, b.class_id, \
         b.x_min, b.y_min, b.x_max, b.y_max, {SOURCE} AS source_kind, b.source_user, b.model_name, \
         b.model_version, b.score, b.status AS box_status \
         FROM images i JOIN annotation_states a ON a.image_id = i.id \
         LEFT JOIN boxes b ON b.image_id = i.id",
    );
    let mut n = 1;
    if !f.sources.is_empty() {
        sql += &format!(" AND {SOURCE} IN ({})", placeholders(n, f.sources.len()));
        n += f.sources.len();
    }
    if !f.statuses.is_empty() {
        sql += &format!(" AND b.status IN ({})", placeholders(n, f.statuses.len()));
        n += f.statuses.len();
    }
    // Images that may show burned-in text leave only once an admin confirmed them.
    sql += " WHERE (i.burned_in_annotation IS NULL OR i.burned_in_annotation = 'no' \
            OR i.burned_in_confirmed_at IS NOT NULL)";
    if !f.image_statuses.is_empty() {
        sql += &format!(
            " AND i.status IN ({})",
            placeholders(n, f.image_statuses.len())
        );
    }
    sql += " ORDER BY i.id, b.id";
    sql
}

/// Groups the join's rows by image.
fn group(rows: Vec<ExportRow>) -> Result<Vec<ExportedImage>> {
    let mut out: Vec<ExportedImage> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|i| i.id != r.image_id) {
            out.push(ExportedImage {
                id: r.image_id,
                object_key: r.object_key.clone(),
                width: r.width as u32,
                height: r.height as u32,
                bits_stored: r.bits_stored as u32,
                status: r.image_status.clone(),
                no_finding: r.no_finding,
                updated_by: r.updated_by.clone(),
                boxes: Vec::new(),
            });
        }
        let Some(id) = r.box_id else { continue };
        let bad = || StoreError::Invalid(format!("stored box {id} has invalid coordinates"));
        let bbox = match (r.x_min, r.y_min, r.x_max, r.y_max) {
            (Some(a), Some(b), Some(c), Some(d)) => BBox::new(a, b, c, d).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        out.last_mut()
            .expect("pushed above")
            .boxes
            .push(ExportedBox {
                id,
                class_id: r.class_id.unwrap_or_default() as u32,
                bbox,
                source_kind: r.source_kind.unwrap_or_default(),
                source_user: r.source_user,
                model_name: r.model_name,
                model_version: r.model_version,
                score: r.score,
                status: r.box_status.unwrap_or_default(),
            });
    }
    Ok(out)
}

impl Database {
    /// Every image (filtered by status) with its boxes (filtered by source
    /// and status), in id order. Reads only.
    #[tracing::instrument(skip(self))]
    pub async fn export_annotations(&self, filter: &ExportFilter) -> Result<Vec<ExportedImage>> {
        let text = export_sql(filter);
        let mut q = sql(&text);
        for v in filter
            .sources
            .iter()
            .chain(&filter.statuses)
            .chain(&filter.image_statuses)
        {
            q = q.bind(v);
        }
        group(q.fetch_all(self).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_text_order() {
        let f = ExportFilter {
            sources: vec!["model".into()],
            statuses: vec!["accepted".into(), "edited".into()],
            image_statuses: vec!["done".into()],
        };
        let sql = export_sql(&f);
        assert!(sql.contains(&format!("{SOURCE} IN ($1) AND b.status IN ($2, $3) WHERE ")));
        assert!(sql.contains("OR i.burned_in_confirmed_at IS NOT NULL) AND i.status IN ($4)"));
        assert!(!export_sql(&ExportFilter::default()).contains('$'));
    }
}
