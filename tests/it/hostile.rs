//! Property: arbitrary bodies, headers, paths and methods sent through the real
//! handler (DynamoDB Local behind it) never yield a 5xx, a panic or a token.

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};
use token_issuer::http::routes::ROUTES;

/// Every route of the table, and two paths that are not routes.
fn paths() -> Vec<&'static str> {
    let mut paths: Vec<&str> = ROUTES.iter().map(|r| r.path).collect();
    paths.dedup();
    paths.extend(["/api/v2/auth/token/", "/"]);
    paths
}

const KEYS: &[&str] = &[
    "username",
    "userName",
    "password",
    "authSource",
    "refreshToken",
    "accessToken",
    "x",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("admin".to_string()),
        Just("Admin".to_string()),
        Just(String::new()),
        Just("wrong password".to_string()),
        Just("A".repeat(64)),
        Just("p".repeat(1025)),
        ".{0,40}",
        "[A-Za-z0-9+/=_-]{40,70}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        any::<f64>().prop_map(|f| json!(f)),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[derive(Debug, Clone)]
enum BodyKind {
    Object(Vec<(usize, Value)>),
    Raw(Vec<u8>),
    Json(Value),
}

fn body() -> impl Strategy<Value = BodyKind> {
    prop_oneof![
        4 => prop::collection::vec((0..KEYS.len(), value()), 0..5).prop_map(BodyKind::Object),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(BodyKind::Raw),
        1 => value().prop_map(BodyKind::Json),
    ]
}

fn header() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_string())),
        Just(Some("application/json; charset=utf-8".to_string())),
        Just(Some("OpsToken ".to_string() + &"A".repeat(43))),
        "[ -~]{0,60}".prop_map(Some),
    ]
}

fn case() -> impl Strategy<Value = (usize, usize, BodyKind, Option<String>, Option<String>, bool)> {
    (
        0..paths().len(),
        // Mostly the methods routes take, so cases get past routing.
        prop_oneof![6 => Just(0usize), 3 => Just(1usize), 1 => 2..5usize],
        body(),
        prop_oneof![4 => Just(Some("application/json".to_string())), 1 => header()],
        header(),
        any::<bool>(),
    )
}

fn build(c: &(usize, usize, BodyKind, Option<String>, Option<String>, bool)) -> Value {
    let (path, method, body, content_type, authorization, base64) = c;
    let method = ["POST", "GET", "PUT", "DELETE", "OPTIONS"][*method];
    let bytes = match body {
        BodyKind::Object(kv) => {
            let map: Map<String, Value> = kv
                .iter()
                .map(|(k, v)| (KEYS[*k].to_string(), v.clone()))
                .collect();
            Value::Object(map).to_string().into_bytes()
        }
        BodyKind::Raw(b) => b.clone(),
        BodyKind::Json(v) => v.to_string().into_bytes(),
    };
    let mut ev = event("not-found");
    let paths = paths();
    ev["rawPath"] = json!(paths[*path]);
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["requestContext"]["http"]["path"] = json!(paths[*path]);
    let mut ev = match (*base64, String::from_utf8(bytes.clone())) {
        (false, Ok(text)) => with_body(ev, &text),
        _ => with_bytes(ev, &bytes),
    };
    if let Some(ct) = content_type {
        ev = with_header(ev, "content-type", ct);
    }
    if let Some(auth) = authorization {
        ev = with_header(ev, "authorization", auth);
    }
    ev
}

fn holds_a_token(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let text = v.to_string();
    text.contains("eyJ")
        || ["token", "refreshToken", "accessToken"]
            .iter()
            .any(|k| v[k].is_string() || v["content"][0][k].is_string())
}

#[test]
fn arbitrary_requests_never_give_5xx_or_tokens() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // With dynamic registration open, so its decoder and rules are fuzzed
    // too (it is off, a 404, by default).
    let env = rt.block_on(TestEnv::with_config(|c| {
        c.registration.policy =
            token_issuer::core::record::registration::RegistrationPolicy::Public;
        c.registration.per_address_hourly = 100_000;
    }));
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::new());
    runner
        .run(&case(), |c| {
            let ev = build(&c);
            let r = rt.block_on(env.call(&ev));
            *statuses.borrow_mut().entry(r.status).or_insert(0) += 1;
            prop_assert!(r.status < 500, "{} for {ev}", r.status);
            prop_assert!(!holds_a_token(&r.body), "a token for {ev}: {}", r.text());
            Ok(())
        })
        .unwrap();
    println!("hostile: 400 cases, statuses {:?}", statuses.borrow());
    assert!(
        rt.block_on(env.issued_items()).is_empty(),
        "nothing was issued"
    );
}
