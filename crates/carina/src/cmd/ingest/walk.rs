//! Which files of a folder `carina ingest` sends: a recursive walk that
//! recognises DICOM (Part 10: preamble and `DICM`), PNG and JPEG by their
//! content, never their names, and follows DICOMDIRs. Where a folder holds
//! a DICOMDIR, the image files it lists are sent and the other files under
//! that folder are skipped; a DICOMDIR that cannot be used is reported as
//! refused and its folder is walked by content instead. Symbolic links are
//! not followed by the walk (a DICOMDIR's references may pass through them,
//! but must end inside the folder).

use super::dicomdir;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file to send.
#[derive(Debug, Clone)]
pub struct Item {
    pub path: PathBuf,
    /// The path relative to the ingested folder, for messages.
    pub rel: String,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Found {
    pub items: Vec<Item>,
    /// Files not sent, by reason.
    pub skipped: BTreeMap<String, usize>,
    /// Files refused before sending (unusable DICOMDIRs and their entries,
    /// unreadable files): relative path and why.
    pub refused: Vec<(String, String)>,
}

impl Found {
    fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_string()).or_default() += 1;
    }
}

pub const NOT_AN_IMAGE: &str = "not DICOM, PNG or JPEG";
const NOT_LISTED: &str = "not listed in the folder's DICOMDIR";
const LINK: &str = "symbolic link (not followed)";

/// Walks `root` (which must be a folder).
pub fn walk(root: &Path) -> anyhow::Result<Found> {
    use anyhow::Context;
    let root = root
        .canonicalize()
        .with_context(|| format!("cannot open {}", root.display()))?;
    let mut w = Walker {
        root: root.clone(),
        found: Found::default(),
        listed: HashSet::new(),
    };
    w.visit(&root, false)?;
    Ok(w.found)
}

struct Walker {
    root: PathBuf,
    found: Found,
    /// Canonical paths already queued from a DICOMDIR.
    listed: HashSet<PathBuf>,
}

impl Walker {
    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn visit(&mut self, dir: &Path, covered: bool) -> anyhow::Result<()> {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.flatten().collect(),
            Err(e) => {
                let rel = self.rel(dir);
                self.found
                    .refused
                    .push((rel, format!("cannot list the folder: {e}")));
                return Ok(());
            }
        };
        entries.sort_by_key(|e| e.file_name());
        let dicomdir = entries
            .iter()
            .find(|e| is_dicomdir(&e.file_name()) && e.path().is_file())
            .map(|e| e.path());
        let covered_here = match (&dicomdir, covered) {
            (Some(file), false) => self.read_dicomdir(file),
            _ => covered,
        };
        for e in entries {
            let path = e.path();
            let Ok(meta) = path.symlink_metadata() else {
                continue;
            };
            if meta.file_type().is_symlink() {
                self.found.skip(LINK);
            } else if meta.is_dir() {
                self.visit(&path, covered_here)?;
            } else if !meta.is_file() {
                self.found.skip("not a regular file");
            } else if is_dicomdir(&e.file_name()) {
                if covered {
                    self.found
                        .skip("DICOMDIR inside a folder another DICOMDIR lists");
                }
            } else if covered_here {
                let listed = path.canonicalize().is_ok_and(|p| self.listed.contains(&p));
                if !listed {
                    self.found.skip(NOT_LISTED);
                }
            } else {
                self.by_content(path);
            }
        }
        Ok(())
    }

    /// Queues what a DICOMDIR lists; false (walk by content) if it cannot be used.
    fn read_dicomdir(&mut self, file: &Path) -> bool {
        let rel = self.rel(file);
        match dicomdir::read(file, &self.root) {
            Ok(listing) => {
                for path in listing.files {
                    if self.listed.insert(path.clone()) {
                        let rel = self.rel(&path);
                        self.found.items.push(Item { path, rel });
                    }
                }
                for (id, why) in listing.problems {
                    self.found.refused.push((format!("{rel}: {id}"), why));
                }
                for (kind, n) in listing.other_records {
                    *self
                        .found
                        .skipped
                        .entry(format!("DICOMDIR record of type {kind} (not an image)"))
                        .or_default() += n;
                }
                true
            }
            Err(why) => {
                self.found.refused.push((
                    rel,
                    format!("{why}; its folder is walked by content instead"),
                ));
                false
            }
        }
    }

    fn by_content(&mut self, path: PathBuf) {
        let rel = self.rel(&path);
        let mut head = Vec::with_capacity(132);
        let read = std::fs::File::open(&path).and_then(|f| f.take(132).read_to_end(&mut head));
        match read {
            Err(e) => self
                .found
                .refused
                .push((rel, format!("cannot read it: {e}"))),
            Ok(_) if carina_imaging::sniff(&head).is_some() => {
                self.found.items.push(Item { path, rel });
            }
            Ok(_) => self.found.skip(NOT_AN_IMAGE),
        }
    }
}

fn is_dicomdir(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
}
