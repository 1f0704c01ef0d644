//! What an import read, kept and dropped, and every problem it met, with the
//! file and line, so nothing is dropped or kept silently.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The kinds of problem an import reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Wrong number of fields, a value that is not a number, bad UTF-8.
    MalformedRow,
    /// NaN, infinite, negative size, inverted or zero-area box.
    InvalidBox,
    /// A box that leaves the image.
    OutsideImage,
    /// A class name the format does not define.
    UnknownClass,
    /// The image file named by an id is not in the images folder.
    MissingImage,
    /// The image file exists but could not be read.
    UnreadableImage,
    /// A reference to an image id that the file does not define.
    UnknownImageId,
    /// The same id defined twice.
    DuplicateId,
    /// An image whose size is not what the format promises.
    SizeMismatch,
}

/// One problem, located in its file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub file: String,
    /// 1-based line in `file`, when the problem belongs to one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub kind: IssueKind,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {:?}: {}", self.file, l, self.kind, self.message),
            None => write!(f, "{}: {:?}: {}", self.file, self.kind, self.message),
        }
    }
}

/// Boxes of one source class: kept (mapped to a label) or dropped, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassCount {
    /// The label the class maps to; `None` when it is not in the label set.
    pub mapped_to: Option<String>,
    pub kept: usize,
    /// Not in the label set (e.g. NIH Pneumonia by default).
    pub dropped_not_in_label_set: usize,
    /// Dropped because of an issue on its line (bad box, missing image, ...).
    pub dropped_with_issue: usize,
}

/// The outcome of one import.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub format: String,
    /// Data rows (CSV) or annotations (COCO) read.
    pub rows: usize,
    /// Rows refused while parsing (malformed, invalid box); see `issues`.
    pub rows_rejected: usize,
    /// Distinct images named in the input.
    pub images_seen: usize,
    /// Images in the normalised dataset.
    pub images_kept: usize,
    /// Rows accepted by the parser that carried a box (not "No finding").
    pub boxes_read: usize,
    pub boxes_kept: usize,
    /// Rows that said "No finding" (no box, but a reader seen on the image).
    pub no_finding_rows: usize,
    /// Per source class name.
    pub per_class: BTreeMap<String, ClassCount>,
    pub issue_counts: BTreeMap<IssueKind, usize>,
    pub issues: Vec<Issue>,
    /// Remarks that are not problems of a line (e.g. sizes not checked).
    pub notes: Vec<String>,
}

impl ImportReport {
    pub fn new(file: &str, format: &str) -> Self {
        Self {
            file: file.to_string(),
            format: format.to_string(),
            ..Default::default()
        }
    }

    pub fn issue(&mut self, line: Option<u64>, kind: IssueKind, message: impl Into<String>) {
        *self.issue_counts.entry(kind).or_default() += 1;
        self.issues.push(Issue {
            file: self.file.clone(),
            line,
            kind,
            message: message.into(),
        });
    }

    pub fn class_mut(&mut self, source_class: &str, mapped_to: Option<&str>) -> &mut ClassCount {
        let c = self.per_class.entry(source_class.to_string()).or_default();
        if c.mapped_to.is_none() {
            c.mapped_to = mapped_to.map(str::to_string);
        }
        c
    }

    pub fn has_issues(&self) -> bool {
        !self.issues.is_empty()
    }

    pub fn boxes_dropped(&self) -> usize {
        self.boxes_read - self.boxes_kept
    }

    /// A human-readable summary: totals, one line per class, then the issues
    /// (the first `max_issues` of them).
    pub fn render(&self, max_issues: usize) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{} ({})", self.file, self.format);
        let _ = writeln!(
            s,
            "  rows {} ({} rejected), images {} seen / {} kept, boxes {} read / {} kept / {} dropped, no-finding rows {}",
            self.rows,
            self.rows_rejected,
            self.images_seen,
            self.images_kept,
            self.boxes_read,
            self.boxes_kept,
            self.boxes_dropped(),
            self.no_finding_rows
        );
        let _ = writeln!(
            s,
            "  {:<24} {:<20} {:>6} {:>14} {:>11}",
            "source class", "label", "kept", "not in labels", "with issue"
        );
        for (name, c) in &self.per_class {
            let _ = writeln!(
                s,
                "  {:<24} {:<20} {:>6} {:>14} {:>11}",
                name,
                c.mapped_to.as_deref().unwrap_or("(dropped)"),
                c.kept,
                c.dropped_not_in_label_set,
                c.dropped_with_issue
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        if self.issues.is_empty() {
            let _ = writeln!(s, "  no issues");
        } else {
            let counts: Vec<String> = self
                .issue_counts
                .iter()
                .map(|(k, n)| format!("{k:?} {n}"))
                .collect();
            let _ = writeln!(s, "  {} issues: {}", self.issues.len(), counts.join(", "));
            for i in self.issues.iter().take(max_issues) {
                let _ = writeln!(s, "  {i}");
            }
            if self.issues.len() > max_issues {
                let _ = writeln!(
                    s,
                    "  … {} more (see --report)",
                    self.issues.len() - max_issues
                );
            }
        }
        s
    }
}
