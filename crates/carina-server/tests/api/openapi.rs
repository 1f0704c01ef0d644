//! The generated OpenAPI document against the router and the web client:
//! every route is an operation with its method and the other way round,
//! every operation has response schemas (and a request body schema where
//! the handler reads a body), every `$ref` resolves, and every `/api/v1`
//! path that `web/src` requests is an operation of the document.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

pub fn doc() -> Value {
    serde_json::from_str(carina_server::openapi_json()).expect("the document is JSON")
}

/// `(method, path)` of every operation, methods lower case.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.clone(), path.clone(), op));
        }
    }
    out
}

/// `GET /reports/{id}` also answers `{id}.json`, `{id}.pdf` and
/// `{id}.fhir.json`, which the document lists as operations of their own.
fn route_of(path: &str) -> String {
    path.replace("{id}.fhir.json", "{id}")
        .replace("{id}.json", "{id}")
        .replace("{id}.pdf", "{id}")
}

#[test]
fn every_route_is_an_operation_and_every_operation_a_route() {
    let doc = doc();
    assert_eq!(doc["openapi"].as_str().unwrap().get(..2), Some("3."));
    let routes: BTreeSet<(String, String)> = carina_server::route_table()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_lowercase(), p))
        .collect();
    let ops: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, route_of(&p)))
        .collect();
    let missing: Vec<_> = routes.difference(&ops).collect();
    let extra: Vec<_> = ops.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without an operation: {missing:?}; operations without a route: {extra:?}"
    );
    assert!(ops.len() >= 58, "{} operations", ops.len());
}

/// POST/PUT/PATCH operations whose handler reads no body.
const NO_BODY: &[&str] = &[
    "post /api/v1/auth/logout",
    "post /api/v1/images/{id}/burned-in/confirm",
    "post /api/v1/images/{id}/predictions",
    "post /api/v1/images/{id}/readings/me/submit",
    "post /api/v1/models/{id}/deploy",
    "post /api/v1/reports/{id}/sign",
    "post /api/v1/reports/{id}/amend",
];

#[test]
fn every_operation_has_response_and_request_schemas() {
    let doc = doc();
    let mut problems = Vec::new();
    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        let responses = op["responses"].as_object().expect("responses");
        let success: Vec<_> = responses
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .collect();
        if success.is_empty() {
            problems.push(format!("{name}: no 2xx response"));
        }
        for (status, response) in success {
            if status == "204" {
                continue;
            }
            let content = response["content"].as_object();
            let schemas = content.map(|c| c.values().all(|m| m["schema"].is_object()));
            if schemas != Some(true) || content.is_some_and(|c| c.is_empty()) {
                problems.push(format!("{name}: {status} has no response schema"));
            }
        }
        for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
            // STOW-RS answers a refusal of every instance with the PS3.18
            // response data set (FailedSOPSequence), as DICOMweb clients expect.
            let stow_conflict = name == "post /dicom-web/studies"
                && status == "409"
                && response["content"]["application/dicom+json"]["schema"].is_object();
            if response["$ref"] != "#/components/responses/ApiError" && !stow_conflict {
                problems.push(format!("{name}: {status} is not the error response"));
            }
        }
        let writes = matches!(method.as_str(), "post" | "put" | "patch");
        let body = &op["requestBody"]["content"];
        if writes && !NO_BODY.contains(&name.as_str()) {
            let has_schema = body
                .as_object()
                .is_some_and(|c| !c.is_empty() && c.values().all(|m| m["schema"].is_object()));
            if !has_schema {
                problems.push(format!("{name}: no request body schema"));
            }
        }
        if NO_BODY.contains(&name.as_str()) && !body.is_null() {
            problems.push(format!(
                "{name}: documents a body its handler does not read"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = doc();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "{} references", all.len());
    let unresolved: BTreeSet<&str> = all
        .into_iter()
        .filter(|r| {
            let Some(pointer) = r.strip_prefix('#') else {
                return true;
            };
            doc.pointer(pointer).is_none()
        })
        .collect();
    assert!(unresolved.is_empty(), "unresolved: {unresolved:?}");
    // Every security requirement names a scheme.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for req in doc["security"].as_array().unwrap() {
        for name in req.as_object().unwrap().keys() {
            assert!(schemes.contains_key(name), "security scheme {name}");
        }
    }
}

/// The operation ids are unique (clients generated from the document name
/// their functions after them).
#[test]
fn operation_ids_are_unique() {
    let doc = doc();
    let mut seen = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_string();
        assert!(!id.is_empty(), "{method} {path} has no operationId");
        assert!(seen.insert(id.clone()), "operationId {id} twice");
    }
}

// ---- the web client ----

/// The JS files of the editor (`web/src`, without vendored code).
fn web_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "vendor") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "js") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/src");
    let mut out = Vec::new();
    walk(&root, &mut out);
    out
}

/// The string or template literal starting at `s` (its quote first), and
/// the rest after it.
fn literal(s: &str) -> Option<(&str, &str)> {
    let quote = s.chars().next().filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let end = s[1..].find(quote)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

/// The API calls of one file: `(method or None, path)`, the path with
/// every `${...}` as `{}` and without its query. Understood forms:
/// `get(LIT)`, `api('M', LIT)`, `path: LIT` (uploads), and any literal
/// starting with `/api/v1/`; `${NAME}` where the file says
/// ``const NAME = `...`;`` is replaced by that template first.
fn calls(text: &str) -> Vec<(Option<String>, String)> {
    // Comment lines (JSDoc examples) are not calls.
    let text: String = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("//") || t.starts_with('*') || t.starts_with("/*"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.as_str();
    let mut names = Vec::new();
    for part in text.split("const ").skip(1) {
        if let Some((name, rest)) = part.split_once(" = ")
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && let Some((lit, _)) = literal(rest)
            && lit.starts_with('/')
        {
            names.push((name.to_string(), lit.to_string()));
        }
    }
    let expand = |lit: &str| -> String {
        let mut s = lit.to_string();
        for (name, value) in &names {
            s = s
                .replace(&format!("${{opts.{name}}}"), value)
                .replace(&format!("${{{name}}}"), value);
        }
        s
    };
    let mut out = Vec::new();
    let mut push = |method: Option<String>, raw: &str| {
        let mut path = expand(raw);
        if let Some(rest) = path.strip_prefix("/api/v1") {
            path = rest.to_string();
        }
        let path = path.split('?').next().unwrap_or_default();
        let mut norm = String::new();
        let mut rest = path;
        while let Some(start) = rest.find("${") {
            norm.push_str(&rest[..start]);
            norm.push_str("{}");
            let close = rest[start..]
                .find('}')
                .map_or(rest.len(), |c| start + c + 1);
            rest = &rest[close..];
        }
        norm.push_str(rest);
        if norm.starts_with('/') {
            out.push((method, norm));
        }
    };
    for (i, _) in text.match_indices("get(") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
            continue;
        }
        if let Some((lit, _)) = literal(&text[i + 4..]) {
            push(Some("get".into()), lit);
        } else {
            let arg: String = text[i + 4..]
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            if let Some((_, value)) = names.iter().find(|(n, _)| *n == arg) {
                push(Some("get".into()), &value.clone());
            }
        }
    }
    for (i, _) in text.match_indices("api(") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
            continue;
        }
        let Some((method, rest)) = literal(&text[i + 4..]) else {
            continue;
        };
        let rest = rest.trim_start_matches([',', ' ']);
        let method = Some(method.to_lowercase());
        if let Some((lit, _)) = literal(rest) {
            push(method, lit);
        } else {
            let arg: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            if let Some((_, value)) = names.iter().find(|(n, _)| *n == arg) {
                push(method, &value.clone());
            }
        }
    }
    for (i, _) in text.match_indices("path: ") {
        if let Some((lit, _)) = literal(&text[i + 6..]) {
            push(None, lit);
        }
    }
    for quote in ['\'', '"', '`'] {
        for (i, _) in text.match_indices(&format!("{quote}/api/v1/")) {
            if let Some((lit, _)) = literal(&text[i..]) {
                push(None, lit);
            }
        }
    }
    out
}

/// `/images/{id}/file` matches `/images/{}/file`; `{}` and `{name}` are
/// both "one path segment (or part of one)".
fn same_path(doc_path: &str, js_path: &str) -> bool {
    let norm = |p: &str| {
        let mut out = String::new();
        let mut in_param = false;
        for c in p.chars() {
            match c {
                '{' => {
                    in_param = true;
                    out.push('{');
                }
                '}' => {
                    in_param = false;
                    out.push('}');
                }
                _ if in_param => {}
                _ => out.push(c),
            }
        }
        out
    };
    norm(doc_path) == norm(js_path)
}

#[test]
fn every_path_the_web_client_requests_is_in_the_document() {
    let doc = doc();
    let ops: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p.trim_start_matches("/api/v1").to_string()))
        .collect();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let sources = web_sources();
    // Paths kept on an object (`this.idPath = `/images/${id}``, the editor's
    // state) are used from other modules: they are known everywhere.
    let fields: String = sources
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter_map(|l| l.trim_start().strip_prefix("this."))
        .filter(|l| l.contains(" = `/") || l.contains(" = '/"))
        .map(|l| format!("const {l}\n"))
        .collect();
    for (file, text) in sources {
        for (method, path) in calls(&format!("{fields}{text}")) {
            let known = ops
                .iter()
                .any(|(m, p)| same_path(p, &path) && method.as_ref().is_none_or(|want| want == m));
            if !known {
                problems.push(format!("{file}: {method:?} {path}"));
            }
            found.push((method, path));
        }
    }
    assert!(problems.is_empty(), "not in the document: {problems:#?}");
    // The reader understood the forms the client uses.
    for (method, path) in [
        (Some("put"), "/images/{}/annotations"),
        (Some("get"), "/images/{}/annotations"),
        (Some("post"), "/images/{}/consensus"),
        (Some("patch"), "/images/{}"),
        (Some("get"), "/auth/session"),
        (None, "/images/{}/file"),
    ] {
        assert!(
            found
                .iter()
                .any(|(m, p)| m.as_deref() == method && p == path),
            "{method:?} {path} not found among {} calls",
            found.len()
        );
    }
    assert!(found.len() > 40, "{} calls", found.len());
}

#[test]
fn the_js_reader_reads_calls() {
    let text = "/** e.g. `{path: '/no/such/path'}` */\n\
        const idPath = `/images/${encodeURIComponent(id)}`;\n\
        get(idPath); api('PUT', `${idPath}/annotations`, {}); get('/images?' + p);\n\
        x.get('/not/a/call'); h('img', { src: `/api/v1/images/${img.id}/thumbnail` });";
    let got = calls(text);
    let want: Vec<(Option<String>, String)> = vec![
        (Some("get".into()), "/images/{}".into()),
        (Some("get".into()), "/images".into()),
        (Some("put".into()), "/images/{}/annotations".into()),
        (None, "/images/{}/thumbnail".into()),
    ];
    for w in &want {
        assert!(got.contains(w), "{w:?} not in {got:?}");
    }
    assert!(!got.iter().any(|(_, p)| p == "/not/a/call"), "{got:?}");
    assert!(!got.iter().any(|(_, p)| p == "/no/such/path"), "{got:?}");
    assert!(same_path("/images/{id}/file", "/images/{}/file"));
    assert!(!same_path("/images/{id}/file", "/images/{}/files"));
    assert!(same_path("/reports/{id}.pdf", "/reports/{}.pdf"));
}
