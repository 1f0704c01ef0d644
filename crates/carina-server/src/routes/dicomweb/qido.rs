//! QIDO-RS: search for studies, series and instances (PS3.18 10.6). Query
//! keys by keyword or tag: `StudyInstanceUID`, `SeriesInstanceUID`,
//! `SOPInstanceUID` (lists of UIDs), `PatientID` (with `*` and `?`
//! wildcards), `StudyDate` (a date or a range `A-B`, `A-`, `-B`),
//! `ModalitiesInStudy`, `Modality`; `limit`, `offset`, `includefield` (the
//! attributes below are always sent) and `fuzzymatching` (ignored). Other
//! keys are a 400: a filter that is not applied would answer wrongly.

use super::json::{attr, text};
use super::{DICOM_JSON, check_uid, require_json};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use carina_store::DicomInstance;
use serde_json::{Map, Value};

/// Most results in one reply (a `limit` above is lowered to it).
const MAX_RESULTS: usize = 1000;

#[derive(Default)]
struct Search {
    study_uids: Vec<String>,
    series_uids: Vec<String>,
    sop_uids: Vec<String>,
    patient_id: Option<String>,
    study_date: Option<(String, String)>,
    modalities_in_study: Vec<String>,
    modality: Vec<String>,
    limit: usize,
    offset: usize,
}

fn list(v: &str) -> Vec<String> {
    v.split([',', '\\'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse(pairs: Vec<(String, String)>) -> AppResult<Search> {
    let mut s = Search {
        limit: MAX_RESULTS,
        ..Search::default()
    };
    for (key, value) in pairs {
        match key.as_str() {
            "StudyInstanceUID" | "0020000D" => s.study_uids.extend(list(&value)),
            "SeriesInstanceUID" | "0020000E" => s.series_uids.extend(list(&value)),
            "SOPInstanceUID" | "00080018" => s.sop_uids.extend(list(&value)),
            "PatientID" | "00100020" => s.patient_id = Some(value),
            "StudyDate" | "00080020" => s.study_date = Some(date_range(&value)?),
            "ModalitiesInStudy" | "00080061" => s.modalities_in_study.extend(list(&value)),
            "Modality" | "00080060" => s.modality.extend(list(&value)),
            "limit" => s.limit = number(&key, &value)?.min(MAX_RESULTS),
            "offset" => s.offset = number(&key, &value)?,
            "includefield" | "fuzzymatching" => {}
            other => {
                return Err(AppError::bad_request(format!(
                    "unsupported query key {other:.64?}: this server matches StudyInstanceUID, \
                     SeriesInstanceUID, SOPInstanceUID, PatientID, StudyDate, ModalitiesInStudy, \
                     Modality, and takes limit, offset, includefield"
                )));
            }
        }
    }
    Ok(s)
}

fn number(key: &str, value: &str) -> AppResult<usize> {
    value
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request(format!("{key} must be a whole number ≥ 0")))
}

/// `YYYYMMDD`, `A-B`, `A-` or `-B` as an inclusive range (open ends empty).
fn date_range(v: &str) -> AppResult<(String, String)> {
    let is_date = |d: &str| d.is_empty() || (d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()));
    let (from, to) = match v.trim().split_once('-') {
        Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
        None => (v.trim().to_string(), v.trim().to_string()),
    };
    if !is_date(&from) || !is_date(&to) || (from.is_empty() && to.is_empty()) {
        return Err(AppError::bad_request(
            "StudyDate must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either end may be open)",
        ));
    }
    Ok((from, to))
}

/// PS3.4 C.2.2.2.4 wildcard matching: `*` any run, `?` one character.
fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Search {
    /// The instances that match, in upload order.
    fn filter(&self, all: Vec<DicomInstance>) -> Vec<DicomInstance> {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        let studies_with_modality: Vec<String> = all
            .iter()
            .filter(|i| {
                i.modality
                    .as_deref()
                    .is_some_and(|m| self.modalities_in_study.iter().any(|x| x == m))
            })
            .map(|i| i.study_instance_uid.clone())
            .collect();
        all.into_iter()
            .filter(|i| any(&self.study_uids, &i.study_instance_uid))
            .filter(|i| any(&self.series_uids, &i.series_instance_uid))
            .filter(|i| any(&self.sop_uids, &i.sop_instance_uid))
            .filter(|i| any(&self.modality, i.modality.as_deref().unwrap_or("")))
            .filter(|i| {
                self.modalities_in_study.is_empty()
                    || studies_with_modality.contains(&i.study_instance_uid)
            })
            .filter(|i| match &self.patient_id {
                None => true,
                Some(p) if p.is_empty() || p == "*" => true,
                Some(p) => wildcard(p, i.patient_pseudonym.as_deref().unwrap_or("")),
            })
            .filter(|i| match (&self.study_date, i.study_date.as_deref()) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some((from, to)), Some(d)) => {
                    (from.is_empty() || d >= from.as_str()) && (to.is_empty() || d <= to.as_str())
                }
            })
            .collect()
    }

    fn page(&self, results: Vec<Value>) -> Vec<Value> {
        results
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect()
    }
}

/// Groups of instances sharing `key`, in order of first appearance.
fn group_by(
    instances: &[DicomInstance],
    key: impl Fn(&DicomInstance) -> &str,
) -> Vec<Vec<&DicomInstance>> {
    let mut groups: Vec<Vec<&DicomInstance>> = Vec::new();
    for i in instances {
        match groups.iter_mut().find(|g| key(g[0]) == key(i)) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

fn int(vr: &str, v: Option<i64>) -> Value {
    attr(vr, v.map(|n| vec![Value::from(n)]).unwrap_or_default())
}

fn count(n: usize) -> Value {
    attr("IS", vec![Value::from(n as u64)])
}

/// The study-level attributes of a study's instances.
fn study_attributes(study: &[&DicomInstance]) -> Map<String, Value> {
    let first = study[0];
    let mut modalities: Vec<Value> = Vec::new();
    for m in study.iter().filter_map(|i| i.modality.as_deref()) {
        if !modalities.iter().any(|v| v == m) {
            modalities.push(Value::from(m));
        }
    }
    let mut series: Vec<&str> = study
        .iter()
        .map(|i| i.series_instance_uid.as_str())
        .collect();
    series.sort_unstable();
    series.dedup();
    let series = series.len();
    let name = first
        .patient_pseudonym
        .as_deref()
        .map(|p| serde_json::json!({"Alphabetic": p}));
    let mut m = Map::new();
    m.insert("00080005".into(), text("CS", Some("ISO_IR 192")));
    m.insert("00080020".into(), text("DA", first.study_date.as_deref()));
    m.insert("00080030".into(), text("TM", None));
    m.insert("00080050".into(), text("SH", None));
    m.insert("00080061".into(), attr("CS", modalities));
    m.insert("00080090".into(), attr("PN", Vec::new()));
    m.insert("00100010".into(), attr("PN", name.into_iter().collect()));
    m.insert(
        "00100020".into(),
        text("LO", first.patient_pseudonym.as_deref()),
    );
    m.insert("00100030".into(), text("DA", None));
    m.insert("00100040".into(), text("CS", None));
    m.insert(
        "0020000D".into(),
        text("UI", Some(&first.study_instance_uid)),
    );
    m.insert("00200010".into(), text("SH", None));
    m.insert("00201206".into(), count(series));
    m.insert("00201208".into(), count(study.len()));
    m
}

fn series_attributes(series: &[&DicomInstance]) -> Map<String, Value> {
    let first = series[0];
    let mut m = Map::new();
    m.insert("00080005".into(), text("CS", Some("ISO_IR 192")));
    m.insert("00080060".into(), text("CS", first.modality.as_deref()));
    m.insert(
        "0020000D".into(),
        text("UI", Some(&first.study_instance_uid)),
    );
    m.insert(
        "0020000E".into(),
        text("UI", Some(&first.series_instance_uid)),
    );
    m.insert("00200011".into(), int("IS", first.series_number));
    m.insert("00201209".into(), count(series.len()));
    m
}

fn instance_attributes(i: &DicomInstance) -> Map<String, Value> {
    let mut m = series_attributes(&[i]);
    m.remove("00201209");
    let bits = if i.bits_stored > 8 { 16 } else { 8 };
    m.insert("00080016".into(), text("UI", i.sop_class_uid.as_deref()));
    m.insert("00080018".into(), text("UI", Some(&i.sop_instance_uid)));
    m.insert("00200013".into(), int("IS", i.instance_number));
    m.insert("00280010".into(), int("US", Some(i.height)));
    m.insert("00280011".into(), int("US", Some(i.width)));
    m.insert("00280100".into(), int("US", Some(bits)));
    m
}

#[derive(Clone, Copy)]
enum Level {
    Study,
    Series,
    Instance,
}

async fn search(
    state: &AppState,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
    scope: (Option<&str>, Option<&str>),
    level: Level,
) -> AppResult<Response> {
    require_json(headers)?;
    for uid in [scope.0, scope.1].into_iter().flatten() {
        check_uid(uid)?;
    }
    let search = parse(pairs)?;
    let all = state
        .store
        .db
        .dicom_instances(scope.0, scope.1, None)
        .await?;
    let found = search.filter(all);
    let results: Vec<Value> = match level {
        Level::Study => group_by(&found, |i| &i.study_instance_uid)
            .iter()
            .map(|s| Value::Object(study_attributes(s)))
            .collect(),
        Level::Series => group_by(&found, |i| &i.series_instance_uid)
            .iter()
            .map(|s| Value::Object(series_attributes(s)))
            .collect(),
        Level::Instance => found
            .iter()
            .map(|i| Value::Object(instance_attributes(i)))
            .collect(),
    };
    let body = serde_json::to_vec(&search.page(results)).map_err(AppError::internal)?;
    Ok(([(header::CONTENT_TYPE, DICOM_JSON)], body).into_response())
}

type Pairs = Query<Vec<(String, String)>>;

#[utoipa::path(
    get,
    path = "/dicom-web/studies",
    operation_id = "dicomweb_search_studies",
    tag = "dicomweb",
    summary = "QIDO-RS: search for studies (DICOM JSON)",
    description = "Role: viewer. Query keys: StudyInstanceUID, PatientID (wildcards * ?), StudyDate (date or range), ModalitiesInStudy, limit, offset, includefield.",
    responses(
        (status = 200, description = "Matching studies", body = Vec<serde_json::Value>, content_type = "application/dicom+json"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 406, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn search_studies(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> AppResult<Response> {
    search(&state, &headers, pairs, (None, None), Level::Study).await
}

#[utoipa::path(
    get,
    path = "/dicom-web/studies/{study}/series",
    operation_id = "dicomweb_search_series",
    tag = "dicomweb",
    summary = "QIDO-RS: search for a study's series (DICOM JSON)",
    description = "Role: viewer.",
    params(("study" = String, Path, description = "Study Instance UID")),
    responses(
        (status = 200, description = "Matching series", body = Vec<serde_json::Value>, content_type = "application/dicom+json"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 406, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn search_series(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path(study): Path<String>,
    Query(pairs): Pairs,
) -> AppResult<Response> {
    search(&state, &headers, pairs, (Some(&study), None), Level::Series).await
}

#[utoipa::path(
    get,
    path = "/dicom-web/studies/{study}/instances",
    operation_id = "dicomweb_search_instances",
    tag = "dicomweb",
    summary = "QIDO-RS: search for a study's instances (DICOM JSON)",
    description = "Role: viewer.",
    params(("study" = String, Path, description = "Study Instance UID")),
    responses(
        (status = 200, description = "Matching instances", body = Vec<serde_json::Value>, content_type = "application/dicom+json"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 406, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn search_instances(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path(study): Path<String>,
    Query(pairs): Pairs,
) -> AppResult<Response> {
    search(
        &state,
        &headers,
        pairs,
        (Some(&study), None),
        Level::Instance,
    )
    .await
}

#[utoipa::path(
    get,
    path = "/dicom-web/studies/{study}/series/{series}/instances",
    operation_id = "dicomweb_search_series_instances",
    tag = "dicomweb",
    summary = "QIDO-RS: search for a series' instances (DICOM JSON)",
    description = "Role: viewer.",
    params(
        ("study" = String, Path, description = "Study Instance UID"),
        ("series" = String, Path, description = "Series Instance UID"),
    ),
    responses(
        (status = 200, description = "Matching instances", body = Vec<serde_json::Value>, content_type = "application/dicom+json"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 406, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn search_series_instances(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path((study, series)): Path<(String, String)>,
    Query(pairs): Pairs,
) -> AppResult<Response> {
    let scope = (Some(study.as_str()), Some(series.as_str()));
    search(&state, &headers, pairs, scope, Level::Instance).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match() {
        assert!(wildcard("P-12*", "P-1234"));
        assert!(wildcard("P-1?34", "P-1234"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("P-12", "P-1234"));
        assert!(!wildcard("?", ""));
    }

    #[test]
    fn dates_and_keys_parse() {
        assert_eq!(
            date_range("20200101-").unwrap(),
            ("20200101".into(), String::new())
        );
        assert!(date_range("2020-01-01").is_err());
        assert!(date_range("-").is_err());
        let bad = parse(vec![("PatientName".into(), "X".into())]);
        assert!(bad.is_err());
        let s = parse(vec![("limit".into(), "5000".into())]).unwrap();
        assert_eq!(s.limit, MAX_RESULTS);
        assert!(parse(vec![("offset".into(), "-1".into())]).is_err());
    }
}
