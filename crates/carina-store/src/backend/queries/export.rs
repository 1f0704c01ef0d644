// Read-only export of images and boxes (included by both backends); see `crate::export`.

pub async fn export_annotations(
    pool: &Pool<Db>,
    filter: &crate::export::ExportFilter,
) -> Result<Vec<crate::export::ExportedImage>> {
    let sql = crate::export::export_sql(filter);
    let mut q = sqlx::query_as::<_, crate::export::ExportRow>(&sql);
    for v in filter
        .sources
        .iter()
        .chain(&filter.statuses)
        .chain(&filter.image_statuses)
    {
        q = q.bind(v);
    }
    crate::export::group(q.fetch_all(pool).await?)
}
