//! A DICOMDIR (PS3.10 media directory) read under limits: the image files
//! it lists, resolved inside the folder being ingested.
//!
//! A DICOMDIR comes from removable media or a PACS export, so it is treated
//! as hostile: its size is capped, carina-imaging's structural pre-scan
//! (nesting depth, every declared length) runs before dicom-rs parses it,
//! the number of records is capped, and every Referenced File ID must be a
//! list of plain names that resolves (through the real directory entries,
//! symbolic links included) to a regular file inside the ingested folder.

use carina_imaging::{Format, ImagingError, Limits};
use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest DICOMDIR read (parsing costs about 20 times its size in memory;
/// 16 MiB lists some 50,000 images).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Most directory records.
pub const MAX_RECORDS: usize = 500_000;
/// Most components of a Referenced File ID (PS3.10 allows 8).
const MAX_COMPONENTS: usize = 16;
/// Deepest sequence nesting (records are depth 1, an icon image sequence 2).
const MAX_DEPTH: u32 = 8;

/// What a DICOMDIR lists.
#[derive(Debug, Default)]
pub struct Listing {
    /// The image files, canonical paths inside the root, in record order.
    pub files: Vec<PathBuf>,
    /// References that cannot be used: the File ID as written, and why.
    pub problems: Vec<(String, String)>,
    /// Records of other types that name a file (SR, PRESENTATION, …), by type.
    pub other_records: BTreeMap<String, usize>,
}

/// Reads the DICOMDIR at `file`; references resolve against its folder and
/// must stay inside `root` (canonical). An `Err` says why the whole file
/// was refused.
pub fn read(file: &Path, root: &Path) -> Result<Listing, String> {
    let len = std::fs::metadata(file)
        .map_err(|e| format!("cannot read it: {e}"))?
        .len();
    if len > MAX_BYTES {
        return Err(format!(
            "{len} bytes, over the limit of {} MiB for a DICOMDIR",
            MAX_BYTES >> 20
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read it: {e}"))?;
    let records = parse(&bytes)?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut out = Listing::default();
    for record in &records {
        let Some(id) = string(record, tags::REFERENCED_FILE_ID) else {
            continue;
        };
        let kind = string(record, tags::DIRECTORY_RECORD_TYPE).unwrap_or_default();
        if kind != "IMAGE" {
            *out.other_records.entry(kind).or_default() += 1;
            continue;
        }
        match resolve(base, &id, root) {
            Ok(path) => out.files.push(path),
            Err(why) => out.problems.push((id, why)),
        }
    }
    Ok(out)
}

/// The directory records of a DICOMDIR's bytes, after the structural checks.
fn parse(bytes: &[u8]) -> Result<Vec<InMemDicomObject>, String> {
    if carina_imaging::sniff(bytes) != Some(Format::Dicom) {
        return Err("not a DICOM file (no DICM magic)".into());
    }
    let limits = Limits {
        max_bytes: MAX_BYTES,
        max_depth: MAX_DEPTH,
        max_inflated_bytes: MAX_BYTES,
        ..Limits::default()
    };
    // The pre-scan runs inside `decode_cost`, which then asks for pixel
    // data: a DICOMDIR has none, so `NoPixelData` means the structure passed.
    match carina_imaging::decode_cost(bytes, &limits) {
        Ok(_) | Err(ImagingError::NoPixelData) => {}
        Err(e) => return Err(format!("malformed: {e}")),
    }
    let off = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        128
    } else {
        0
    };
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(&bytes[off..])
        .map_err(|e| format!("malformed: {e}"))?;
    let sop_class = obj
        .meta()
        .media_storage_sop_class_uid
        .trim_end_matches(['\0', ' '])
        .to_string();
    if sop_class != uids::MEDIA_STORAGE_DIRECTORY_STORAGE {
        return Err(format!(
            "not a DICOMDIR (Media Storage SOP Class {sop_class})"
        ));
    }
    let records = obj
        .get(tags::DIRECTORY_RECORD_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or("no Directory Record Sequence (0004,1220)")?;
    if records.len() > MAX_RECORDS {
        return Err(format!(
            "{} directory records, over the limit of {MAX_RECORDS}",
            records.len()
        ));
    }
    Ok(records.to_vec())
}

fn string(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let v = obj.get(tag)?.to_str().ok()?;
    let v = v.trim_end_matches(['\0', ' ']).trim_start();
    (!v.is_empty()).then(|| v.to_string())
}

/// The file a Referenced File ID (`DIR\SUBDIR\FILE`) names under `base`,
/// canonical and inside `root`. Components are matched exactly or, as media
/// copied from a CD often have lower-case names, ignoring ASCII case.
pub fn resolve(base: &Path, id: &str, root: &Path) -> Result<PathBuf, String> {
    let parts: Vec<&str> = id.split('\\').map(|c| c.trim_end_matches(' ')).collect();
    if parts.len() > MAX_COMPONENTS {
        return Err(format!(
            "{} path components, over {MAX_COMPONENTS}",
            parts.len()
        ));
    }
    let mut path = base.to_path_buf();
    for part in &parts {
        if part.is_empty()
            || *part == "."
            || *part == ".."
            || part.contains(['/', '\0'])
            || part.chars().any(char::is_control)
        {
            return Err(format!("the component {part:?} is not a plain file name"));
        }
        path = entry(&path, part).ok_or("listed in the DICOMDIR but missing")?;
    }
    let real = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve it: {e}"))?;
    if !real.starts_with(root) {
        return Err("it leads outside the folder being ingested".into());
    }
    if !real.is_file() {
        return Err("not a regular file".into());
    }
    Ok(real)
}

/// `dir/name`, or the one entry of `dir` whose name equals `name` ignoring ASCII case.
fn entry(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.symlink_metadata().is_ok() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|e| e.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_inside_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("media/dicom/st1")).unwrap();
        std::fs::write(root.join("media/dicom/st1/im1"), b"x").unwrap();
        std::fs::write(root.join("outside"), b"x").unwrap();
        let media = root.join("media");
        // Case-insensitive match of CD-style names.
        assert_eq!(
            resolve(&media, "DICOM\\ST1\\IM1", &root).unwrap(),
            root.join("media/dicom/st1/im1")
        );
        // `..`, separators and missing files are refused with a reason.
        assert!(
            resolve(&media, "..\\OUTSIDE", &root)
                .unwrap_err()
                .contains("plain file name")
        );
        assert!(
            resolve(&media, "DICOM/ST1", &root)
                .unwrap_err()
                .contains("plain file name")
        );
        assert!(
            resolve(&media, "DICOM\\ST1\\IM2", &root)
                .unwrap_err()
                .contains("missing")
        );
        assert!(
            resolve(&media, "DICOM\\ST1", &root)
                .unwrap_err()
                .contains("regular file")
        );
        // A symbolic link inside the folder that points out of it.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("outside"), root.join("media/escape")).unwrap();
            let inner = root.join("media");
            assert!(
                resolve(&inner, "ESCAPE", &inner)
                    .unwrap_err()
                    .contains("outside")
            );
        }
    }

    #[test]
    fn a_file_that_is_not_a_dicomdir_is_refused() {
        assert!(parse(b"hello").unwrap_err().contains("not a DICOM"));
        let mut fake = vec![0u8; 128];
        fake.extend_from_slice(b"DICM");
        fake.extend_from_slice(&[
            0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0, 0xFF, 0xFF, 0xFF, 0x0F,
        ]);
        assert!(parse(&fake).unwrap_err().contains("malformed"));
    }
}
