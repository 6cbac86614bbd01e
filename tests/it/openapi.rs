//! `openapi.yaml` is kept honest against the real handler: every file in
//! `events/` (as committed, and with live tokens for its placeholders) and
//! every failure case of every dialect is sent, and each answer must be one the
//! document lists for that operation, with a body its schema accepts and the
//! headers it requires. Every documented (operation, status) must be seen at
//! least once, every documented route must answer, and paths the document does
//! not have must answer 404.

use crate::common::*;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Response headers the API gives a meaning: present only where documented.
const CONTRACT_HEADERS: &[&str] = &["cache-control", "pragma", "retry-after", "allow"];

const NOT_FOUND: &str = "/components/responses/NotFound";
const METHOD_NOT_ALLOWED: &str = "/components/responses/MethodNotAllowed";

fn load() -> Value {
    let path = format!("{}/openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One JSON Pointer token (RFC 6901).
fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The document, the validators built from it, and what the test has seen.
struct Doc {
    root: Value,
    validators: HashMap<String, jsonschema::Validator>,
    /// (operation, status) pairs answered so far; 404 and 405 count for the
    /// shared responses.
    seen: BTreeSet<(String, String)>,
}

impl Doc {
    fn new() -> Self {
        let root = load();
        assert_eq!(
            root["openapi"].as_str().map(|v| v.starts_with("3.1.")),
            Some(true),
            "openapi.yaml is an OpenAPI 3.1 document"
        );
        Self {
            root,
            validators: HashMap::new(),
            seen: BTreeSet::new(),
        }
    }

    fn at(&self, ptr: &str) -> &Value {
        self.root
            .pointer(ptr)
            .unwrap_or_else(|| panic!("openapi.yaml has nothing at #{ptr}"))
    }

    /// Follows OpenAPI `$ref`s (responses, headers, request bodies) to the object.
    fn resolve(&self, mut ptr: String) -> String {
        for _ in 0..8 {
            match self.at(&ptr).get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    ptr = r
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("#{ptr}: only local $refs, not {r}"))
                        .to_string()
                }
                None => return ptr,
            }
        }
        panic!("#{ptr}: $ref chain too long")
    }

    /// The first reason `instance` does not match the schema at `ptr`, if any.
    /// The schema is compiled with the whole document as its root, so its
    /// `$ref`s to `#/components/schemas/...` resolve.
    fn schema_error(&mut self, ptr: &str, instance: &Value) -> Option<String> {
        if !self.validators.contains_key(ptr) {
            let mut root = self.root.clone();
            root["$ref"] = Value::String(format!("#{ptr}"));
            let v = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&root)
                .unwrap_or_else(|e| panic!("the schema at #{ptr} does not compile: {e}"));
            self.validators.insert(ptr.to_string(), v);
        }
        self.validators[ptr]
            .iter_errors(instance)
            .next()
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
    }

    /// Every (method, path) the document has, methods in upper case.
    fn operations(&self) -> Vec<(String, String)> {
        let mut ops = vec![];
        for (path, item) in self.root["paths"].as_object().expect("paths") {
            for m in METHODS {
                if item.get(*m).is_some() {
                    ops.push((m.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    /// Sends `ev` through the handler and checks the answer against the document.
    async fn send(&mut self, env: &TestEnv, what: &str, ev: &Value) -> Reply {
        let r = env.call(ev).await;
        self.check(what, ev, &r);
        r
    }

    fn check(&mut self, what: &str, ev: &Value, r: &Reply) {
        let (method, path) = route_of(ev);
        let status = r.status.to_string();
        let op_ptr = format!("/paths/{}/{}", esc(&path), method.to_lowercase());
        let (op, resp_ptr) = if self.root.pointer(&op_ptr).is_some() {
            let op = format!("{method} {path}");
            let ptr = format!("{op_ptr}/responses/{status}");
            assert!(
                self.root.pointer(&ptr).is_some(),
                "{what}: {op} answered {status}, which openapi.yaml does not list for it: {}",
                r.text()
            );
            (op, ptr)
        } else if let Some(item) = self.root.pointer(&format!("/paths/{}", esc(&path))) {
            let allow: Vec<String> = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            let op = format!("{method} {path} (documented: {})", allow.join(", "));
            assert_eq!(
                r.status,
                405,
                "{what}: {op} answered {status}, not the documented 405: {}",
                r.text()
            );
            assert_eq!(
                r.header("allow"),
                Some(allow.join(", ").as_str()),
                "{what}: {op}: Allow names the documented methods"
            );
            (op, METHOD_NOT_ALLOWED.to_string())
        } else {
            let op = format!("{method} {path} (not in openapi.yaml)");
            assert_eq!(
                r.status,
                404,
                "{what}: {op} answered {status}, not 404: {}",
                r.text()
            );
            (op, NOT_FOUND.to_string())
        };
        let seen = if resp_ptr.starts_with("/components/") {
            resp_ptr.clone()
        } else {
            format!("{method} {path}")
        };
        self.seen.insert((seen, status.clone()));
        let ctx = format!("{what}: {op} → {status}");
        self.check_response(&ctx, &resp_ptr, r);
        if let Some(body_ptr) = self
            .root
            .pointer(&op_ptr)
            .and_then(|o| o.get("requestBody"))
            .map(|_| self.resolve(format!("{op_ptr}/requestBody")))
        {
            self.check_request(&ctx, &body_ptr, ev, r.status);
        }
    }

    fn check_response(&mut self, ctx: &str, resp_ptr: &str, r: &Reply) {
        let resp_ptr = self.resolve(resp_ptr.to_string());
        let resp = self.at(&resp_ptr).clone();
        let headers = resp
            .get("headers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (name, _) in &headers {
            let h_ptr = self.resolve(format!("{resp_ptr}/headers/{}", esc(name)));
            let h = self.at(&h_ptr).clone();
            let Some(value) = r.header(name) else {
                assert!(
                    h["required"] != true,
                    "{ctx}: header {name} is required by openapi.yaml but missing; headers: {:?}",
                    r.headers
                );
                continue;
            };
            let instance = match (h["schema"]["type"].as_str(), value.parse::<i64>()) {
                (Some("integer"), Ok(n)) => json!(n),
                _ => json!(value),
            };
            if let Some(err) = self.schema_error(&format!("{h_ptr}/schema"), &instance) {
                panic!("{ctx}: header {name}: {value:?} does not match openapi.yaml: {err}");
            }
        }
        for name in CONTRACT_HEADERS {
            if r.headers.contains_key(*name) {
                assert!(
                    headers.keys().any(|k| k.eq_ignore_ascii_case(name)),
                    "{ctx}: answered header {name}: {:?}, which openapi.yaml does not document here",
                    r.header(name)
                );
            }
        }
        match resp.get("content").and_then(Value::as_object) {
            None => {
                assert!(
                    r.body.is_empty(),
                    "{ctx}: openapi.yaml says no content, the body is {:?}",
                    r.text()
                );
                assert_eq!(
                    r.header("content-type"),
                    None,
                    "{ctx}: openapi.yaml says no content"
                );
            }
            Some(content) => {
                let ct = r.header("content-type").unwrap_or_else(|| {
                    panic!(
                        "{ctx}: no Content-Type; openapi.yaml lists {:?}",
                        content.keys()
                    )
                });
                let media = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                assert!(
                    content.contains_key(&media),
                    "{ctx}: Content-Type {ct} is not among {:?}",
                    content.keys()
                );
                let body: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                    panic!("{ctx}: the body is not JSON ({e}): {:?}", r.text())
                });
                let schema = format!("{resp_ptr}/content/{}/schema", esc(&media));
                if let Some(err) = self.schema_error(&schema, &body) {
                    panic!("{ctx}: the body does not match openapi.yaml #{schema}: {err}\nbody: {body}");
                }
            }
        }
    }

    /// A request body the handler accepted must match the documented schema,
    /// and a JSON body the schema refuses must be refused with 400.
    fn check_request(&mut self, ctx: &str, body_ptr: &str, ev: &Value, status: u16) {
        let ct = ev["headers"]
            .as_object()
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .and_then(|(_, v)| v.as_str())
            })
            .unwrap_or("");
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let schema = format!("{body_ptr}/content/{}/schema", esc(&media));
        let documented = self.root.pointer(&schema).is_some();
        let parsed = serde_json::from_slice::<Value>(&request_body(ev)).ok();
        if (200..300).contains(&status) {
            assert!(
                documented,
                "{ctx}: accepted a request with Content-Type {ct:?}, which openapi.yaml does not list"
            );
            let body = parsed.unwrap_or_else(|| panic!("{ctx}: accepted a body that is not JSON"));
            if let Some(err) = self.schema_error(&schema, &body) {
                panic!("{ctx}: accepted a request body that openapi.yaml #{schema} refuses: {err}\nbody: {body}");
            }
        } else if let (true, Some(body)) = (documented, parsed) {
            if let Some(err) = self.schema_error(&schema, &body) {
                // An operation that needs a token checks it before the body.
                let op = body_ptr.trim_end_matches("/requestBody");
                let secured = self.root.pointer(&format!("{op}/security")).is_some();
                assert!(
                    status == 400 || (secured && status == 401),
                    "{ctx}: openapi.yaml refuses this request body ({err}), so it is an invalid request, not {status}\nbody: {body}"
                );
            }
        }
    }

    /// Every example in the document matches the schema beside it.
    fn check_examples(&mut self) {
        let found = media_types(&self.root);
        assert!(!found.is_empty(), "openapi.yaml has media types");
        for ptr in found {
            let media = self.at(&ptr).clone();
            let schema = format!("{ptr}/schema");
            let mut examples = vec![];
            if let Some(e) = media.get("example") {
                examples.push(("example".to_string(), e.clone()));
            }
            for (name, _) in media
                .get("examples")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let e_ptr = self.resolve(format!("{ptr}/examples/{}", esc(name)));
                examples.push((name.clone(), self.at(&e_ptr)["value"].clone()));
            }
            assert!(!examples.is_empty(), "#{ptr} has an example");
            for (name, value) in examples {
                if let Some(err) = self.schema_error(&schema, &value) {
                    panic!("openapi.yaml #{ptr} example {name} does not match its schema: {err}");
                }
            }
        }
    }
}

/// Pointers to every media type object of the document's request bodies and
/// responses (in operations and in components).
fn media_types(root: &Value) -> Vec<String> {
    let mut owners = vec![];
    for (path, item) in root["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            let op = format!("/paths/{}/{m}", esc(path));
            if item.get(*m).is_none() {
                continue;
            }
            owners.push(format!("{op}/requestBody"));
            for status in item[*m]["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|r| r.0)
            {
                owners.push(format!("{op}/responses/{status}"));
            }
        }
    }
    for kind in ["responses", "requestBodies"] {
        for name in root["components"][kind]
            .as_object()
            .into_iter()
            .flatten()
            .map(|r| r.0)
        {
            owners.push(format!("/components/{kind}/{}", esc(name)));
        }
    }
    let mut out = vec![];
    for owner in owners {
        let content = root
            .pointer(&format!("{owner}/content"))
            .and_then(Value::as_object);
        for media in content.into_iter().flatten().map(|c| c.0) {
            out.push(format!("{owner}/content/{}", esc(media)));
        }
    }
    out
}

/// The method and the path as the routes see it: a REST API event's `path`
/// (which never holds the stage), or an HTTP API event's `rawPath` without
/// its leading stage.
fn route_of(ev: &Value) -> (String, String) {
    let ctx = &ev["requestContext"];
    let Some(raw) = ev.get("rawPath") else {
        let method = ev["httpMethod"].as_str().expect("a method").to_string();
        return (method, ev["path"].as_str().expect("a path").to_string());
    };
    let method = ctx["http"]["method"]
        .as_str()
        .expect("a method")
        .to_string();
    let path = raw.as_str().expect("a path");
    let path = match ctx["stage"].as_str() {
        Some(stage) if !stage.is_empty() && stage != "$default" => {
            match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                Some(rest) if rest.starts_with('/') => rest,
                Some("") => "/",
                _ => path,
            }
        }
        _ => path,
    };
    (method, path.to_string())
}

fn request_body(ev: &Value) -> Vec<u8> {
    let body = ev["body"].as_str().unwrap_or("");
    if ev["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("a base64 body")
    } else {
        body.as_bytes().to_vec()
    }
}

/// An HTTP API event for `method path` (`stage` `$default` or a name), JSON
/// content type, with `body` (or none).
fn http_event(method: &str, path: &str, stage: &str, body: Option<&str>) -> Value {
    let mut ev = event("v2-login");
    let raw = if stage == "$default" {
        path.to_string()
    } else {
        format!("/{stage}{path}")
    };
    ev["rawPath"] = json!(raw);
    ev["requestContext"]["http"]["path"] = json!(raw);
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["requestContext"]["stage"] = json!(stage);
    ev["body"] = body.map_or(Value::Null, |b| json!(b));
    ev
}

/// A REST API (payload 1.0) proxy event for `method path` on stage `prod`.
fn rest_event(method: &str, path: &str, body: Option<&str>) -> Value {
    let mut ev = event("v2-login-rest-v1");
    ev["path"] = json!(path);
    ev["httpMethod"] = json!(method);
    ev["requestContext"]["httpMethod"] = json!(method);
    ev["requestContext"]["path"] = json!(format!("/prod{path}"));
    ev["pathParameters"]["proxy"] = json!(path.trim_start_matches('/'));
    ev["body"] = body.map_or(Value::Null, |b| json!(b));
    ev
}

fn substitute(ev: &Value, placeholder: &str, token: &str) -> Value {
    serde_json::from_str(&ev.to_string().replace(placeholder, token)).unwrap()
}

async fn live_refresh_token(doc: &mut Doc, env: &TestEnv) -> String {
    let r = doc
        .send(env, "log in for a refresh token", &event("v2-login"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn live_ops_token(doc: &mut Doc, env: &TestEnv) -> String {
    let r = doc
        .send(env, "acquire for an ops token", &event("ops-acquire"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

async fn event_files(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let mut files: Vec<String> =
        std::fs::read_dir(format!("{}/events", env!("CARGO_MANIFEST_DIR")))
            .expect("events/")
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect();
    files.sort();
    assert!(!files.is_empty(), "events/ has events");
    for file in &files {
        let ev = event(file);
        doc.send(&env, &format!("events/{file}.json"), &ev).await;
        let text = ev.to_string();
        let mut live = ev.clone();
        if text.contains("REPLACE_WITH_REFRESH_TOKEN") {
            let token = live_refresh_token(doc, &env).await;
            live = substitute(&live, "REPLACE_WITH_REFRESH_TOKEN", &token);
        }
        if text.contains("REPLACE_WITH_OPS_TOKEN") {
            let token = live_ops_token(doc, &env).await;
            live = substitute(&live, "REPLACE_WITH_OPS_TOKEN", &token);
        }
        if live != ev {
            let r = doc
                .send(
                    &env,
                    &format!("events/{file}.json with a live token"),
                    &live,
                )
                .await;
            assert!(
                (200..300).contains(&r.status),
                "events/{file}.json with a live token: {} {}",
                r.status,
                r.text()
            );
            if file.ends_with("passwordchange") {
                // Put the demo password back for the events that follow.
                let body: Value = serde_json::from_str(live["body"].as_str().unwrap()).unwrap();
                let back = json!({
                    "currentPassword": body["newPassword"],
                    "newPassword": body["currentPassword"],
                });
                let restore = with_body(live.clone(), &back.to_string());
                let r = doc.send(&env, "restore the demo password", &restore).await;
                assert_eq!(r.status, 204, "{}", r.text());
            }
        }
    }
}

async fn invalid_requests(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let long_password = "p".repeat(1025);
    let big = format!(
        r#"{{"username":"Admin","userName":"Admin","password":"{PASSWORD}","refreshToken":"x","pad":"{}"}}"#,
        "x".repeat(8 * 1024)
    );
    let common: Vec<String> = vec![
        "not json".into(),
        "".into(),
        "[]".into(),
        r#""a string""#.into(),
        "42".into(),
        "null".into(),
        "{}".into(),
        big,
    ];
    let login_bodies = |user_key: &str| -> Vec<String> {
        let cases = [
            json!({"password": PASSWORD}),
            json!({user_key: null, "password": PASSWORD}),
            json!({user_key: "", "password": PASSWORD}),
            json!({user_key: 7, "password": PASSWORD}),
            json!({user_key: ["Admin"], "password": PASSWORD}),
            json!({user_key: "Admin"}),
            json!({user_key: "Admin", "password": null}),
            json!({user_key: "Admin", "password": ""}),
            json!({user_key: "Admin", "password": 12345}),
            json!({user_key: "Admin", "password": {"p": PASSWORD}}),
            json!({user_key: "Admin", "password": long_password}),
        ];
        cases.iter().map(Value::to_string).collect()
    };
    let token_bodies: Vec<String> = [
        json!({"refreshToken": null}),
        json!({"refreshToken": ""}),
        json!({"refreshToken": 5}),
        json!({"refreshToken": ["x"]}),
        json!({"accessToken": "x"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    let mut acquire = login_bodies("username");
    acquire.push(json!({"username": "Admin", "password": PASSWORD, "authSource": 5}).to_string());
    acquire.push(json!({"username": "Admin", "password": PASSWORD, "authSource": {}}).to_string());
    let routes: Vec<(&str, Vec<String>)> = vec![
        ("v2-login", login_bodies("username")),
        ("v2-refresh", token_bodies.clone()),
        ("v2-revoke", token_bodies.clone()),
        ("user-authenticate", login_bodies("userName")),
        ("user-refresh", token_bodies.clone()),
        ("user-logout", token_bodies),
        ("ops-acquire", acquire.clone()),
        ("suite-api-acquire", acquire),
    ];
    for (name, bodies) in routes {
        let base = event(name);
        let valid = base["body"].as_str().unwrap().to_string();
        let mut cases: Vec<(String, Value)> = vec![];
        for b in common.iter().chain(&bodies) {
            cases.push((format!("body {b:.60}"), with_body(base.clone(), b)));
        }
        cases.push((
            "invalid UTF-8".into(),
            with_bytes(
                base.clone(),
                b"{\"username\":\"\xff\",\"userName\":\"\xff\"}",
            ),
        ));
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "",
        ] {
            cases.push((
                format!("Content-Type {ct:?}"),
                with_header(base.clone(), "content-type", ct),
            ));
        }
        cases.push((
            "no Content-Type".into(),
            without_header(base.clone(), "content-type"),
        ));
        for (what, ev) in cases {
            let what = format!("events/{name}.json with {what}");
            let r = doc.send(&env, &what, &ev).await;
            assert_eq!(r.status, 400, "{what}: {}", r.text());
        }
        // Parameters on the media type and unknown fields are fine.
        let ev = with_header(
            base.clone(),
            "content-type",
            "application/json; charset=utf-8",
        );
        let ev = with_body(ev, &valid.replacen('{', r#"{"unknown":[1,{"x":null}],"#, 1));
        let what = format!("events/{name}.json with charset and an unknown field");
        let r = doc.send(&env, &what, &ev).await;
        assert!(r.status != 400, "{what}: {}", r.text());
    }

    // The ops dialect's token header: anything but a live token is an empty 401.
    let token = live_ops_token(doc, &env).await;
    for name in ["ops-currentuser", "ops-release"] {
        for auth in [
            String::new(),
            "OpsToken".into(),
            "OpsToken ".into(),
            "OpsToken not-a-token".into(),
            format!("Bearer {token}"),
            format!("Basic {token}"),
            format!("OpsToken{token}"),
            format!("OpsToken {token}x"),
        ] {
            let ev = with_header(event(name), "authorization", &auth);
            let r = doc
                .send(
                    &env,
                    &format!("events/{name}.json with Authorization {auth:?}"),
                    &ev,
                )
                .await;
            assert_eq!(r.status, 401, "{name} {auth:?}: {}", r.text());
        }
    }
    for scheme in ["vRealizeOpsToken", "opstoken"] {
        let token = live_ops_token(doc, &env).await;
        for name in ["ops-currentuser", "suite-api-currentuser", "ops-release"] {
            let ev = with_header(event(name), "authorization", &format!("{scheme} {token}"));
            let r = doc
                .send(&env, &format!("events/{name}.json with {scheme}"), &ev)
                .await;
            assert_eq!(r.status, 200, "{name} {scheme}: {}", r.text());
        }
    }
}

/// Change password at both bases: bad bodies, a refused new password, and a
/// lockout through wrong current passwords.
async fn password_change(doc: &mut Doc) {
    for name in ["ops-passwordchange", "suite-api-passwordchange"] {
        let env = TestEnv::new().await;
        let token = live_ops_token(doc, &env).await;
        let base = substitute(&event(name), "REPLACE_WITH_OPS_TOKEN", &token);
        let body = |current: Value, new: Value| {
            with_body(
                base.clone(),
                &json!({"currentPassword": current, "newPassword": new}).to_string(),
            )
        };
        for (what, ev) in [
            (
                "no newPassword",
                with_body(
                    base.clone(),
                    &json!({"currentPassword": PASSWORD}).to_string(),
                ),
            ),
            ("an empty newPassword", body(json!(PASSWORD), json!(""))),
            ("a numeric newPassword", body(json!(PASSWORD), json!(7))),
            (
                "a null currentPassword",
                body(Value::Null, json!("a fresh and long pass phrase 2037")),
            ),
            (
                "a 1025-byte newPassword",
                body(json!(PASSWORD), json!("p".repeat(1025))),
            ),
            ("not JSON", with_body(base.clone(), "not json")),
            (
                "Content-Type text/plain",
                with_header(base.clone(), "content-type", "text/plain"),
            ),
            (
                "a weak newPassword",
                body(json!(PASSWORD), json!("password1")),
            ),
        ] {
            let what = format!("events/{name}.json with {what}");
            let r = doc.send(&env, &what, &ev).await;
            assert_eq!(r.status, 400, "{what}: {}", r.text());
        }
        for i in 1..=10 {
            let what = format!("events/{name}.json with a wrong current password {i} of 10");
            let r = doc
                .send(
                    &env,
                    &what,
                    &body(
                        json!("not my password"),
                        json!("a fresh and long pass phrase 2037"),
                    ),
                )
                .await;
            assert_eq!(r.status, 401, "{what}: {}", r.text());
        }
        let what = format!("events/{name}.json while locked");
        let r = doc.send(&env, &what, &base).await;
        assert_eq!(r.status, 429, "{what}: {}", r.text());
    }
}

async fn too_many_attempts(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let wrong = json!({"username": "admin", "password": "wrong password"});
    for i in 1..=10 {
        let r = doc
            .send(
                &env,
                &format!("wrong password {i} of 10"),
                // Both take `username`; the ops one answers an empty 401.
                &login(
                    if i % 2 == 0 {
                        "suite-api-acquire"
                    } else {
                        "v2-login"
                    },
                    wrong.clone(),
                ),
            )
            .await;
        assert_eq!(r.status, 401, "failure {i}: {}", r.text());
    }
    for name in [
        "v2-login",
        "user-authenticate",
        "ops-acquire",
        "suite-api-acquire",
    ] {
        let r = doc
            .send(
                &env,
                &format!("events/{name}.json while locked"),
                &event(name),
            )
            .await;
        assert_eq!(r.status, 429, "{name}: {}", r.text());
        assert_eq!(r.header("retry-after"), Some("60"), "{name}");
    }
    env.clock.advance(time::Duration::seconds(60));
    let r = doc
        .send(&env, "log in after the lock", &event("v2-login"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn server_errors(doc: &mut Doc) {
    let live = TestEnv::new().await;
    let refresh = live_refresh_token(doc, &live).await;
    let ops = live_ops_token(doc, &live).await;
    let broken = TestEnv::without_tables().await;
    for name in [
        "v2-login",
        "v2-refresh",
        "v2-revoke",
        "user-authenticate",
        "user-refresh",
        "user-logout",
        "ops-acquire",
        "ops-currentuser",
        "ops-release",
        "ops-passwordchange",
        "suite-api-acquire",
        "suite-api-currentuser",
        "suite-api-release",
        "suite-api-passwordchange",
    ] {
        let ev = substitute(&event(name), "REPLACE_WITH_REFRESH_TOKEN", &refresh);
        let ev = substitute(&ev, "REPLACE_WITH_OPS_TOKEN", &ops);
        let what = format!("events/{name}.json without tables");
        let r = doc.send(&broken, &what, &ev).await;
        assert_eq!(r.status, 500, "{what}: {}", r.text());
    }
    for name in ["jwks", "openid-configuration"] {
        let what = format!("events/{name}.json without tables");
        let r = doc.send(&broken, &what, &event(name)).await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
    }
}

/// Every documented route answers, in every framing; other methods get 405
/// and other paths 404.
async fn routes(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let ops = doc.operations();
    assert!(!ops.is_empty(), "openapi.yaml has operations");
    for (method, path) in &ops {
        let body = (method != "GET").then_some("{}");
        for (framing, ev) in [
            ("HTTP API", http_event(method, path, "$default", body)),
            (
                "HTTP API, stage prod",
                http_event(method, path, "prod", body),
            ),
            ("REST API, stage prod", rest_event(method, path, body)),
        ] {
            let what = format!("{method} {path} ({framing})");
            let r = doc.send(&env, &what, &ev).await;
            assert!(
                r.status != 404 && r.status != 405,
                "{what}: a documented route answered {}",
                r.status
            );
        }
    }
    let paths: BTreeSet<&String> = ops.iter().map(|(_, p)| p).collect();
    for path in &paths {
        for m in METHODS {
            let method = m.to_uppercase();
            if ops.contains(&(method.clone(), path.to_string())) || method == "TRACE" {
                continue;
            }
            let ev = http_event(&method, path, "$default", Some("{}"));
            doc.send(&env, &format!("{method} {path}"), &ev).await;
        }
    }
    let mut others: Vec<String> = [
        "/",
        "/api",
        "/api/",
        "/api/unknown",
        "/api/v2",
        "/api/v2/auth",
        "/api/user",
        "/api/auth",
        "/api/auth/token",
        "/.well-known",
        "/.well-known/",
        "/favicon.ico",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for path in &paths {
        others.push(format!("{path}/"));
        others.push(format!("{path}/x"));
        others.push(path.to_uppercase());
        others.push(format!("/prod{path}"));
        others.push(format!("/api{path}"));
    }
    for path in &others {
        assert!(
            !paths.contains(path),
            "{path} is a sample of paths not in openapi.yaml"
        );
        for method in ["GET", "POST"] {
            let ev = http_event(method, path, "$default", Some("{}"));
            let r = doc.send(&env, &format!("{method} {path}"), &ev).await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
        }
    }
    // The stage alone is no route.
    let r = doc
        .send(
            &env,
            "the stage alone",
            &http_event("GET", "", "prod", None),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[test]
fn openapi_yaml_examples_match_their_schemas() {
    Doc::new().check_examples();
}

#[tokio::test]
async fn openapi_yaml_matches_the_handler() {
    let mut doc = Doc::new();
    event_files(&mut doc).await;
    invalid_requests(&mut doc).await;
    too_many_attempts(&mut doc).await;
    password_change(&mut doc).await;
    server_errors(&mut doc).await;
    routes(&mut doc).await;

    // Every documented answer was seen at least once.
    let mut documented = vec![];
    for (method, path) in doc.operations() {
        let op = format!("/paths/{}/{}/responses", esc(&path), method.to_lowercase());
        for status in doc.at(&op).as_object().expect("responses").keys() {
            documented.push((format!("{method} {path}"), status.clone()));
        }
    }
    documented.push((NOT_FOUND.to_string(), "404".to_string()));
    documented.push((METHOD_NOT_ALLOWED.to_string(), "405".to_string()));
    let unseen: Vec<String> = documented
        .iter()
        .filter(|k| !doc.seen.contains(*k))
        .map(|(op, status)| format!("{op} → {status}"))
        .collect();
    assert!(
        unseen.is_empty(),
        "openapi.yaml documents answers the test never saw: {unseen:#?}"
    );
}
