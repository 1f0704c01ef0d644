//! Checks for the FHIR date forms the reports use (no clock, no time zone
//! database: the server passes times in; these only check their shape).

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(u32::MAX)
}

/// FHIR `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with valid month/day.
pub fn is_fhir_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let ok_year = parts[0].len() == 4 && digits(parts[0]);
    match parts.as_slice() {
        [_] => ok_year,
        [_, m] => ok_year && m.len() == 2 && digits(m) && (1..=12).contains(&num(m)),
        [_, m, d] => {
            ok_year
                && m.len() == 2
                && d.len() == 2
                && digits(m)
                && digits(d)
                && (1..=12).contains(&num(m))
                && (1..=days_in_month(num(parts[0]), num(m))).contains(&num(d))
        }
        _ => false,
    }
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `hh:mm:ss(.fff)?(Z|±hh:mm)`: the time part of a FHIR `instant`.
fn is_time_with_zone(t: &str) -> bool {
    let (clock, zone) = if let Some(c) = t.strip_suffix('Z') {
        (c, "Z")
    } else if t.len() > 6 && matches!(t.as_bytes()[t.len() - 6], b'+' | b'-') {
        t.split_at(t.len() - 6)
    } else {
        return false;
    };
    let zone_ok = zone == "Z" || {
        let z = &zone[1..];
        z.len() == 5
            && z.as_bytes()[2] == b':'
            && digits(&z[..2])
            && digits(&z[3..])
            && num(&z[..2]) <= 14
            && num(&z[3..]) < 60
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let p: Vec<&str> = hms.split(':').collect();
    zone_ok
        && frac.is_none_or(digits)
        && p.len() == 3
        && p.iter().all(|x| x.len() == 2 && digits(x))
        && num(p[0]) < 24
        && num(p[1]) < 60
        && num(p[2]) < 60
}

/// FHIR `instant`: `YYYY-MM-DDThh:mm:ss(.fff)?(Z|±hh:mm)`.
pub fn is_fhir_instant(s: &str) -> bool {
    match s.split_once('T') {
        Some((d, t)) => d.len() == 10 && is_fhir_date(d) && is_time_with_zone(t),
        None => false,
    }
}

/// FHIR `dateTime`: a `date` or an `instant`-shaped full time.
pub fn is_fhir_datetime(s: &str) -> bool {
    if s.contains('T') {
        is_fhir_instant(s)
    } else {
        is_fhir_date(s)
    }
}

/// DICOM DA `YYYYMMDD` (or an already-FHIR date) as a FHIR date.
pub fn dicom_date_to_fhir(s: &str) -> Option<String> {
    let s = s.trim();
    if is_fhir_date(s) {
        return Some(s.to_string());
    }
    if s.len() == 8 && digits(s) {
        let d = format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]);
        return is_fhir_date(&d).then_some(d);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        for ok in ["2024", "2024-02", "2024-02-29", "2000-12-31"] {
            assert!(is_fhir_date(ok), "{ok}");
        }
        for bad in [
            "24",
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "20240101",
            "",
            "2024-02-30",
        ] {
            assert!(!is_fhir_date(bad), "{bad}");
        }
        for ok in [
            "2024-05-01T10:20:30Z",
            "2024-05-01T10:20:30.123+02:00",
            "2024-05-01T23:59:59-05:30",
        ] {
            assert!(is_fhir_instant(ok), "{ok}");
            assert!(is_fhir_datetime(ok), "{ok}");
        }
        for bad in [
            "2024-05-01T10:20Z",
            "2024-05-01T10:20:30",
            "2024-05-01 10:20:30Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:20:30+2:00",
        ] {
            assert!(!is_fhir_instant(bad), "{bad}");
        }
        assert!(is_fhir_datetime("2024-05-01"));
        assert_eq!(
            dicom_date_to_fhir("20240501").as_deref(),
            Some("2024-05-01")
        );
        assert_eq!(dicom_date_to_fhir("20241301"), None);
        assert_eq!(
            dicom_date_to_fhir("2024-05-01").as_deref(),
            Some("2024-05-01")
        );
    }
}
