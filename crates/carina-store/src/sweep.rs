//! The sweeper: removes what a crash (kill -9, power loss, OOM kill) can
//! leave behind — objects that no row references and half-written temporary
//! files — once they are older than a grace period.
//!
//! # Why it is safe with several processes
//!
//! Every writer of objects follows one order (see [`crate::store`] and the
//! model registry): **the object is written first, under a key nobody else
//! uses, then the row that references it is committed**; a writer whose
//! insert fails deletes its own object. Keys are never reused (images and
//! model weights carry a random part), so an object that is unreferenced
//! once a writer has given up stays unreferenced for ever.
//!
//! The sweep first notes the time `t0`, then reads every referenced key
//! (one snapshot, taken after `t0`), then lists the store and deletes an
//! object only if it is unreferenced **and** was last written before
//! `t0 - grace`. Such an object's writer began its put before
//! `t0 - grace`; if the grace exceeds the longest time from the start of a
//! put to the commit of its row (the longest upload transaction), that
//! commit happened before `t0`, so the snapshot would have shown it. An
//! object written by another process whose row is not committed yet is
//! therefore always younger than the grace, and kept.
//!
//! The grace also has to cover the clock difference between this host
//! and the object store (S3's `Last-Modified` is the server's clock), and,
//! for temporary files, the longest time one is in use.
//!
//! Only keys under the prefixes Carina writes ([`SWEPT_PREFIXES`]) are
//! considered; anything else in a bucket is left alone. A new kind of
//! object needs its prefix here and its column in [`REFERENCED_KEYS_SQL`].

use crate::db::Database;
use crate::db::sql::sql;
use crate::error::Result;
use crate::store::Store;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Key prefixes the sweeper looks under: every object Carina writes.
pub const SWEPT_PREFIXES: &[&str] = &["images", "models"];

/// Every column that holds an object key. A column missing here would make
/// the sweeper delete live objects: keep it in step with the schema.
pub const REFERENCED_KEYS_SQL: &str = "SELECT object_key FROM images \
     UNION ALL SELECT thumbnail_key FROM images \
     UNION ALL SELECT weights_key FROM models";

/// What one sweep removed (keys and sizes only: no names, no patient data).
#[derive(Debug, Default, Clone)]
pub struct SweepReport {
    /// Unreferenced objects deleted: `(key, bytes)`.
    pub objects: Vec<(String, u64)>,
    /// Staging (`key#N`) and temporary files or folders removed: `(path, bytes)`.
    pub temp_files: Vec<(PathBuf, u64)>,
    /// Objects looked at.
    pub scanned: u64,
    /// Unreferenced objects kept because they are younger than the grace.
    pub young_unreferenced: u64,
    /// Deletions that failed (logged; the next sweep tries again).
    pub errors: Vec<String>,
}

impl SweepReport {
    pub fn removed_bytes(&self) -> u64 {
        self.objects.iter().map(|(_, n)| n).sum::<u64>()
            + self.temp_files.iter().map(|(_, n)| n).sum::<u64>()
    }
}

/// A key as a 64-bit hash: the referenced set of a million images fits in
/// a few tens of MB. A collision can only make the sweeper keep an orphan,
/// never delete a referenced object.
fn key_hash(key: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl Database {
    /// Hashes of every object key a row references (one statement, one snapshot).
    pub async fn referenced_object_keys(&self) -> Result<HashSet<u64>> {
        let mut set = HashSet::new();
        sql(REFERENCED_KEYS_SQL)
            .for_each(self, |(key,): (String,)| {
                set.insert(key_hash(&key));
            })
            .await?;
        Ok(set)
    }
}

impl Store {
    /// One sweep: deletes unreferenced objects and the local store's staging
    /// files older than `grace`, and every entry of `temp_dirs` (folders
    /// whose whole content is temporary, e.g. `DATA_DIR/tmp`) whose newest
    /// file is older than `grace`. Each removal is logged with its key or
    /// path and size.
    #[tracing::instrument(skip_all, fields(grace_s = grace.as_secs()))]
    pub async fn sweep(&self, grace: Duration, temp_dirs: &[PathBuf]) -> Result<SweepReport> {
        let t0 = SystemTime::now();
        let cutoff = t0.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
        // After t0 (see the module's comment for why the order matters).
        let referenced = self.db.referenced_object_keys().await?;
        let mut report = SweepReport::default();
        for prefix in SWEPT_PREFIXES {
            let mut listing = self.objects.list_info(prefix)?;
            while let Some(info) = listing.next().await {
                let info = info?;
                report.scanned += 1;
                if referenced.contains(&key_hash(&info.key)) {
                    continue;
                }
                if info.last_modified >= cutoff {
                    report.young_unreferenced += 1;
                    continue;
                }
                match self.objects.delete(&info.key).await {
                    Ok(()) => {
                        tracing::info!(key = %info.key, bytes = info.size, "sweep: removed an unreferenced object");
                        report.objects.push((info.key, info.size));
                    }
                    Err(e) => {
                        tracing::warn!(key = %info.key, error = %e, "sweep: cannot delete an unreferenced object");
                        report.errors.push(format!("{}: {e}", info.key));
                    }
                }
            }
        }
        let staging_root = self.objects.local_root().map(Path::to_path_buf);
        let dirs = temp_dirs.to_vec();
        let files = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            if let Some(root) = staging_root {
                remove_staging_files(&root, cutoff, &mut out);
            }
            for dir in &dirs {
                remove_old_entries(dir, cutoff, &mut out);
            }
            out
        })
        .await
        .map_err(|e| crate::StoreError::Invalid(format!("sweep task: {e}")))?;
        for entry in files {
            match entry {
                Ok((path, bytes)) => {
                    tracing::info!(path = %path.display(), bytes, "sweep: removed a temporary file");
                    report.temp_files.push((path, bytes));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sweep: cannot remove a temporary file");
                    report.errors.push(e);
                }
            }
        }
        Ok(report)
    }
}

/// A removed path and its size, or why it could not be removed.
pub type Removal = std::result::Result<(PathBuf, u64), String>;

/// `object_store`'s local puts write `<key>#<n>` and rename it into place;
/// a crash mid-put leaves the `#<n>` file, which its listing never shows.
fn is_staging_name(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((base, n)) => {
            !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn remove_staging_files(dir: &Path, cutoff: SystemTime, out: &mut Vec<Removal>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            remove_staging_files(&path, cutoff, out);
        } else if meta.is_file()
            && is_staging_name(&entry.file_name().to_string_lossy())
            && meta.modified().is_ok_and(|m| m < cutoff)
        {
            out.push(
                std::fs::remove_file(&path)
                    .map(|()| (path.clone(), meta.len()))
                    .map_err(|e| format!("{}: {e}", path.display())),
            );
        }
    }
}

/// The newest modification time in a tree, and its size.
fn newest_and_size(path: &Path) -> (SystemTime, u64) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return (SystemTime::now(), 0);
    };
    let own = meta.modified().unwrap_or_else(|_| SystemTime::now());
    if !meta.is_dir() {
        return (own, meta.len());
    }
    // A folder counts by its files (an empty one by itself).
    let mut newest: Option<SystemTime> = None;
    let mut size = 0;
    for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let (n, s) = newest_and_size(&e.path());
        newest = Some(newest.map_or(n, |m| m.max(n)));
        size += s;
    }
    (newest.unwrap_or(own), size)
}

fn remove_old_entries(dir: &Path, cutoff: SystemTime, out: &mut Vec<Removal>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        out.extend(remove_if_stale(&entry.path(), cutoff));
    }
}

/// Removes the file or folder at `path` if its newest file was modified
/// before `cutoff`: `Some((path, bytes))` when removed, `None` when it is
/// missing or still recent (blocking; for the sweeper's callers).
pub fn remove_if_stale(path: &Path, cutoff: SystemTime) -> Option<Removal> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let (newest, size) = newest_and_size(path);
    if newest >= cutoff {
        return None;
    }
    let removed = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    Some(
        removed
            .map(|()| (path.to_path_buf(), size))
            .map_err(|e| format!("{}: {e}", path.display())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names() {
        assert!(is_staging_name("image.dcm#12"));
        assert!(is_staging_name("model.safetensors#0"));
        assert!(!is_staging_name("image.dcm"));
        assert!(!is_staging_name("image.dcm#"));
        assert!(!is_staging_name("#12"));
        assert!(!is_staging_name("image.dcm#1a"));
    }
}
