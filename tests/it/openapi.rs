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
use token_issuer::core::record::client::{ClientId, GrantType};
use token_issuer::core::store::AdminStore;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Response headers the API gives a meaning: present only where documented.
const CONTRACT_HEADERS: &[&str] = &[
    "cache-control",
    "pragma",
    "retry-after",
    "allow",
    "www-authenticate",
    "location",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "set-cookie",
];

/// The media type of the `/oauth2/` request bodies.
const FORM: &str = "application/x-www-form-urlencoded";

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
            self.check_request(&ctx, &body_ptr, ev, r);
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
        // `x-optional-content`: an answer documented with no `content`, since
        // some carry no body at all (RFC 6750 §3.1: a request without a
        // token learns nothing but the challenge), and tools read `content`
        // as a promise of one; the body, when there is one, is described there.
        let has_body = !r.body.is_empty() || r.header("content-type").is_some();
        let key = if resp.get("content").is_none()
            && has_body
            && resp.get("x-optional-content").is_some()
        {
            "x-optional-content"
        } else {
            "content"
        };
        match resp.get(key).and_then(Value::as_object) {
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
                // A JSON body is the instance; any other (an HTML page) is
                // one string, which its schema describes.
                let body: Value = if media == "application/json" {
                    serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                        panic!("{ctx}: the body is not JSON ({e}): {:?}", r.text())
                    })
                } else {
                    let text = std::str::from_utf8(&r.body)
                        .unwrap_or_else(|e| panic!("{ctx}: the {media} body is not UTF-8 ({e})"));
                    json!(text)
                };
                let schema = format!("{resp_ptr}/{key}/{}/schema", esc(&media));
                if let Some(err) = self.schema_error(&schema, &body) {
                    panic!("{ctx}: the body does not match openapi.yaml #{schema}: {err}\nbody: {body}");
                }
            }
        }
    }

    /// A request body the handler accepted must match the documented schema,
    /// and a JSON or form body the schema refuses must be refused with 400.
    /// A body the document does not require may be left out. At the
    /// authorization endpoint a `302` with a `code` is an acceptance, and one
    /// with an `error` a refusal (RFC 6749 §4.1.2.1 reports errors so).
    fn check_request(&mut self, ctx: &str, body_ptr: &str, ev: &Value, r: &Reply) {
        let status = r.status;
        let redirect_error = status == 302 && redirect_param(r, "error").is_some();
        let accepted = (200..300).contains(&status) || (status == 302 && !redirect_error);
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
        let bytes = request_body(ev);
        if bytes.is_empty() && self.at(body_ptr)["required"] != true {
            return;
        }
        let parsed = if media == FORM {
            form_json(&bytes)
        } else {
            serde_json::from_slice::<Value>(&bytes).ok()
        };
        if accepted {
            assert!(
                documented,
                "{ctx}: accepted a request with Content-Type {ct:?}, which openapi.yaml does not list"
            );
            let body =
                parsed.unwrap_or_else(|| panic!("{ctx}: accepted a body that is not {media}"));
            if let Some(err) = self.schema_error(&schema, &body) {
                panic!("{ctx}: accepted a request body that openapi.yaml #{schema} refuses: {err}\nbody: {body}");
            }
        } else if let (true, Some(body)) = (documented, parsed) {
            if let Some(err) = self.schema_error(&schema, &body) {
                // An operation that needs a token checks it before the body.
                let op = body_ptr.trim_end_matches("/requestBody");
                let secured = self.root.pointer(&format!("{op}/security")).is_some();
                assert!(
                    status == 400 || (secured && status == 401) || redirect_error,
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
        for key in ["content", "x-optional-content"] {
            let content = root
                .pointer(&format!("{owner}/{key}"))
                .and_then(Value::as_object);
            for media in content.into_iter().flatten().map(|c| c.0) {
                out.push(format!("{owner}/{key}/{}", esc(media)));
            }
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

/// A form body (RFC 6749 §3.2) as the JSON object its schema describes:
/// empty values left out (RFC 6749 §3.1), a repeated name an array. `None`
/// when it does not decode.
fn form_json(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    let decode = |raw: &str| {
        percent_encoding::percent_decode_str(&raw.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    let mut out = serde_json::Map::new();
    for piece in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if v.is_empty() {
            continue;
        }
        match out.get_mut(&k) {
            None => {
                out.insert(k, json!(v));
            }
            Some(Value::Array(all)) => all.push(json!(v)),
            Some(first) => *first = json!([first.clone(), v]),
        }
    }
    Some(Value::Object(out))
}

/// A parameter of a redirect's `Location` query, decoded.
fn redirect_param(r: &Reply, key: &str) -> Option<String> {
    let location = r.header("location")?;
    let (_, query) = location.split_once('?')?;
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (k == key).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .expect("a UTF-8 query")
                .into_owned()
        })
    })
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

/// [`substitute`] for an `oauth-*` event: form-encoded in its body (a
/// refresh token's `+` would be a space), as is in its headers.
fn substitute_oauth(ev: &Value, placeholder: &str, token: &str) -> Value {
    let mut ev = ev.clone();
    if let Some(body) = ev["body"].as_str() {
        let encoded =
            percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        ev["body"] = json!(body.replace(placeholder, &encoded));
    }
    substitute(&ev, placeholder, token)
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

/// A password grant of `client` for the demo user, scope `scope`; its answer.
async fn oauth_password_grant(
    doc: &mut Doc,
    env: &TestEnv,
    client: (&str, &str),
    scope: &str,
) -> Value {
    let ev = oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "password"),
            ("username", "Admin"),
            ("password", PASSWORD),
            ("scope", scope),
        ],
        Some(client),
    );
    let r = doc.send(env, "a password grant for tokens", &ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The client id of `ev`'s Basic header when it has the `oauth-*` events'
/// placeholder secret.
fn placeholder_client(ev: &Value) -> Option<String> {
    let raw = ev["headers"]["authorization"]
        .as_str()
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    (secret == "REPLACE_WITH_CLIENT_SECRET").then(|| id.to_string())
}

/// The `form_token` of the login page of `events/oauth-authorize.json`.
async fn demo_form_token(doc: &mut Doc, env: &TestEnv) -> String {
    let what = "the login page of events/oauth-authorize.json";
    let r = expect(doc, env, what, &event("oauth-authorize"), 200).await;
    hidden_field(&r.text(), "form_token").expect("a form_token")
}

/// A code for `demo-web`: `events/oauth-authorize-submit.json` with a live
/// form token.
async fn demo_code(doc: &mut Doc, env: &TestEnv) -> String {
    let token = demo_form_token(doc, env).await;
    let ev = substitute_oauth(
        &event("oauth-authorize-submit"),
        "REPLACE_WITH_FORM_TOKEN",
        &token,
    );
    let r = expect(doc, env, "a sign-in for a code", &ev, 302).await;
    redirect_param(&r, "code").expect("a code")
}

async fn event_files(doc: &mut Doc) {
    let env = TestEnv::new().await;
    // The client the `oauth-*` events name (see events/README.md).
    let demo = env
        .add_client("demo-app", false, &GrantType::ALL, "openid profile email")
        .await
        .expect("a confidential client");
    // The web app of the authorization code events, registered once the
    // first of them has been sent as committed (an unknown client: the
    // error page).
    let mut demo_web: Option<String> = None;
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
        let registers = text.contains("demo-web") && demo_web.is_none();
        if registers {
            demo_web = env
                .add_client("demo-web", false, CODE_FLOW, "openid profile email")
                .await;
        }
        if file.starts_with("oauth-") {
            let client = ("demo-app", demo.as_str());
            if text.contains("REPLACE_WITH_REFRESH_TOKEN") {
                let grant = oauth_password_grant(doc, &env, client, "openid").await;
                let token = grant["refresh_token"].as_str().unwrap();
                live = substitute_oauth(&live, "REPLACE_WITH_REFRESH_TOKEN", token);
            }
            if text.contains("REPLACE_WITH_ACCESS_TOKEN") {
                let grant = oauth_password_grant(doc, &env, client, "openid").await;
                let token = grant["access_token"].as_str().unwrap();
                live = substitute_oauth(&live, "REPLACE_WITH_ACCESS_TOKEN", token);
            }
            if text.contains("REPLACE_WITH_FORM_TOKEN") {
                let token = demo_form_token(doc, &env).await;
                live = substitute_oauth(&live, "REPLACE_WITH_FORM_TOKEN", &token);
            }
            if text.contains("REPLACE_WITH_DPOP_PROOF") {
                use token_issuer::core::clock::Clock as _;
                let proof =
                    crate::dpop::Key::new().proof("POST", crate::dpop::TOKEN_URL, env.clock.now());
                live = with_header(live, "dpop", &proof);
            }
            if text.contains("REPLACE_WITH_CODE") {
                let code = demo_code(doc, &env).await;
                live = substitute_oauth(&live, "REPLACE_WITH_CODE", &code);
            }
            if let Some(id) = placeholder_client(&live) {
                let secret = match id.as_str() {
                    "demo-app" => demo.as_str(),
                    "demo-web" => demo_web.as_deref().expect("demo-web is registered"),
                    other => panic!("events/{file}.json: an unknown client {other}"),
                };
                live = with_header(live, "authorization", &basic(&id, secret));
            }
        } else if text.contains("REPLACE_WITH_REFRESH_TOKEN") {
            let token = live_refresh_token(doc, &env).await;
            live = substitute(&live, "REPLACE_WITH_REFRESH_TOKEN", &token);
        }
        if text.contains("REPLACE_WITH_OPS_TOKEN") {
            let token = live_ops_token(doc, &env).await;
            live = substitute(&live, "REPLACE_WITH_OPS_TOKEN", &token);
        }
        if live != ev || registers {
            let what = if live != ev {
                format!("events/{file}.json with a live token")
            } else {
                format!("events/{file}.json with its client registered")
            };
            let r = doc.send(&env, &what, &live).await;
            // A sign-in answers with a redirect that carries the code.
            assert!(
                (200..300).contains(&r.status) || redirect_param(&r, "code").is_some(),
                "{what}: {} {}",
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

/// `GET /oauth2/userinfo` with `authorization` as given (or none).
fn userinfo_get(authorization: Option<&str>) -> Value {
    let ev = without_header(event("oauth-userinfo"), "authorization");
    match authorization {
        Some(a) => with_header(ev, "authorization", a),
        None => ev,
    }
}

/// `POST /oauth2/userinfo` with a form body and, if given, a bearer token.
fn userinfo_post(pairs: &[(&str, &str)], bearer: Option<&str>) -> Value {
    let mut ev = userinfo_get(bearer.map(|t| format!("Bearer {t}")).as_deref());
    ev["requestContext"]["http"]["method"] = json!("POST");
    with_body(with_header(ev, "content-type", FORM), &form(pairs))
}

/// Sends `ev` and checks its status; the answer.
async fn expect(doc: &mut Doc, env: &TestEnv, what: &str, ev: &Value, status: u16) -> Reply {
    let r = doc.send(env, what, ev).await;
    assert_eq!(r.status, status, "{what}: {}", r.text());
    r
}

/// Sends `ev`, checks its status and its RFC 6749 §5.2 `error`.
async fn expect_error(
    doc: &mut Doc,
    env: &TestEnv,
    what: &str,
    ev: &Value,
    status: u16,
    error: &str,
) -> Reply {
    let r = expect(doc, env, what, ev, status).await;
    assert_eq!(r.json()["error"], error, "{what}: {}", r.text());
    r
}

/// The clients of the oauth tests: what each may do is in its name.
struct Clients {
    /// Confidential, every grant, `openid profile email api:read`.
    app: String,
    /// Confidential, `client_credentials` only, `api:read`.
    svc: String,
    /// Confidential, `password` only (so no refresh tokens), `openid`.
    no_refresh: String,
    /// Confidential, every grant, disabled.
    off: String,
}

impl Clients {
    async fn register(env: &TestEnv) -> Self {
        let app = env
            .add_client(
                "app",
                false,
                &GrantType::ALL,
                "openid profile email api:read",
            )
            .await
            .unwrap();
        let svc = env
            .add_client("svc", false, &[GrantType::ClientCredentials], "api:read")
            .await
            .unwrap();
        let no_refresh = env
            .add_client("no-refresh", false, &[GrantType::Password], "openid")
            .await
            .unwrap();
        let off = env
            .add_client("off", false, &GrantType::ALL, "openid")
            .await
            .unwrap();
        // Public: `openid profile`, password and refresh_token.
        let public = env
            .add_client(
                "spa",
                true,
                &[GrantType::Password, GrantType::RefreshToken],
                "openid profile",
            )
            .await;
        assert_eq!(public, None);
        assert!(env
            .store
            .set_client_enabled(&ClientId::parse("off").unwrap(), false)
            .await
            .unwrap());
        Self {
            app,
            svc,
            no_refresh,
            off,
        }
    }

    fn app(&self) -> Option<(&str, &str)> {
        Some(("app", &self.app))
    }

    fn svc(&self) -> Option<(&str, &str)> {
        Some(("svc", &self.svc))
    }
}

/// A password grant's parameters for the demo user, then `extra`.
fn password<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("grant_type", "password"),
        ("username", "Admin"),
        ("password", PASSWORD),
    ];
    p.extend_from_slice(extra);
    p
}

/// A refresh grant's parameters.
fn refresh(token: &str) -> Vec<(&str, &str)> {
    vec![("grant_type", "refresh_token"), ("refresh_token", token)]
}

/// `POST /oauth2/token`: each grant with each client authentication, and
/// every refusal.
async fn oauth_token(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let c = Clients::register(&env).await;
    let token = |pairs: &[(&str, &str)], client: Option<(&str, &str)>| {
        oauth_event("oauth-token-password", pairs, client)
    };
    let keys = |r: &Reply| -> Vec<String> {
        let mut k: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };

    // Password grant: client_secret_basic, client_secret_post, public client.
    let what = "password grant, client_secret_basic, scope openid profile";
    let ev = token(&password(&[("scope", "openid profile")]), c.app());
    let r = expect(doc, &env, what, &ev, 200).await;
    let grant = r.json();
    assert_eq!(
        keys(&r),
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ],
        "{what}"
    );
    assert_eq!(grant["scope"], "openid profile");
    assert_eq!(grant["expires_in"], 3600);
    let first_refresh = grant["refresh_token"].as_str().unwrap().to_string();

    let mut post = password(&[]);
    post.extend([("client_id", "app"), ("client_secret", c.app.as_str())]);
    let r = expect(
        doc,
        &env,
        "password grant, client_secret_post",
        &token(&post, None),
        200,
    )
    .await;
    assert_eq!(r.json()["scope"], "openid profile email api:read");

    let mut same_id = password(&[]);
    same_id.push(("client_id", "app"));
    expect(
        doc,
        &env,
        "password grant, Basic and the same client_id in the body",
        &token(&same_id, c.app()),
        200,
    )
    .await;

    let mut public = password(&[]);
    public.push(("client_id", "spa"));
    let r = expect(
        doc,
        &env,
        "password grant, public client",
        &token(&public, None),
        200,
    )
    .await;
    let spa_refresh = r.json()["refresh_token"].as_str().unwrap().to_string();

    let r = expect(
        doc,
        &env,
        "password grant, a client without refresh_token",
        &token(&password(&[]), Some(("no-refresh", &c.no_refresh))),
        200,
    )
    .await;
    assert_eq!(
        keys(&r),
        [
            "access_token",
            "expires_in",
            "id_token",
            "scope",
            "token_type"
        ]
    );

    let r = expect(
        doc,
        &env,
        "password grant, scope without openid",
        &token(&password(&[("scope", "api:read")]), c.app()),
        200,
    )
    .await;
    assert_eq!(
        keys(&r),
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );

    let ev = with_header(
        token(&password(&[("scope", "")]), c.app()),
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    );
    expect(
        doc,
        &env,
        "password grant, charset, an empty scope and an unknown parameter",
        &with_body(
            ev.clone(),
            &format!("{}&unknown=1", ev["body"].as_str().unwrap()),
        ),
        200,
    )
    .await;

    // Refresh: rotation, a narrower scope, the public client's own token.
    let r = expect(
        doc,
        &env,
        "refresh grant, a narrower scope",
        &token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
                ("scope", "openid"),
            ],
            c.app(),
        ),
        200,
    )
    .await;
    assert_eq!(r.json()["scope"], "openid");
    let next_refresh = r.json()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(next_refresh, first_refresh);
    let r = expect(
        doc,
        &env,
        "refresh grant, public client",
        &token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &spa_refresh),
                ("client_id", "spa"),
            ],
            None,
        ),
        200,
    )
    .await;
    let spa_refresh = r.json()["refresh_token"].as_str().unwrap().to_string();

    // Client credentials: no refresh token, no openid.
    let r = expect(
        doc,
        &env,
        "client_credentials grant",
        &token(&[("grant_type", "client_credentials")], c.svc()),
        200,
    )
    .await;
    assert_eq!(
        keys(&r),
        ["access_token", "expires_in", "scope", "token_type"]
    );
    assert_eq!(r.json()["scope"], "api:read");
    let r = expect(
        doc,
        &env,
        "client_credentials grant, every scope but openid",
        &token(&[("grant_type", "client_credentials")], c.app()),
        200,
    )
    .await;
    assert_eq!(r.json()["scope"], "profile email api:read");

    // invalid_request.
    let long_password = "p".repeat(1025);
    let big = format!("grant_type=client_credentials&pad={}", "x".repeat(8 * 1024));
    let mut malformed: Vec<(String, Value)> = vec![
        ("an empty body".into(), token(&[], c.app())),
        (
            "an empty grant_type".into(),
            token(&[("grant_type", "")], c.app()),
        ),
        (
            "no username".into(),
            token(
                &[("grant_type", "password"), ("password", PASSWORD)],
                c.app(),
            ),
        ),
        (
            "no password".into(),
            token(
                &[("grant_type", "password"), ("username", "Admin")],
                c.app(),
            ),
        ),
        (
            "a 1025-byte password".into(),
            token(
                &[
                    ("grant_type", "password"),
                    ("username", "Admin"),
                    ("password", &long_password),
                ],
                c.app(),
            ),
        ),
        (
            "no refresh_token".into(),
            token(&[("grant_type", "refresh_token")], c.app()),
        ),
        (
            "grant_type twice".into(),
            token(
                &[
                    ("grant_type", "client_credentials"),
                    ("grant_type", "client_credentials"),
                ],
                c.app(),
            ),
        ),
        (
            "scope twice".into(),
            token(
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "api:read"),
                    ("scope", "api:read"),
                ],
                c.app(),
            ),
        ),
        (
            "a body over 8 KiB".into(),
            with_body(token(&[], c.app()), &big),
        ),
        (
            "invalid UTF-8".into(),
            with_bytes(token(&[], c.app()), b"grant_type=password&username=\xff"),
        ),
        (
            "invalid UTF-8, percent-encoded".into(),
            with_body(token(&[], c.app()), "grant_type=password&username=%ff"),
        ),
        (
            "Basic and client_secret".into(),
            token(
                &[
                    ("grant_type", "client_credentials"),
                    ("client_secret", &c.app),
                ],
                c.app(),
            ),
        ),
        (
            "Basic and another client_id".into(),
            token(
                &[("grant_type", "client_credentials"), ("client_id", "svc")],
                c.app(),
            ),
        ),
    ];
    for ct in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencodedx",
        "",
    ] {
        malformed.push((
            format!("Content-Type {ct:?}"),
            with_header(
                token(&[("grant_type", "client_credentials")], c.app()),
                "content-type",
                ct,
            ),
        ));
    }
    malformed.push((
        "no Content-Type".into(),
        without_header(
            token(&[("grant_type", "client_credentials")], c.app()),
            "content-type",
        ),
    ));
    malformed.push((
        "a JSON body".into(),
        with_header(
            with_body(
                token(&[], c.app()),
                &json!({"grant_type": "client_credentials"}).to_string(),
            ),
            "content-type",
            "application/json",
        ),
    ));
    for (what, ev) in &malformed {
        let what = format!("token endpoint with {what}");
        expect_error(doc, &env, &what, ev, 400, "invalid_request").await;
    }

    for grant in ["urn:example:none", "implicit", "PASSWORD"] {
        let what = format!("grant_type {grant}");
        let ev = token(&[("grant_type", grant)], c.app());
        expect_error(doc, &env, &what, &ev, 400, "unsupported_grant_type").await;
    }

    // invalid_grant.
    let v2 = expect(doc, &env, "a v2 log in", &event("v2-login"), 200).await;
    let v2_refresh = v2.json()["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    for (what, ev) in [
        (
            "a wrong password",
            token(
                &[
                    ("grant_type", "password"),
                    ("username", "Admin"),
                    ("password", "not the password"),
                ],
                c.app(),
            ),
        ),
        (
            "an unknown user",
            token(
                &[
                    ("grant_type", "password"),
                    ("username", "nobody"),
                    ("password", PASSWORD),
                ],
                c.app(),
            ),
        ),
        (
            "a consumed refresh token (reuse)",
            token(&refresh(&first_refresh), c.app()),
        ),
        (
            "the family's next token after reuse",
            token(&refresh(&next_refresh), c.app()),
        ),
        ("a v2 refresh token", token(&refresh(&v2_refresh), c.app())),
        (
            "another client's refresh token",
            token(&refresh(&spa_refresh), c.app()),
        ),
        (
            "a garbage refresh token",
            token(&refresh("not a refresh token"), c.app()),
        ),
    ] {
        let what = format!("token endpoint with {what}");
        let r = expect_error(doc, &env, &what, &ev, 400, "invalid_grant").await;
        assert_eq!(r.header("retry-after"), None, "{what}");
    }

    // unauthorized_client and invalid_scope.
    for (what, ev) in [
        (
            "a password grant by a client_credentials client",
            token(&password(&[]), c.svc()),
        ),
        (
            "a refresh grant by a client without refresh_token",
            token(&refresh(&spa_refresh), Some(("no-refresh", &c.no_refresh))),
        ),
        (
            "client_credentials by a public client",
            token(
                &[("grant_type", "client_credentials"), ("client_id", "spa")],
                None,
            ),
        ),
    ] {
        let what = format!("token endpoint with {what}");
        expect_error(doc, &env, &what, &ev, 400, "unauthorized_client").await;
    }
    let fresh = expect(
        doc,
        &env,
        "a password grant for a scope test",
        &token(&password(&[("scope", "api:read")]), c.app()),
        200,
    )
    .await;
    let narrow_refresh = fresh.json()["refresh_token"].as_str().unwrap().to_string();
    for (what, ev) in [
        (
            "a scope the client does not have",
            token(&password(&[("scope", "openid admin")]), c.app()),
        ),
        (
            "a malformed scope",
            token(&password(&[("scope", "a\"b")]), c.app()),
        ),
        (
            "openid for client_credentials",
            token(
                &[("grant_type", "client_credentials"), ("scope", "openid")],
                c.svc(),
            ),
        ),
        (
            "a refresh wider than the family",
            token(
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &narrow_refresh),
                    ("scope", "api:read openid"),
                ],
                c.app(),
            ),
        ),
    ] {
        let what = format!("token endpoint with {what}");
        expect_error(doc, &env, &what, &ev, 400, "invalid_scope").await;
    }

    // invalid_client.
    let wrong = Some(("app", "not the secret"));
    let invalid_client: Vec<(&str, Value)> = vec![
        ("no client", event("oauth-token-no-client")),
        ("a wrong secret", token(&password(&[]), wrong)),
        (
            "an unknown client",
            token(&password(&[]), Some(("nobody", "x"))),
        ),
        (
            "a disabled client",
            token(&password(&[]), Some(("off", &c.off))),
        ),
        (
            "a public client with a secret",
            token(&password(&[]), Some(("spa", "x"))),
        ),
        (
            "a confidential client's id alone",
            token(
                &[("grant_type", "client_credentials"), ("client_id", "app")],
                None,
            ),
        ),
        (
            "a wrong client_secret_post",
            token(
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "app"),
                    ("client_secret", "not the secret"),
                ],
                None,
            ),
        ),
        (
            "a Basic header that is not base64",
            with_header(
                token(&password(&[]), None),
                "authorization",
                "Basic !!not base64!!",
            ),
        ),
        (
            "a Basic header without a colon",
            with_header(
                token(&password(&[]), None),
                "authorization",
                &format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("app")
                ),
            ),
        ),
        (
            "a client_secret without client_id",
            token(
                &[
                    ("grant_type", "client_credentials"),
                    ("client_secret", &c.app),
                ],
                None,
            ),
        ),
    ];
    for (what, ev) in &invalid_client {
        let what = format!("token endpoint with {what}");
        let r = expect_error(doc, &env, &what, ev, 401, "invalid_client").await;
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Basic realm="token-issuer""#),
            "{what}"
        );
    }

    // A locked username: invalid_grant with Retry-After, the right password too.
    env.add_user("bob", PASSWORD, |_| {}).await;
    let bob = |pw: &'static str| {
        token(
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", pw),
            ],
            c.app(),
        )
    };
    for i in 1..=10 {
        let what = format!("bob's wrong password {i} of 10");
        let r = expect_error(
            doc,
            &env,
            &what,
            &bob("wrong password"),
            400,
            "invalid_grant",
        )
        .await;
        assert_eq!(r.header("retry-after"), None, "{what}");
    }
    let what = "bob's right password while locked";
    let r = expect_error(doc, &env, what, &bob(PASSWORD), 400, "invalid_grant").await;
    assert_eq!(r.header("retry-after"), Some("60"), "{what}");
    assert_eq!(r.json()["error_description"], "Too many failed attempts");
}

/// `POST /oauth2/revoke` and `POST /oauth2/introspect`.
async fn oauth_revoke_and_introspect(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let c = Clients::register(&env).await;
    let revoke = |pairs: &[(&str, &str)], client: Option<(&str, &str)>| {
        oauth_event("oauth-revoke", pairs, client)
    };
    let introspect = |token: &str, client: Option<(&str, &str)>| {
        oauth_event("oauth-introspect", &[("token", token)], client)
    };
    let app = ("app", c.app.as_str());
    let grant = oauth_password_grant(doc, &env, app, "openid profile").await;
    let access = grant["access_token"].as_str().unwrap().to_string();
    let refresh = grant["refresh_token"].as_str().unwrap().to_string();
    let r = expect(
        doc,
        &env,
        "client_credentials for introspection",
        &oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials")],
            c.svc(),
        ),
        200,
    )
    .await;
    let service = r.json()["access_token"].as_str().unwrap().to_string();
    let v2 = expect(doc, &env, "a v2 log in", &event("v2-login"), 200).await;
    let v2_access = v2.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();

    // Active: an access token of a user, of a client, of a vendor dialect,
    // and a refresh token; client_secret_basic and client_secret_post.
    let what = "introspect a user's access token";
    let r = expect(doc, &env, what, &introspect(&access, c.app()), 200).await;
    let body = r.json();
    assert_eq!(body["active"], true, "{what}");
    assert_eq!(body["sub"], env.admin.id.to_string());
    assert_eq!(body["username"], "admin");
    assert_eq!(body["client_id"], "app");
    assert_eq!(body["scope"], "openid profile");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["aud"], "test-audience");
    let what = "introspect a client_credentials token, client_secret_post";
    let ev = oauth_event(
        "oauth-introspect",
        &[
            ("token", &service),
            ("client_id", "app"),
            ("client_secret", &c.app),
        ],
        None,
    );
    let r = expect(doc, &env, what, &ev, 200).await;
    assert_eq!(r.json()["active"], true, "{what}");
    assert_eq!(r.json()["sub"], "svc", "{what}");
    let what = "introspect a v2 access token";
    let r = expect(doc, &env, what, &introspect(&v2_access, c.svc()), 200).await;
    assert_eq!(r.json()["active"], true, "{what}");
    assert_eq!(r.json()["username"], "admin", "{what}");
    let what = "introspect a refresh token, with a hint";
    let ev = oauth_event(
        "oauth-introspect",
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
        c.app(),
    );
    let r = expect(doc, &env, what, &ev, 200).await;
    assert_eq!(r.json()["active"], true, "{what}");
    assert_eq!(r.json()["token_type"], "refresh_token", "{what}");
    for garbage in ["not a token", "a.b.c", &"A".repeat(64)] {
        let what = format!("introspect {garbage:.20}");
        let r = expect(doc, &env, &what, &introspect(garbage, c.app()), 200).await;
        assert_eq!(r.json(), json!({"active": false}), "{what}");
    }

    // Revoke: garbage and another client's tokens change nothing.
    for (what, ev) in [
        ("garbage", revoke(&[("token", "not a token")], c.app())),
        (
            "another client's access token",
            revoke(&[("token", &access)], c.svc()),
        ),
        (
            "another client's refresh token, a public client",
            revoke(&[("token", &refresh), ("client_id", "spa")], None),
        ),
    ] {
        let what = format!("revoke {what}");
        expect(doc, &env, &what, &ev, 200).await;
    }
    let r = expect(
        doc,
        &env,
        "still active",
        &introspect(&access, c.app()),
        200,
    )
    .await;
    assert_eq!(r.json()["active"], true);

    // Revoking the access token ends its family, refresh token included.
    let what = "revoke a user's access token, client_secret_post";
    let ev = revoke(
        &[
            ("token", &access),
            ("token_type_hint", "access_token"),
            ("client_id", "app"),
            ("client_secret", &c.app),
        ],
        None,
    );
    expect(doc, &env, what, &ev, 200).await;
    for (what, t) in [("access", &access), ("refresh", &refresh)] {
        let what = format!("introspect the revoked {what} token");
        let r = expect(doc, &env, &what, &introspect(t, c.app()), 200).await;
        assert_eq!(r.json(), json!({"active": false}), "{what}");
    }
    // A client_credentials token is revoked by itself.
    let what = "revoke a client_credentials token";
    expect(
        doc,
        &env,
        what,
        &revoke(&[("token", &service)], c.svc()),
        200,
    )
    .await;
    let r = expect(doc, &env, what, &introspect(&service, c.app()), 200).await;
    assert_eq!(r.json(), json!({"active": false}), "{what}");
    // A refresh token, with the hint.
    let grant = oauth_password_grant(doc, &env, app, "openid").await;
    let refresh = grant["refresh_token"].as_str().unwrap();
    let ev = revoke(
        &[("token", refresh), ("token_type_hint", "refresh_token")],
        c.app(),
    );
    expect(doc, &env, "revoke a refresh token", &ev, 200).await;
    let ev = oauth_event(
        "oauth-token-refresh",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        c.app(),
    );
    expect_error(
        doc,
        &env,
        "refresh a revoked token",
        &ev,
        400,
        "invalid_grant",
    )
    .await;

    // Refusals of both routes.
    for (route, ok) in [("oauth-revoke", "x"), ("oauth-introspect", "x")] {
        let base = |pairs: &[(&str, &str)], client: Option<(&str, &str)>| {
            oauth_event(route, pairs, client)
        };
        let invalid_request: Vec<(&str, Value)> = vec![
            ("no token", base(&[], c.app())),
            ("an empty token", base(&[("token", "")], c.app())),
            (
                "token twice",
                base(&[("token", ok), ("token", ok)], c.app()),
            ),
            (
                "token_type_hint twice",
                base(
                    &[
                        ("token", ok),
                        ("token_type_hint", "a"),
                        ("token_type_hint", "b"),
                    ],
                    c.app(),
                ),
            ),
            (
                "Basic and client_secret",
                base(&[("token", ok), ("client_secret", &c.app)], c.app()),
            ),
            (
                "Content-Type application/json",
                with_header(
                    base(&[("token", ok)], c.app()),
                    "content-type",
                    "application/json",
                ),
            ),
            (
                "no Content-Type",
                without_header(base(&[("token", ok)], c.app()), "content-type"),
            ),
        ];
        for (what, ev) in &invalid_request {
            let what = format!("events/{route}.json with {what}");
            expect_error(doc, &env, &what, ev, 400, "invalid_request").await;
        }
        let mut invalid_client: Vec<(&str, Value)> = vec![
            ("no client", base(&[("token", ok)], None)),
            (
                "a wrong secret",
                base(&[("token", ok)], Some(("app", "not the secret"))),
            ),
            (
                "a disabled client",
                base(&[("token", ok)], Some(("off", &c.off))),
            ),
            ("the placeholder secret", event(route)),
        ];
        if route == "oauth-introspect" {
            invalid_client.push((
                "a public client",
                base(&[("token", ok), ("client_id", "spa")], None),
            ));
        }
        for (what, ev) in &invalid_client {
            let what = format!("events/{route}.json with {what}");
            let r = expect_error(doc, &env, &what, ev, 401, "invalid_client").await;
            assert_eq!(
                r.header("www-authenticate"),
                Some(r#"Basic realm="token-issuer""#),
                "{what}"
            );
        }
    }
}

/// `GET` and `POST /oauth2/userinfo`.
async fn oauth_userinfo(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let c = Clients::register(&env).await;
    let app = ("app", c.app.as_str());
    let openid = oauth_password_grant(doc, &env, app, "openid profile email").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let api = oauth_password_grant(doc, &env, app, "api:read").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = expect(
        doc,
        &env,
        "client_credentials for userinfo",
        &oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials")],
            c.svc(),
        ),
        200,
    )
    .await;
    let service = r.json()["access_token"].as_str().unwrap().to_string();
    let v2 = expect(doc, &env, "a v2 log in", &event("v2-login"), 200).await;
    let v2_access = v2.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = |t: &str| format!("Bearer {t}");
    let expected = json!({
        "sub": env.admin.id.to_string(),
        "preferred_username": "admin",
        "name": "Admin",
        "email": "admin@admin",
    });

    let mut with_token = userinfo_get(Some(&bearer(&openid)));
    with_token["requestContext"]["http"]["method"] = json!("POST");
    for (what, ev) in [
        (
            "GET with a bearer token",
            userinfo_get(Some(&bearer(&openid))),
        ),
        (
            "GET with a lower-case scheme",
            userinfo_get(Some(&format!("bearer {openid}"))),
        ),
        (
            "POST with access_token in the form",
            userinfo_post(&[("access_token", &openid)], None),
        ),
        ("POST with a bearer token and no body", with_token),
        (
            "POST with a bearer token and a form",
            userinfo_post(&[("unknown", "x")], Some(&openid)),
        ),
    ] {
        let what = format!("userinfo {what}");
        let r = expect(doc, &env, &what, &ev, 200).await;
        assert_eq!(r.json(), expected, "{what}");
    }

    const NO_TOKEN: &str = r#"Bearer realm="token-issuer""#;
    const INVALID: &str = r#"Bearer realm="token-issuer", error="invalid_token""#;
    let json_body = with_header(
        with_body(userinfo_post(&[], None), r#"{"access_token":"x"}"#),
        "content-type",
        "application/json",
    );
    let mut unauthorized: Vec<(String, Value, &str, &str)> = vec![];
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some("Basic eDp5"),
        Some("OpsToken x"),
    ] {
        unauthorized.push((
            format!("GET with Authorization {auth:?}"),
            userinfo_get(auth),
            "invalid_request",
            NO_TOKEN,
        ));
    }
    for (what, ev) in [
        ("POST with an empty form", userinfo_post(&[], None)),
        (
            "POST with an empty access_token",
            userinfo_post(&[("access_token", "")], None),
        ),
        ("POST with a JSON body", json_body),
        (
            "POST without a Content-Type",
            without_header(
                userinfo_post(&[("access_token", &openid)], None),
                "content-type",
            ),
        ),
    ] {
        unauthorized.push((what.to_string(), ev, "invalid_request", NO_TOKEN));
    }
    let other_issuer = {
        let ev = userinfo_get(Some(&bearer(&openid)));
        let mut ev = with_header(ev, "host", "other.example.com");
        ev["requestContext"]["domainName"] = json!("other.example.com");
        ev
    };
    for (what, ev) in [
        (
            "GET with a garbage token",
            userinfo_get(Some("Bearer not-a-token")),
        ),
        (
            "GET with a refresh-token-shaped string",
            userinfo_get(Some(&bearer(&"A".repeat(64)))),
        ),
        ("GET from another issuer", other_issuer),
        (
            "POST with a garbage access_token",
            userinfo_post(&[("access_token", "a.b.c")], None),
        ),
    ] {
        unauthorized.push((what.to_string(), ev, "invalid_token", INVALID));
    }
    for (what, ev, error, challenge) in &unauthorized {
        let what = format!("userinfo {what}");
        let r = if *error == "invalid_request" {
            // No token: the challenge alone, no error information (RFC 6750 §3.1).
            let r = expect(doc, &env, &what, ev, 401).await;
            assert!(r.body.is_empty(), "{what}: {}", r.text());
            r
        } else {
            expect_error(doc, &env, &what, ev, 401, error).await
        };
        assert_eq!(r.header("www-authenticate"), Some(*challenge), "{what}");
    }

    for (what, ev) in [
        ("GET without openid", userinfo_get(Some(&bearer(&api)))),
        (
            "GET with a client_credentials token",
            userinfo_get(Some(&bearer(&service))),
        ),
        (
            "GET with a v2 access token",
            userinfo_get(Some(&bearer(&v2_access))),
        ),
        (
            "POST without openid",
            userinfo_post(&[("access_token", &api)], None),
        ),
    ] {
        let what = format!("userinfo {what}");
        let r = expect_error(doc, &env, &what, &ev, 403, "insufficient_scope").await;
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer realm="token-issuer", error="insufficient_scope", scope="openid""#),
            "{what}"
        );
    }

    let what = "userinfo POST with access_token twice";
    let ev = userinfo_post(
        &[("access_token", &openid), ("access_token", &openid)],
        None,
    );
    expect_error(doc, &env, what, &ev, 400, "invalid_request").await;

    // Logging out everywhere ends the token at once.
    env.set_admin_enabled(false).await;
    for (what, ev) in [
        ("GET", userinfo_get(Some(&bearer(&openid)))),
        ("POST", userinfo_post(&[("access_token", &openid)], None)),
    ] {
        let what = format!("userinfo {what} for a disabled user");
        let r = expect_error(doc, &env, &what, &ev, 401, "invalid_token").await;
        assert_eq!(r.header("www-authenticate"), Some(INVALID), "{what}");
    }
    env.set_admin_enabled(true).await;
    let what = "userinfo for a re-enabled user's old token";
    let r = expect_error(
        doc,
        &env,
        what,
        &userinfo_get(Some(&bearer(&openid))),
        401,
        "invalid_token",
    )
    .await;
    assert_eq!(r.header("www-authenticate"), Some(INVALID), "{what}");
}

/// The issuer of the events' domain name.
const ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
/// An error redirect for `what`: `error`, a description, `iss`, the state
/// when it was echoable, and no code.
fn assert_error_redirect(what: &str, r: &Reply, error: &str, state: Option<&str>) {
    assert_eq!(r.status, 302, "{what}: {}", r.text());
    assert_eq!(redirect_param(r, "error").as_deref(), Some(error), "{what}");
    assert!(redirect_param(r, "error_description").is_some(), "{what}");
    assert_eq!(redirect_param(r, "state").as_deref(), state, "{what}");
    assert_eq!(redirect_param(r, "iss").as_deref(), Some(ISSUER), "{what}");
    assert_eq!(redirect_param(r, "code"), None, "{what}");
}

/// `GET` and `POST /oauth2/authorize` in each of their answers, and the
/// `authorization_code` grant: success, and every refusal.
async fn oauth_authorization_code(doc: &mut Doc) {
    let env = TestEnv::new().await;
    let web = env
        .add_client("web", false, CODE_FLOW, "openid profile email")
        .await
        .unwrap();
    let other = env
        .add_client("other", false, CODE_FLOW, "openid profile email")
        .await
        .unwrap();
    assert_eq!(
        env.add_client("spa", true, CODE_FLOW, "openid profile")
            .await,
        None
    );
    let pw = env
        .add_client("pw", false, &[GrantType::Password], "openid")
        .await
        .unwrap();
    let off = env
        .add_client("off", false, CODE_FLOW, "openid")
        .await
        .unwrap();
    assert!(env
        .store
        .set_client_enabled(&ClientId::parse("off").unwrap(), false)
        .await
        .unwrap());
    let web_basic = Some(("web", web.as_str()));
    let base = authorization("web");
    const STATE: Option<&str> = Some("af0ifjsldkj");

    // GET: the login page.
    for (what, pairs) in [
        ("a request", base.clone()),
        (
            "login_hint, response_mode=query and prompt=login",
            set(
                set(
                    set(base.clone(), "login_hint", Some("Admin")),
                    "response_mode",
                    Some("query"),
                ),
                "prompt",
                Some("login"),
            ),
        ),
        (
            "no scope, state or nonce",
            set(
                set(set(base.clone(), "scope", None), "state", None),
                "nonce",
                None,
            ),
        ),
        ("a public client", authorization("spa")),
    ] {
        let what = format!("the login page for {what}");
        let r = expect(doc, &env, &what, &authorize_get(&pairs), 200).await;
        assert!(hidden_field(&r.text(), "form_token").is_some(), "{what}");
    }

    // GET: errors for the client, on its redirect URI.
    let long_nonce = "n".repeat(513);
    let long_state = "s".repeat(1025);
    for (what, pairs, error, state) in [
        (
            "no response_type",
            set(base.clone(), "response_type", None),
            "invalid_request",
            STATE,
        ),
        (
            "response_type=token",
            set(base.clone(), "response_type", Some("token")),
            "unsupported_response_type",
            STATE,
        ),
        (
            "no code_challenge",
            set(base.clone(), "code_challenge", None),
            "invalid_request",
            STATE,
        ),
        (
            "a short code_challenge",
            set(base.clone(), "code_challenge", Some("short")),
            "invalid_request",
            STATE,
        ),
        (
            "no code_challenge_method",
            set(base.clone(), "code_challenge_method", None),
            "invalid_request",
            STATE,
        ),
        (
            "code_challenge_method=plain",
            set(base.clone(), "code_challenge_method", Some("plain")),
            "invalid_request",
            STATE,
        ),
        (
            "response_mode=fragment",
            set(base.clone(), "response_mode", Some("fragment")),
            "invalid_request",
            STATE,
        ),
        (
            "a scope the client does not have",
            set(base.clone(), "scope", Some("openid admin")),
            "invalid_scope",
            STATE,
        ),
        (
            "a nonce over 512 bytes",
            set(base.clone(), "nonce", Some(&long_nonce)),
            "invalid_request",
            STATE,
        ),
        (
            "scope twice",
            again(base.clone(), "scope", "openid"),
            "invalid_request",
            STATE,
        ),
        (
            "prompt=none",
            set(base.clone(), "prompt", Some("none")),
            "login_required",
            STATE,
        ),
        (
            "a request object",
            set(base.clone(), "request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "request_not_supported",
            STATE,
        ),
        (
            "a request_uri",
            set(
                base.clone(),
                "request_uri",
                Some("https://app.example.com/r"),
            ),
            "request_uri_not_supported",
            STATE,
        ),
        (
            "a client without the authorization_code grant",
            set(authorization("pw"), "scope", Some("openid")),
            "unauthorized_client",
            STATE,
        ),
        (
            "a state over 1024 bytes",
            set(base.clone(), "state", Some(&long_state)),
            "invalid_request",
            None,
        ),
        (
            "state twice",
            again(base.clone(), "state", "other"),
            "invalid_request",
            None,
        ),
    ] {
        let what = format!("GET /oauth2/authorize with {what}");
        let r = doc.send(&env, &what, &authorize_get(&pairs)).await;
        assert_error_redirect(&what, &r, error, state);
    }

    // GET: an error page, never a redirect.
    let big = format!("{}&pad={}", form(&borrowed(&base)), "x".repeat(8 * 1024));
    for (what, ev) in [
        (
            "no client_id",
            authorize_get(&set(base.clone(), "client_id", None)),
        ),
        (
            "an unknown client",
            authorize_get(&set(base.clone(), "client_id", Some("nobody"))),
        ),
        (
            "a disabled client",
            authorize_get(&set(base.clone(), "client_id", Some("off"))),
        ),
        (
            "client_id twice",
            authorize_get(&again(base.clone(), "client_id", "web")),
        ),
        (
            "no redirect_uri",
            authorize_get(&set(base.clone(), "redirect_uri", None)),
        ),
        (
            "an unregistered redirect_uri",
            authorize_get(&set(
                base.clone(),
                "redirect_uri",
                Some("https://evil.example/callback"),
            )),
        ),
        (
            "a redirect_uri that only starts with the registered one",
            authorize_get(&set(
                base.clone(),
                "redirect_uri",
                Some("https://app.example.com/callback/x"),
            )),
        ),
        (
            "redirect_uri twice",
            authorize_get(&again(
                base.clone(),
                "redirect_uri",
                "https://evil.example/callback",
            )),
        ),
        ("no query", authorize_query("")),
        ("invalid UTF-8", authorize_query("client_id=%ff")),
        ("a query over 8 KiB", authorize_query(&big)),
    ] {
        let what = format!("GET /oauth2/authorize with {what}");
        let r = expect(doc, &env, &what, &ev, 400).await;
        assert!(r.text().contains("Sign-in problem"), "{what}: {}", r.text());
    }

    // POST: sign in.
    let page = expect(doc, &env, "the login page", &authorize_get(&base), 200).await;
    let sign_in = |username: &str, password: &str| login_form(&page, username, password);
    let r = expect(
        doc,
        &env,
        "sign in",
        &authorize_post(&sign_in("Admin", PASSWORD)),
        302,
    )
    .await;
    assert_eq!(redirect_param(&r, "state").as_deref(), STATE);
    assert_eq!(redirect_param(&r, "iss").as_deref(), Some(ISSUER));
    assert_eq!(redirect_param(&r, "error"), None);
    let first_code = redirect_param(&r, "code").expect("a code");
    // GET with the browser session the sign-in started: a code at once.
    let session = r.cookie("__Host-session").expect("a session cookie");
    let mut with_session = authorize_get(&base);
    with_session["cookies"] = serde_json::json!([format!("__Host-session={session}")]);
    let what = "GET /oauth2/authorize with a browser session";
    let r = expect(doc, &env, what, &with_session, 302).await;
    assert!(redirect_param(&r, "code").is_some(), "{what}");
    for (what, fields, error) in [
        (
            "code_challenge_method=plain",
            set(
                sign_in("Admin", PASSWORD),
                "code_challenge_method",
                Some("plain"),
            ),
            "invalid_request",
        ),
        (
            "prompt=none",
            set(sign_in("Admin", PASSWORD), "prompt", Some("none")),
            "login_required",
        ),
    ] {
        let what = format!("POST /oauth2/authorize with {what}");
        let r = doc.send(&env, &what, &authorize_post(&fields)).await;
        assert_error_redirect(&what, &r, error, STATE);
    }

    // POST: the page again, with one message for every failed check.
    for (what, fields) in [
        ("a wrong password", sign_in("Admin", "not the password")),
        ("an unknown user", sign_in("nobody", PASSWORD)),
    ] {
        let what = format!("POST /oauth2/authorize with {what}");
        let r = expect(doc, &env, &what, &authorize_post(&fields), 200).await;
        assert!(
            r.text().contains("Incorrect username or password."),
            "{what}"
        );
        assert!(hidden_field(&r.text(), "form_token").is_some(), "{what}");
    }

    // POST: refused before any password is checked.
    let other_page = expect(
        doc,
        &env,
        "the login page for another state",
        &authorize_get(&set(base.clone(), "state", Some("other"))),
        200,
    )
    .await;
    let other_token = hidden_field(&other_page.text(), "form_token").unwrap();
    let long_password = "p".repeat(1025);
    let post = authorize_post(&sign_in("Admin", PASSWORD));
    let big = format!(
        "{}&pad={}",
        post["body"].as_str().unwrap(),
        "x".repeat(8 * 1024)
    );
    for (what, ev, shows) in [
        (
            "no form_token",
            authorize_post(&set(sign_in("Admin", PASSWORD), "form_token", None)),
            "This sign-in page has expired",
        ),
        (
            "another request's form_token",
            authorize_post(&set(
                sign_in("Admin", PASSWORD),
                "form_token",
                Some(&other_token),
            )),
            "This sign-in page has expired",
        ),
        (
            "a garbage form_token",
            authorize_post(&set(sign_in("Admin", PASSWORD), "form_token", Some("AAAA"))),
            "This sign-in page has expired",
        ),
        (
            "another state than its form_token's",
            authorize_post(&set(sign_in("Admin", PASSWORD), "state", Some("other"))),
            "This sign-in page has expired",
        ),
        (
            "no password",
            authorize_post(&set(sign_in("Admin", PASSWORD), "password", None)),
            "Enter your username and password.",
        ),
        (
            "no username",
            authorize_post(&set(sign_in("Admin", PASSWORD), "username", None)),
            "Enter your username and password.",
        ),
        (
            "a 1025-byte password",
            authorize_post(&sign_in("Admin", &long_password)),
            "Enter your username and password.",
        ),
        (
            "an unknown client",
            authorize_post(&set(
                sign_in("Admin", PASSWORD),
                "client_id",
                Some("nobody"),
            )),
            "Sign-in problem",
        ),
        (
            "an unregistered redirect_uri",
            authorize_post(&set(
                sign_in("Admin", PASSWORD),
                "redirect_uri",
                Some("https://evil.example/callback"),
            )),
            "Sign-in problem",
        ),
        (
            "a JSON body",
            with_header(
                with_body(post.clone(), r#"{"client_id":"web"}"#),
                "content-type",
                "application/json",
            ),
            "Sign-in problem",
        ),
        (
            "no Content-Type",
            without_header(post.clone(), "content-type"),
            "Sign-in problem",
        ),
        (
            "a body over 8 KiB",
            with_body(post.clone(), &big),
            "Sign-in problem",
        ),
        (
            "invalid UTF-8",
            with_bytes(post.clone(), b"client_id=web&username=\xff"),
            "Sign-in problem",
        ),
    ] {
        let what = format!("POST /oauth2/authorize with {what}");
        let r = expect(doc, &env, &what, &ev, 400).await;
        assert!(r.text().contains(shows), "{what}: {}", r.text());
        assert!(r.header("location").is_none(), "{what}");
    }

    // POST: a locked username.
    env.add_user("bob", PASSWORD, |_| {}).await;
    for i in 1..=10 {
        let what = format!("bob's wrong password {i} of 10 on the login page");
        let r = expect(
            doc,
            &env,
            &what,
            &authorize_post(&sign_in("bob", "wrong password")),
            200,
        )
        .await;
        assert_eq!(r.header("retry-after"), None, "{what}");
    }
    let what = "bob's right password on the login page while locked";
    let r = expect(
        doc,
        &env,
        what,
        &authorize_post(&sign_in("bob", PASSWORD)),
        429,
    )
    .await;
    assert_eq!(r.header("retry-after"), Some("60"), "{what}");
    assert!(
        r.text().contains("Too many failed sign-in attempts"),
        "{what}"
    );

    // The token endpoint: the code once, with its verifier, redirect URI
    // and client.
    let redeem = |code: &str, verifier: &str, client: Option<(&str, &str)>| {
        oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
            client,
        )
    };
    let what = "an authorization_code grant, client_secret_basic";
    let r = expect(
        doc,
        &env,
        what,
        &redeem(&first_code, VERIFIER, web_basic),
        200,
    )
    .await;
    let grant = r.json();
    assert_eq!(grant["scope"], "openid profile", "{what}");
    let id_token = grant["id_token"].as_str().expect("an ID token");
    assert_eq!(jwt_claims(id_token)["nonce"], "n-0S6_WzA2Mj", "{what}");
    assert_eq!(jwt_claims(id_token)["aud"], "web", "{what}");
    let first_refresh = grant["refresh_token"].as_str().expect("a refresh token");

    // A new sign-in's code, for `pairs`.
    async fn code_for(doc: &mut Doc, env: &TestEnv, pairs: &Params) -> String {
        let page = expect(doc, env, "a login page", &authorize_get(pairs), 200).await;
        let form = login_form(&page, "Admin", PASSWORD);
        let r = expect(doc, env, "a sign-in", &authorize_post(&form), 302).await;
        redirect_param(&r, "code").expect("a code")
    }
    let code = code_for(doc, &env, &base).await;
    let mut post = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    post.extend([("client_id", "web"), ("client_secret", web.as_str())]);
    let what = "an authorization_code grant, client_secret_post";
    expect(
        doc,
        &env,
        what,
        &oauth_event("oauth-token-authorization-code", &post, None),
        200,
    )
    .await;
    let spa = set(authorization("spa"), "nonce", None);
    let code = code_for(doc, &env, &spa).await;
    let mut public = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    public.push(("client_id", "spa"));
    let what = "an authorization_code grant, a public client, no nonce";
    let r = expect(
        doc,
        &env,
        what,
        &oauth_event("oauth-token-authorization-code", &public, None),
        200,
    )
    .await;
    let id_token = r.json()["id_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_claims(&id_token).get("nonce"), None, "{what}");

    // invalid_grant, one answer for all; none of them uses the code up.
    let code = code_for(doc, &env, &base).await;
    let other_redirect = oauth_event(
        "oauth-token-authorization-code",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
            ("code_verifier", VERIFIER),
        ],
        web_basic,
    );
    let wrong_verifier = "x".repeat(43);
    for (what, ev) in [
        (
            "a wrong code_verifier",
            redeem(&code, &wrong_verifier, web_basic),
        ),
        (
            "a malformed code_verifier",
            redeem(&code, "too-short", web_basic),
        ),
        ("another redirect_uri", other_redirect),
        (
            "another client",
            redeem(&code, VERIFIER, Some(("other", other.as_str()))),
        ),
        ("a garbage code", redeem("not-a-code", VERIFIER, web_basic)),
        (
            "a used code (it revokes what it gave)",
            redeem(&first_code, VERIFIER, web_basic),
        ),
    ] {
        let what = format!("an authorization_code grant with {what}");
        let r = expect_error(doc, &env, &what, &ev, 400, "invalid_grant").await;
        assert_eq!(
            r.json()["error_description"],
            "Invalid, expired or used authorization code, or a redirect URI or code verifier that does not match it",
            "{what}"
        );
    }
    let ev = oauth_event(
        "oauth-token-refresh",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first_refresh),
        ],
        web_basic,
    );
    expect_error(
        doc,
        &env,
        "the refresh token of a code used twice",
        &ev,
        400,
        "invalid_grant",
    )
    .await;

    // invalid_request, unauthorized_client, invalid_client.
    let pairs = |drop: &str| -> Vec<(&str, &str)> {
        [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ]
        .into_iter()
        .filter(|(k, _)| *k != drop)
        .collect()
    };
    let mut twice = pairs("");
    twice.push(("code", code.as_str()));
    for (what, body) in [
        ("no code_verifier", pairs("code_verifier")),
        ("no code", pairs("code")),
        ("no redirect_uri", pairs("redirect_uri")),
        ("code twice", twice),
    ] {
        let what = format!("an authorization_code grant with {what}");
        let ev = oauth_event("oauth-token-authorization-code", &body, web_basic);
        expect_error(doc, &env, &what, &ev, 400, "invalid_request").await;
    }
    let what = "an authorization_code grant by a client without it";
    let ev = redeem(&code, VERIFIER, Some(("pw", pw.as_str())));
    expect_error(doc, &env, what, &ev, 400, "unauthorized_client").await;
    for (what, client) in [
        ("a wrong secret", ("web", "not the secret")),
        ("a disabled client", ("off", off.as_str())),
    ] {
        let what = format!("an authorization_code grant with {what}");
        let ev = redeem(&code, VERIFIER, Some(client));
        expect_error(doc, &env, &what, &ev, 401, "invalid_client").await;
    }
    // After all that, the code still works once.
    let what = "an authorization_code grant after refusals";
    expect(doc, &env, what, &redeem(&code, VERIFIER, web_basic), 200).await;

    // Sixty seconds for a code, fifteen minutes for a login page.
    let late = code_for(doc, &env, &base).await;
    env.clock.advance(time::Duration::seconds(61));
    let what = "an authorization_code grant with an expired code";
    expect_error(
        doc,
        &env,
        what,
        &redeem(&late, VERIFIER, web_basic),
        400,
        "invalid_grant",
    )
    .await;
    env.clock.advance(time::Duration::minutes(15));
    let what = "POST /oauth2/authorize with an expired form_token";
    let r = expect(
        doc,
        &env,
        what,
        &authorize_post(&sign_in("Admin", PASSWORD)),
        400,
    )
    .await;
    assert!(r.text().contains("This sign-in page has expired"), "{what}");
}

/// `/oauth2/logout` in each of its answers, by `GET` and `POST`.
async fn oauth_logout(doc: &mut Doc) {
    use token_issuer::core::record::client::{ClientId, LogoutUris};
    let env = TestEnv::new().await;
    env.add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    let signed_out = "https://app.example.com/signed-out";
    let logout = LogoutUris::parse(&[signed_out.to_string()], None).unwrap();
    env.store
        .set_client_logout(&ClientId::parse("web").unwrap(), &logout)
        .await
        .unwrap();
    let at = |mut ev: Value, session: Option<&str>| {
        ev["rawPath"] = serde_json::json!("/oauth2/logout");
        ev["requestContext"]["http"]["path"] = serde_json::json!("/oauth2/logout");
        if let Some(s) = session {
            ev["cookies"] = serde_json::json!([format!("__Host-session={s}")]);
        }
        ev
    };
    let get =
        |pairs: &[(&str, &str)], session: Option<&str>| at(authorize_query(&form(pairs)), session);
    let post = |pairs: &[(&str, &str)], session: Option<&str>| {
        at(
            with_body(event("oauth-authorize-submit"), &form(pairs)),
            session,
        )
    };
    // A session to end.
    let page = expect(
        doc,
        &env,
        "a login page",
        &authorize_get(&authorization("web")),
        200,
    )
    .await;
    let r = expect(
        doc,
        &env,
        "a sign-in",
        &authorize_post(&login_form(&page, "admin", PASSWORD)),
        302,
    )
    .await;
    let session = r.cookie("__Host-session").expect("a session cookie");
    let back = [
        ("client_id", "web"),
        ("post_logout_redirect_uri", signed_out),
        ("state", "af0ifjsldkj"),
    ];
    for (what, ev) in [
        ("GET with no session", get(&[], None)),
        ("POST with no session", post(&[], None)),
        ("GET without a hint", get(&back, Some(&session))),
    ] {
        let r = expect(doc, &env, &format!("log out {what}"), &ev, 200).await;
        assert!(r.header("location").is_none(), "{what}");
    }
    let what = "log out POST without a hint";
    let r = expect(doc, &env, what, &post(&back, Some(&session)), 200).await;
    let token = hidden_field(&r.text(), "form_token").expect("a form token");
    for (what, ev) in [
        (
            "GET, an unregistered URI",
            get(
                &[
                    ("client_id", "web"),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                ],
                None,
            ),
        ),
        (
            "POST, an unknown client",
            post(&[("client_id", "nobody")], None),
        ),
    ] {
        let r = expect(doc, &env, &format!("log out {what}"), &ev, 400).await;
        assert!(r.header("location").is_none(), "{what}");
    }
    let mut confirmed: Vec<(&str, &str)> = back.to_vec();
    confirmed.extend([("confirm", "yes"), ("form_token", token.as_str())]);
    let what = "log out POST, confirmed";
    let r = expect(doc, &env, what, &post(&confirmed, Some(&session)), 302).await;
    assert_eq!(redirect_param(&r, "state").as_deref(), Some("af0ifjsldkj"));
    let what = "log out GET, nothing left to end";
    expect(doc, &env, what, &get(&back, Some(&session)), 302).await;
    let broken = TestEnv::without_tables().await;
    let what = "log out POST without tables";
    expect(doc, &broken, what, &post(&back, None), 500).await;
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
        // The client lookup fails first.
        "oauth-token-password",
        "oauth-token-refresh",
        "oauth-token-client-credentials",
        "oauth-revoke",
        "oauth-introspect",
        "oauth-authorize",
        "oauth-authorize-submit",
        "oauth-token-authorization-code",
        "oauth-logout",
    ] {
        let ev = if name.starts_with("oauth-") {
            substitute_oauth(&event(name), "REPLACE_WITH_REFRESH_TOKEN", &refresh)
        } else {
            substitute(&event(name), "REPLACE_WITH_REFRESH_TOKEN", &refresh)
        };
        let ev = substitute(&ev, "REPLACE_WITH_OPS_TOKEN", &ops);
        let what = format!("events/{name}.json without tables");
        let r = doc.send(&broken, &what, &ev).await;
        assert_eq!(r.status, 500, "{what}: {}", r.text());
    }
    let ev = crate::device::at(
        oauth_event("oauth-token-password", &[("client_id", "tv")], None),
        "/oauth2/device_authorization",
    );
    let what = "device authorization without tables";
    let r = doc.send(&broken, what, &ev).await;
    assert_eq!(r.status, 500, "{what}: {}", r.text());
    // Userinfo reads storage only for a token that verifies: mint one, then
    // take the tables away.
    let secret = live
        .add_client("app", false, &GrantType::ALL, "openid")
        .await
        .unwrap();
    let grant = oauth_password_grant(doc, &live, ("app", &secret), "openid").await;
    let access = grant["access_token"].as_str().unwrap();
    let refresh = grant["refresh_token"].as_str().unwrap();
    for table in [
        &live.config.store.users_table,
        &live.config.store.tokens_table,
    ] {
        live.store
            .client()
            .delete_table()
            .table_name(table)
            .send()
            .await
            .expect("delete a table");
    }
    for (what, ev) in [
        (
            "GET userinfo",
            userinfo_get(Some(&format!("Bearer {access}"))),
        ),
        (
            "POST userinfo",
            userinfo_post(&[("access_token", access)], None),
        ),
        (
            "a refresh grant",
            oauth_event(
                "oauth-token-refresh",
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
                Some(("app", &secret)),
            ),
        ),
        (
            "introspection",
            oauth_event(
                "oauth-introspect",
                &[("token", access)],
                Some(("app", &secret)),
            ),
        ),
    ] {
        let what = format!("{what} after the tables are gone");
        let r = doc.send(&live, &what, &ev).await;
        assert_eq!(r.status, 500, "{what}: {}", r.text());
    }
    for name in ["jwks", "openid-configuration", "oauth-authorization-server"] {
        let what = format!("events/{name}.json without tables");
        let r = doc.send(&broken, &what, &event(name)).await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
    }
}

/// Dynamic registration under each policy that has the endpoint.
async fn oauth_register(doc: &mut Doc) {
    use token_issuer::core::record::registration::{InitialAccessToken, RegistrationPolicy};
    let env = TestEnv::with_config(|c| {
        c.registration.policy = RegistrationPolicy::Public;
        c.registration.per_address_hourly = 3;
    })
    .await;
    let body = |b: serde_json::Value| with_body(event("oauth-register"), &b.to_string());
    let r = expect(
        doc,
        &env,
        "events/oauth-register.json, public",
        &event("oauth-register"),
        201,
    )
    .await;
    assert!(r.json()["client_id"]
        .as_str()
        .is_some_and(|c| c.starts_with("dyn-")));
    let bad_uri = body(json!({"redirect_uris": ["http://app.example/cb"]}));
    expect_error(
        doc,
        &env,
        "a registration with an http redirect URI",
        &bad_uri,
        400,
        "invalid_redirect_uri",
    )
    .await;
    let bad_grant = body(json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["password"]}));
    expect_error(
        doc,
        &env,
        "a registration asking for the password grant",
        &bad_grant,
        400,
        "invalid_client_metadata",
    )
    .await;
    let r = expect_error(
        doc,
        &env,
        "a fourth registration in the hour",
        &event("oauth-register"),
        429,
        "too_many_requests",
    )
    .await;
    assert!(r.header("retry-after").is_some());

    let env = TestEnv::with_config(|c| c.registration.policy = RegistrationPolicy::Token).await;
    let now = env.app.issuer().now();
    let (record, token) =
        InitialAccessToken::issue(None, now, now + time::Duration::days(1)).unwrap();
    env.store
        .create_initial_access_token(&record)
        .await
        .unwrap();
    expect_error(
        doc,
        &env,
        "a registration without an initial access token",
        &event("oauth-register"),
        401,
        "invalid_token",
    )
    .await;
    let machine = with_header(
        body(json!({"grant_types": ["client_credentials"], "scope": "profile"})),
        "authorization",
        &format!("Bearer {}", secrecy::ExposeSecret::expose_secret(&token)),
    );
    let r = expect(
        doc,
        &env,
        "a confidential client registered with a token",
        &machine,
        201,
    )
    .await;
    assert!(r.json()["client_secret"].is_string());

    let broken =
        TestEnv::without_tables_with(|c| c.registration.policy = RegistrationPolicy::Public).await;
    let r = doc
        .send(
            &broken,
            "events/oauth-register.json without tables",
            &event("oauth-register"),
        )
        .await;
    assert_eq!(r.status, 500, "{}", r.text());
}

/// A third-party client's consent page, allowed and denied.
async fn consent_pages(doc: &mut Doc) {
    use token_issuer::core::record::registration::RegistrationPolicy;
    let env = TestEnv::with_config(|c| c.registration.policy = RegistrationPolicy::Public).await;
    let body = json!({"client_name": "Agent", "redirect_uris": [REDIRECT_URI]});
    let r = expect(
        doc,
        &env,
        "a third party registers",
        &with_body(event("oauth-register"), &body.to_string()),
        201,
    )
    .await;
    let client = r.json()["client_id"].as_str().unwrap().to_string();
    env.add_user("bob", PASSWORD, |_| {}).await;
    // Each user once: an allowance is remembered.
    for (choice, user) in [("allow", "Admin"), ("deny", "bob")] {
        let page = expect(
            doc,
            &env,
            "a third party's login page",
            &authorize_get(&authorization(&client)),
            200,
        )
        .await;
        let consent = expect(
            doc,
            &env,
            "a sign-in for a third party: the consent page",
            &authorize_post(&login_form(&page, user, PASSWORD)),
            200,
        )
        .await;
        let cookie = consent.cookie("__Host-session").unwrap();
        let mut fields = hidden_fields(&consent.text());
        fields.push(("consent", choice.into()));
        let mut ev = authorize_post(&fields);
        ev["cookies"] = json!([format!("__Host-session={cookie}")]);
        let r = expect(doc, &env, &format!("the consent page's {choice}"), &ev, 302).await;
        let expected = if choice == "allow" {
            None
        } else {
            Some("access_denied".to_string())
        };
        assert_eq!(redirect_param(&r, "error"), expected);
    }
}

/// `resource` (RFC 8707) at the token endpoint and at authorize.
async fn resource_indicators(doc: &mut Doc) {
    use token_issuer::core::record::client::Scopes;
    use token_issuer::core::record::resource::{Resource, ResourceUri};
    let env = TestEnv::new().await;
    let uri = "https://mcp.example.com/mcp";
    env.store
        .create_resource(&Resource {
            uri: ResourceUri::parse(uri).unwrap(),
            scopes: Scopes::parse("mcp:tools").unwrap(),
            created_at: START,
        })
        .await
        .unwrap();
    let secret = env
        .add_client("svc", false, &[GrantType::ClientCredentials], "mcp:tools")
        .await
        .unwrap();
    let cc = |resource: &str| {
        oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials"), ("resource", resource)],
            Some(("svc", &secret)),
        )
    };
    expect(doc, &env, "a token for a resource", &cc(uri), 200).await;
    expect_error(
        doc,
        &env,
        "a token for an unknown resource",
        &cc("https://unknown.example/"),
        400,
        "invalid_target",
    )
    .await;
    env.add_client("web", false, CODE_FLOW, "openid profile mcp:tools")
        .await;
    let r = expect(
        doc,
        &env,
        "an authorization for an unknown resource",
        &authorize_get(&set(
            authorization("web"),
            "resource",
            Some("https://unknown.example/"),
        )),
        302,
    )
    .await;
    assert_eq!(
        redirect_param(&r, "error").as_deref(),
        Some("invalid_target")
    );
}

/// Every documented route answers, in every framing; other methods get 405
/// and other paths 404.
async fn routes(doc: &mut Doc) {
    // With the registration endpoint there: `off` answers 404 by design.
    let env = TestEnv::with_config(|c| {
        c.registration.policy =
            token_issuer::core::record::registration::RegistrationPolicy::Public;
    })
    .await;
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
        "/oauth2",
        "/oauth2/",
        "/oauth2/tokens",
        "/.well-known/openid-configuration.json",
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

/// The device grant (RFC 8628): codes, the device page, its question, the
/// callback, the polls.
async fn device(doc: &mut Doc) {
    use crate::device::{at, page_event, question, DEVICE_GRANTS};
    let env = TestEnv::new().await;
    env.add_client("tv", true, DEVICE_GRANTS, "openid profile")
        .await;
    env.add_client("web", true, CODE_FLOW, "openid").await;
    let start = |client: &str| {
        at(
            oauth_event("oauth-token-password", &[("client_id", client)], None),
            "/oauth2/device_authorization",
        )
    };
    let r = expect(doc, &env, "device authorization", &start("tv"), 200).await;
    let device_code = r.json()["device_code"].as_str().unwrap().to_string();
    let user_code = r.json()["user_code"].as_str().unwrap().to_string();
    expect(
        doc,
        &env,
        "device authorization, no such grant",
        &start("web"),
        400,
    )
    .await;
    expect(
        doc,
        &env,
        "device authorization, unknown client",
        &start("nobody"),
        401,
    )
    .await;
    let poll = oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", &device_code),
            ("client_id", "tv"),
        ],
        None,
    );
    let r = expect(doc, &env, "a device's poll, pending", &poll, 400).await;
    assert_eq!(r.json()["error"], "authorization_pending");
    let query = format!("user_code={user_code}");
    let page = page_event("GET", "/oauth2/device", &query, None, None);
    expect(doc, &env, "the device page", &page, 200).await;
    let typed = |code: &str, ip: &str| {
        let mut ev = page_event(
            "POST",
            "/oauth2/device",
            "",
            Some(&form(&[("user_code", code)])),
            None,
        );
        ev["requestContext"]["http"]["sourceIp"] = json!(ip);
        ev
    };
    let r = expect(
        doc,
        &env,
        "the device page, a code typed",
        &typed(&user_code, "198.51.100.9"),
        200,
    )
    .await;
    let (fields, cookie) = question(&r);
    expect(
        doc,
        &env,
        "the device page, a wrong code",
        &typed("BBBB-BBBB", "198.51.100.9"),
        400,
    )
    .await;
    for _ in 0..8 {
        doc.send(
            &env,
            "the device page, guessing",
            &typed("BBBB-BBBB", "198.51.100.9"),
        )
        .await;
    }
    expect(
        doc,
        &env,
        "the device page, past the limit",
        &typed("BBBB-BBBB", "198.51.100.9"),
        429,
    )
    .await;
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("answer", "continue"));
    let with_cookie = format!("__Host-device-request={cookie}");
    let ev = page_event(
        "POST",
        "/oauth2/device",
        "",
        Some(&form(&pairs)),
        Some(&with_cookie),
    );
    let r = expect(doc, &env, "the device question, continue", &ev, 302).await;
    let back = crate::device::sign_in(&env, &r).await;
    let callback =
        |cookie: Option<&str>| page_event("GET", "/oauth2/device/callback", &back, None, cookie);
    expect(
        doc,
        &env,
        "the device callback, another browser",
        &callback(None),
        400,
    )
    .await;
    expect(
        doc,
        &env,
        "the device callback",
        &callback(Some(&with_cookie)),
        200,
    )
    .await;
}

/// DPoP (RFC 9449): bound tokens at the token endpoint, introspection and
/// userinfo, the proofs refused and the nonce challenge.
async fn dpop(doc: &mut Doc) {
    use crate::dpop::{with_proof, Key, TOKEN_URL, USERINFO_URL};
    use token_issuer::core::clock::Clock as _;
    let env = TestEnv::new().await;
    let c = Clients::register(&env).await;
    let now = env.clock.now();
    let key = Key::new();
    let grant = |proof: &str| {
        with_proof(
            oauth_event(
                "oauth-token-password",
                &password(&[("scope", "openid profile")]),
                c.app(),
            ),
            proof,
        )
    };
    let r = expect(
        doc,
        &env,
        "a DPoP-bound password grant",
        &grant(&key.proof("POST", TOKEN_URL, now)),
        200,
    )
    .await;
    assert_eq!(r.json()["token_type"], "DPoP");
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    let what = "a DPoP proof for another URL";
    let r = expect(
        doc,
        &env,
        what,
        &grant(&key.proof("POST", USERINFO_URL, now)),
        400,
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_dpop_proof", "{what}");
    let what = "introspect a DPoP-bound token";
    let ev = oauth_event("oauth-introspect", &[("token", &token)], c.app());
    let r = expect(doc, &env, what, &ev, 200).await;
    assert_eq!(r.json()["cnf"]["jkt"], key.jkt(), "{what}");
    let dpop_userinfo =
        |proof: &str| with_proof(userinfo_get(Some(&format!("DPoP {token}"))), proof);
    let proof = key.resource_proof("GET", USERINFO_URL, &token, now);
    expect(
        doc,
        &env,
        "userinfo with a DPoP-bound token and its proof",
        &dpop_userinfo(&proof),
        200,
    )
    .await;
    let what = "userinfo with the same proof again";
    let r = expect(doc, &env, what, &dpop_userinfo(&proof), 401).await;
    assert_eq!(r.json()["error"], "invalid_dpop_proof", "{what}");
    let what = "userinfo with a DPoP-bound token as a bearer token";
    let r = expect(
        doc,
        &env,
        what,
        &userinfo_get(Some(&format!("Bearer {token}"))),
        401,
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_token", "{what}");

    let env = TestEnv::with_config(|c| c.dpop_nonces = true).await;
    let c = Clients::register(&env).await;
    let what = "a DPoP proof without the server's nonce";
    let ev = with_proof(
        oauth_event("oauth-token-password", &password(&[]), c.app()),
        &key.proof("POST", TOKEN_URL, now),
    );
    let r = expect(doc, &env, what, &ev, 400).await;
    assert_eq!(r.json()["error"], "use_dpop_nonce", "{what}");
    assert!(r.header("dpop-nonce").is_some(), "{what}");
}

#[test]
fn openapi_yaml_examples_match_their_schemas() {
    Doc::new().check_examples();
}

#[tokio::test]
async fn openapi_yaml_matches_the_handler() {
    let mut doc = Doc::new();
    Box::pin(event_files(&mut doc)).await;
    Box::pin(invalid_requests(&mut doc)).await;
    Box::pin(too_many_attempts(&mut doc)).await;
    Box::pin(password_change(&mut doc)).await;
    Box::pin(oauth_token(&mut doc)).await;
    Box::pin(oauth_revoke_and_introspect(&mut doc)).await;
    Box::pin(oauth_userinfo(&mut doc)).await;
    Box::pin(oauth_authorization_code(&mut doc)).await;
    // Boxed: its future beside the others overflowed the test thread in a debug build.
    Box::pin(oauth_logout(&mut doc)).await;
    Box::pin(server_errors(&mut doc)).await;
    Box::pin(oauth_register(&mut doc)).await;
    Box::pin(resource_indicators(&mut doc)).await;
    Box::pin(consent_pages(&mut doc)).await;
    Box::pin(dpop(&mut doc)).await;
    Box::pin(device(&mut doc)).await;
    Box::pin(routes(&mut doc)).await;

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
