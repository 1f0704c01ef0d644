//! The list of every route the application serves, read from the router
//! itself, so that tests can hold a table (the authorisation matrix) against
//! it: a route added to any module without a row in the table fails them.

use axum::http::Method;

/// Every `(method, path)` of the router [`crate::build_router`] serves
/// (`/api/v1/...` and `/api/openapi.json`), sorted; HEAD, which axum
/// answers for every GET, is left out.
///
/// axum's `Router` has no public listing of its routes, so this reads the
/// router's `Debug` output: the path of each route id and the `Allow` header
/// its method router has built. A change of that format in a later axum
/// panics here (and fails the tests) instead of listing nothing.
pub fn route_table() -> Vec<(Method, String)> {
    let router = crate::app_routes(1);
    match parse(&format!("{router:?}")) {
        Ok(routes) if !routes.is_empty() => routes,
        Ok(_) => panic!("the router's Debug output lists no route; has axum's format changed?"),
        Err(e) => panic!("cannot read the routes from the router's Debug output: {e}"),
    }
}

/// The text between `start` (after it) and the first `end` after that.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Result<&'a str, String> {
    let from = text.find(start).ok_or_else(|| format!("no {start:?}"))? + start.len();
    let len = text[from..]
        .find(end)
        .ok_or_else(|| format!("no {end:?} after {start:?}"))?;
    Ok(&text[from..from + len])
}

/// `RouteId(12)` at the start of `s` → 12 and the rest.
fn route_id(s: &str) -> Result<(u32, &str), String> {
    let close = s.find(')').ok_or("unclosed RouteId(")?;
    let id = s[..close]
        .parse::<u32>()
        .map_err(|_| format!("bad route id {:?}", &s[..close]))?;
    Ok((id, &s[close + 1..]))
}

fn parse(debug: &str) -> Result<Vec<(Method, String)>, String> {
    // Only the main path router: the fallback router holds no API route.
    let main = between(debug, "path_router: PathRouter {", "fallback_router:")?;
    let routes = between(main, "routes: {", "node: Node {")?;
    // The node comes last in the path router; its paths may hold braces.
    let node = "node: Node { paths: {";
    let paths = &main[main.find(node).ok_or("no node paths")? + node.len()..];
    let mut path_of = std::collections::HashMap::new();
    for entry in paths.split("RouteId(").skip(1) {
        let (id, rest) = route_id(entry)?;
        let path = between(rest, "\"", "\"")?;
        path_of.insert(id, path.to_string());
    }
    let mut out = Vec::new();
    for entry in routes.split("RouteId(").skip(1) {
        let (id, rest) = route_id(entry)?;
        let path = path_of
            .get(&id)
            .ok_or_else(|| format!("route id {id} has no path"))?;
        if !rest
            .trim_start_matches([':', ' '])
            .starts_with("MethodRouter(")
        {
            return Err(format!("{path} is a service, not a method router"));
        }
        let allow = rest
            .split("allow_header: ")
            .nth(1)
            .ok_or_else(|| format!("{path}: no allow_header"))?;
        let methods = allow
            .strip_prefix("Bytes(b\"")
            .and_then(|a| a.split('"').next())
            .ok_or_else(|| format!("{path} answers every method (or none): {allow:.20}"))?;
        for m in methods.split(',').filter(|m| *m != "HEAD") {
            let method = Method::from_bytes(m.as_bytes())
                .map_err(|_| format!("{path}: bad method {m:?}"))?;
            out.push((method, path.clone()));
        }
    }
    if out.len() < path_of.len() {
        return Err(format!(
            "{} routes with a method for {} paths",
            out.len(),
            path_of.len()
        ));
    }
    out.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_routes_with_their_methods() {
        let table = route_table();
        let has = |m: Method, p: &str| table.iter().any(|(tm, tp)| *tm == m && tp == p);
        assert!(has(Method::GET, "/api/v1/images/{id}/annotations"));
        assert!(has(Method::PUT, "/api/v1/images/{id}/annotations"));
        assert!(has(Method::GET, "/api/openapi.json"));
        assert!(has(Method::DELETE, "/api/v1/images/{id}"));
        assert!(!has(Method::DELETE, "/api/v1/images/{id}/annotations"));
        assert!(table.iter().all(|(m, _)| *m != Method::HEAD));
        // Each (method, path) once.
        let mut dedup = table.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), table.len());
    }

    #[test]
    fn a_route_added_to_a_router_is_listed() {
        use axum::Router;
        use axum::routing::{get, post};
        let router: Router = Router::new()
            .route("/a", get(|| async {}).post(|| async {}))
            .nest("/n", Router::new().route("/b/{id}", post(|| async {})));
        let table = parse(&format!("{router:?}")).unwrap();
        assert_eq!(
            table,
            vec![
                (Method::GET, "/a".to_string()),
                (Method::POST, "/a".to_string()),
                (Method::POST, "/n/b/{id}".to_string()),
            ]
        );
    }
}
