//! Live responses against the generated document: a walk through most of
//! the API (accounts, tokens, labels, images, annotations, preferences,
//! reports, blind reading, agreement, audit) in which every JSON answer is
//! validated against the schema the document gives for its operation and
//! status. An object may hold only the properties its schema describes and
//! must hold every required one, so a field the server sends but the
//! document does not know (or the other way round) fails here.

use crate::both_backends;
use crate::helpers::*;
use crate::openapi::doc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(responses_match_the_document);

/// Follows `$ref`s to the schema they name.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(doc, doc.pointer(&r[1..]).unwrap_or(&Value::Null)),
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// The problems of `v` against `schema` (empty: it conforms).
pub fn check(doc: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(one_of) = schema["oneOf"].as_array() {
        let fits = one_of.iter().any(|s| {
            let mut p = Vec::new();
            check(doc, s, v, at, &mut p);
            p.is_empty()
        });
        if !fits {
            out.push(format!("{at}: fits none of oneOf: {v}"));
        }
        return;
    }
    if let Some(all_of) = schema["allOf"].as_array() {
        for s in all_of {
            check(doc, s, v, at, out);
        }
        return;
    }
    match &schema["type"] {
        Value::String(t) if !type_ok(t, v) => {
            out.push(format!("{at}: not {t}: {v}"));
            return;
        }
        Value::Array(ts) if !ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)) => {
            out.push(format!("{at}: not any of {ts:?}: {v}"));
            return;
        }
        _ => {}
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(v)
    {
        out.push(format!("{at}: {v} is not one of {values:?}"));
    }
    if let (Some(items), Some(array)) = (schema.get("items"), v.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"), out);
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), v.as_object()) {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                out.push(format!("{at}: required {name} missing"));
            }
        }
        let open = schema
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false));
        for (name, value) in object {
            match props.get(name) {
                Some(s) => check(doc, s, value, &format!("{at}.{name}"), out),
                None if !open => out.push(format!("{at}: {name} is not in the schema")),
                None => {}
            }
        }
    }
}

/// The path item whose template matches `path` (`{x}` matches any one
/// segment, or the part before a suffix such as `.pdf`).
fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let path = path.split('?').next().unwrap_or_default();
    let fits = |t: &str| {
        let (ts, ps): (Vec<&str>, Vec<&str>) = (t.split('/').collect(), path.split('/').collect());
        ts.len() == ps.len()
            && ts.iter().zip(&ps).all(|(t, p)| match t.find('{') {
                None => t == p,
                Some(open) => {
                    let suffix = &t[t.find('}').map_or(t.len(), |c| c + 1)..];
                    p.starts_with(&t[..open])
                        && p.ends_with(suffix)
                        && p.len() > open + suffix.len()
                        && !p[open..p.len() - suffix.len()].contains('.')
                }
            })
    };
    let paths = doc["paths"].as_object()?;
    // A literal path (`/images/{id}/readings/me`) before a template that
    // also fits it.
    paths
        .keys()
        .filter(|t| fits(t))
        .min_by_key(|t| t.matches('{').count())
        .map(String::as_str)
}

struct Walk<'a> {
    app: &'a TestApp,
    doc: Value,
    checked: Vec<String>,
}

impl Walk<'_> {
    /// Sends the request, expects `status`, and checks the JSON body
    /// against the document's schema for that operation and status.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        self.send_with(method, path, session, body, status, &[])
            .await
    }

    async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<Value>,
        status: StatusCode,
        headers: &[(&str, String)],
    ) -> Value {
        let mut req = self.app.req(method.clone(), path, session);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let got = r.status();
        let value: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{method} {path}: {value}");
        self.conforms(&method, path, got, &value);
        value
    }

    fn conforms(&mut self, method: &Method, path: &str, status: StatusCode, value: &Value) {
        let template = template(&self.doc, path)
            .unwrap_or_else(|| panic!("{path} is no path of the document"));
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in the document");
        let response = resolve(&self.doc, &op["responses"][status.as_str()]);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: no JSON schema for {status}"
        );
        let mut problems = Vec::new();
        check(&self.doc, schema, value, "$", &mut problems);
        assert!(
            problems.is_empty(),
            "{method} {template} {status}: {problems:#?}"
        );
        self.checked
            .push(format!("{method} {template} {}", status.as_u16()));
    }
}

async fn responses_match_the_document(app: TestApp) {
    use Method as M;
    use StatusCode as S;
    let mut w = Walk {
        app: &app,
        doc: doc(),
        checked: Vec::new(),
    };
    let anon = w
        .send(M::GET, "/api/v1/auth/session", None, None, S::OK)
        .await;
    assert_eq!(anon, json!({"user": null}));
    let (admin, rad, _viewer) = app.team().await;
    let rad2 = app.user("rad2", "radiologist", Some(&admin)).await;
    let me = w.send(M::GET, "/api/v1/me", Some(&rad), None, S::OK).await;
    assert!(me["csrf_token"].is_string() && me.get("token").is_none());
    w.send(M::GET, "/api/v1/auth/session", Some(&rad), None, S::OK)
        .await;
    let users = w
        .send(M::GET, "/api/v1/users", Some(&admin), None, S::OK)
        .await;
    let viewer_id = users["users"][2]["id"].as_i64().unwrap();
    let body = json!({"role": "viewer"});
    let path = format!("/api/v1/users/{viewer_id}");
    w.send(M::PATCH, &path, Some(&admin), Some(body), S::OK)
        .await;
    let body = json!({"username": "extra", "password": "password-extra", "role": "viewer"});
    w.send(
        M::POST,
        "/api/v1/users",
        Some(&admin),
        Some(body),
        S::CREATED,
    )
    .await;

    // Tokens, and /me and /auth/session through one.
    let body = json!({"name": "script", "scope": "read"});
    let token = w
        .send(
            M::POST,
            "/api/v1/tokens",
            Some(&rad),
            Some(body),
            S::CREATED,
        )
        .await;
    w.send(M::GET, "/api/v1/tokens", Some(&rad), None, S::OK)
        .await;
    let bearer = [(
        "Authorization",
        format!("Bearer {}", token["token"].as_str().unwrap()),
    )];
    let me = w
        .send_with(M::GET, "/api/v1/me", None, None, S::OK, &bearer)
        .await;
    assert_eq!(me["token"]["scope"], "read");
    assert!(me.get("csrf_token").is_none());
    w.send_with(M::GET, "/api/v1/auth/session", None, None, S::OK, &bearer)
        .await;

    // Labels.
    w.send(M::GET, "/api/v1/labels", Some(&rad), None, S::OK)
        .await;
    let body = json!({"name": "Extra", "color": "#123456"});
    let label = w
        .send(
            M::POST,
            "/api/v1/labels",
            Some(&admin),
            Some(body),
            S::CREATED,
        )
        .await;
    let path = format!("/api/v1/labels/{}", label["id"]);
    let body = json!({"retired": true});
    w.send(M::PATCH, &path, Some(&admin), Some(body), S::OK)
        .await;

    // Images: one file, then two; the library; a patch.
    let r = app.upload(&rad, &[("a.png", png(64, 48, 1))]).await;
    assert_eq!(r.status(), S::CREATED);
    let one: Value = r.json().await.unwrap();
    w.conforms(&M::POST, "/api/v1/images", S::CREATED, &one);
    let r = app
        .upload(
            &rad,
            &[("b.png", png(64, 48, 2)), ("c.png", png(64, 48, 3))],
        )
        .await;
    assert_eq!(r.status(), S::CREATED);
    let two: Value = r.json().await.unwrap();
    w.conforms(&M::POST, "/api/v1/images", S::CREATED, &two);
    let r = app.upload(&rad, &[("a.png", png(64, 48, 1))]).await;
    assert_eq!(r.status(), S::OK);
    let again: Value = r.json().await.unwrap();
    w.conforms(&M::POST, "/api/v1/images", S::OK, &again);
    let id = one["id"].as_i64().unwrap();
    let blind_id = two["images"][0]["id"].as_i64().unwrap();
    w.send(
        M::GET,
        "/api/v1/images?per_page=10",
        Some(&rad),
        None,
        S::OK,
    )
    .await;
    let img = format!("/api/v1/images/{id}");
    w.send(M::GET, &img, Some(&rad), None, S::OK).await;
    let body = json!({"display_label": "Case 1"});
    w.send(M::PATCH, &img, Some(&admin), Some(body), S::OK)
        .await;

    // Annotations, history, predictions, jobs, preferences, models.
    let ann = format!("{img}/annotations");
    let state = w.send(M::GET, &ann, Some(&rad), None, S::OK).await;
    let body = json!({"boxes": [{"class_id": 0, "bbox": [4.0, 4.0, 30.0, 30.0]}]});
    let etag = [("If-Match", format!("\"{}\"", state["version"]))];
    w.send_with(M::PUT, &ann, Some(&rad), Some(body), S::OK, &etag)
        .await;
    w.send(M::GET, &format!("{img}/history"), Some(&rad), None, S::OK)
        .await;
    let path = format!("{img}/predictions");
    w.send(M::GET, &path, Some(&rad), None, S::OK).await;
    w.send(M::GET, "/api/v1/jobs", Some(&rad), None, S::OK)
        .await;
    w.send(M::GET, "/api/v1/models", Some(&rad), None, S::OK)
        .await;
    w.send(M::GET, "/api/v1/me/preferences", Some(&rad), None, S::OK)
        .await;
    let body = json!({"proposal_threshold": 0.25});
    w.send(
        M::PUT,
        "/api/v1/me/preferences",
        Some(&rad),
        Some(body),
        S::OK,
    )
    .await;

    // Reports: draft, list, edit, sign, amend, the JSON form.
    let path = format!("{img}/reports");
    let body = json!({"impression": "No acute findings."});
    let report = w
        .send(M::POST, &path, Some(&rad), Some(body), S::CREATED)
        .await;
    let rep = format!("/api/v1/reports/{}", report["id"]);
    w.send(M::GET, "/api/v1/reports", Some(&rad), None, S::OK)
        .await;
    let body = json!({"impression": "Still nothing.", "refresh_findings": true});
    w.send(M::PATCH, &rep, Some(&rad), Some(body), S::OK).await;
    w.send(M::POST, &format!("{rep}/sign"), Some(&rad), None, S::OK)
        .await;
    w.send(M::GET, &format!("{rep}.json"), Some(&rad), None, S::OK)
        .await;
    let path = format!("{rep}/amend");
    w.send(M::POST, &path, Some(&rad), None, S::CREATED).await;
    let body = json!({"image_ids": [id]});
    w.send(
        M::POST,
        "/api/v1/reports",
        Some(&rad),
        Some(body),
        S::CREATED,
    )
    .await;

    // Blind reading: an image object as a blind reader sees it, readings,
    // consensus and agreement.
    let blind = format!("/api/v1/images/{blind_id}");
    let body = json!({"readers": ["rad", "rad2"], "reviewer": "admin"});
    let path = format!("{blind}/assignments");
    w.send(M::POST, &path, Some(&admin), Some(body), S::CREATED)
        .await;
    let seen = w.send(M::GET, &blind, Some(&rad), None, S::OK).await;
    assert_eq!(seen["blind"], true);
    assert!(seen["status"].is_null());
    w.send(M::GET, "/api/v1/me/assignments", Some(&rad), None, S::OK)
        .await;
    let mine = format!("{blind}/readings/me");
    for (i, reader) in [&rad, &rad2].into_iter().enumerate() {
        let reading = w.send(M::GET, &mine, Some(reader), None, S::OK).await;
        let x = 4.0 + i as f64;
        let body = json!({"boxes": [{"class_id": 0, "bbox": [x, 4.0, 30.0, 30.0]}]});
        let etag = [("If-Match", format!("\"{}\"", reading["version"]))];
        w.send_with(M::PUT, &mine, Some(reader), Some(body), S::OK, &etag)
            .await;
        let path = format!("{mine}/submit");
        w.send(M::POST, &path, Some(reader), None, S::OK).await;
    }
    w.send(M::GET, "/api/v1/me/assignments", Some(&admin), None, S::OK)
        .await;
    let path = format!("{blind}/consensus");
    let body = json!({"iou_thr": 0.5});
    w.send(M::POST, &path, Some(&admin), Some(body), S::OK)
        .await;
    let path = format!("{blind}/readings");
    let all = w.send(M::GET, &path, Some(&admin), None, S::OK).await;
    assert!(all["consensus"].is_object(), "{all}");
    let path = format!("{blind}/agreement");
    w.send(M::GET, &path, Some(&admin), None, S::OK).await;
    w.send(M::GET, "/api/v1/agreement", Some(&admin), None, S::OK)
        .await;

    // The audit log, and the error shape.
    w.send(
        M::GET,
        "/api/v1/audit?per_page=5",
        Some(&admin),
        None,
        S::OK,
    )
    .await;
    w.send(
        M::GET,
        "/api/v1/images/999999",
        Some(&rad),
        None,
        S::NOT_FOUND,
    )
    .await;
    w.send(M::DELETE, &blind, Some(&rad), None, S::FORBIDDEN)
        .await;
    assert!(w.checked.len() >= 45, "{:#?}", w.checked);
}

#[test]
fn the_checker_finds_what_does_not_fit() {
    let doc = json!({"components": {"schemas": {"P": {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]},
            "c": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Q"}]}},
    }, "Q": {"type": "string", "enum": ["x", "y"]}}}});
    let p = json!({"$ref": "#/components/schemas/P"});
    let problems = |v: Value| {
        let mut out = Vec::new();
        check(&doc, &p, &v, "$", &mut out);
        out
    };
    assert!(problems(json!({"a": 1, "b": null, "c": "x"})).is_empty());
    assert!(problems(json!({"a": 1, "b": "s", "c": null})).is_empty());
    assert_eq!(problems(json!({"b": "s"})).len(), 1, "a missing");
    assert_eq!(problems(json!({"a": 1.5})).len(), 1, "a not an integer");
    assert_eq!(problems(json!({"a": 1, "d": 0})).len(), 1, "d unknown");
    assert_eq!(
        problems(json!({"a": 1, "c": "z"})).len(),
        1,
        "c not x, y or null"
    );
    let doc = json!({"paths": {"/r/{id}": {}, "/r/{id}.pdf": {}, "/r/me": {}}});
    assert_eq!(template(&doc, "/r/12"), Some("/r/{id}"));
    assert_eq!(template(&doc, "/r/12.pdf"), Some("/r/{id}.pdf"));
    assert_eq!(template(&doc, "/r/me"), Some("/r/me"));
    assert_eq!(template(&doc, "/r/12/x"), None);
}
