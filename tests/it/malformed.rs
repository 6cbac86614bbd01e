//! Every kind of malformed input gets the dialect's invalid-request
//! response, never a 5xx, never a token, for every log-in route.

use crate::common::*;
use serde_json::{json, Value};

struct Dialect {
    event: &'static str,
    user_field: &'static str,
    invalid: &'static str,
}

const DIALECTS: &[Dialect] = &[
    Dialect {
        event: "v2-login",
        user_field: "username",
        invalid: r#"{"errorCode":"GEN_1001","errorMessage":"Invalid request","content":"","pageable":""}"#,
    },
    Dialect {
        event: "user-authenticate",
        user_field: "userName",
        invalid: r#"{"responseKey":"INVALID_REQUEST","responseMessage":"Invalid HTTP request"}"#,
    },
    Dialect {
        event: "ops-acquire",
        user_field: "username",
        invalid: r#"{"message":"Invalid request","httpStatusCode":400,"apiErrorCode":400}"#,
    },
];

/// A body whose password is Latin-1 `café`: the byte 0xE9 alone is not UTF-8.
fn latin1_body(user_field: &str) -> Vec<u8> {
    let mut bytes = format!(r#"{{"{user_field}":"admin","password":"caf"#).into_bytes();
    bytes.push(0xE9);
    bytes.extend_from_slice(b"\"}");
    bytes
}

fn cases(d: &Dialect) -> Vec<(String, Value)> {
    let u = d.user_field;
    let base = event(d.event);
    let body = |v: Value| with_body(base.clone(), &v.to_string());
    let raw = |s: &str| with_body(base.clone(), s);
    let big_pad = "x".repeat(8 * 1024);
    vec![
        ("not JSON".into(), raw("not json")),
        ("empty body".into(), raw("")),
        (
            "truncated JSON".into(),
            raw(&format!(r#"{{"{u}":"admin","password":"#)),
        ),
        (
            "array".into(),
            body(json!([{u: "admin", "password": PASSWORD}])),
        ),
        ("string".into(), body(json!("admin"))),
        ("number".into(), raw("42")),
        ("null".into(), raw("null")),
        (
            "missing username".into(),
            body(json!({"password": PASSWORD})),
        ),
        ("missing password".into(), body(json!({u: "admin"}))),
        (
            "null username".into(),
            body(json!({u: null, "password": PASSWORD})),
        ),
        (
            "null password".into(),
            body(json!({u: "admin", "password": null})),
        ),
        (
            "empty username".into(),
            body(json!({u: "", "password": PASSWORD})),
        ),
        (
            "empty password".into(),
            body(json!({u: "admin", "password": ""})),
        ),
        (
            "numeric username".into(),
            body(json!({u: 1, "password": PASSWORD})),
        ),
        (
            "numeric password".into(),
            body(json!({u: "admin", "password": 12345})),
        ),
        (
            "boolean password".into(),
            body(json!({u: "admin", "password": true})),
        ),
        (
            "object password".into(),
            body(json!({u: "admin", "password": {"p": 1}})),
        ),
        (
            "array username".into(),
            body(json!({u: ["admin"], "password": PASSWORD})),
        ),
        (
            "password over 1024 bytes".into(),
            body(json!({u: "admin", "password": "p".repeat(1025)})),
        ),
        (
            "body over 8 KiB".into(),
            body(json!({u: "admin", "password": PASSWORD, "pad": big_pad})),
        ),
        (
            "text/plain".into(),
            with_header(
                body(json!({u: "admin", "password": PASSWORD})),
                "content-type",
                "text/plain",
            ),
        ),
        (
            "form encoded".into(),
            with_header(
                raw("username=admin&password=x"),
                "content-type",
                "application/x-www-form-urlencoded",
            ),
        ),
        (
            "no content type".into(),
            without_header(
                body(json!({u: "admin", "password": PASSWORD})),
                "content-type",
            ),
        ),
        (
            "invalid UTF-8".into(),
            with_bytes(base.clone(), &latin1_body(u)),
        ),
    ]
}

#[tokio::test]
async fn malformed_input_gets_the_dialects_invalid_request() {
    let env = TestEnv::new().await;
    for d in DIALECTS {
        for (name, ev) in cases(d) {
            let r = env.call(&ev).await;
            assert_eq!(r.status, 400, "{} / {name}: {}", d.event, r.text());
            assert_eq!(r.text(), d.invalid, "{} / {name}", d.event);
            r.assert_json();
            r.assert_no_store();
        }
    }
    assert!(
        env.issued_items().await.is_empty(),
        "no malformed request made a token"
    );
}

#[tokio::test]
async fn tolerated_variations_still_log_in() {
    let env = TestEnv::new().await;
    for d in DIALECTS {
        let u = d.user_field;
        let ok = json!({u: "Admin", "password": PASSWORD, "unknown": {"extra": [1, 2]}});
        for (name, ev) in [
            ("extra fields", with_body(event(d.event), &ok.to_string())),
            (
                "charset parameter",
                with_header(
                    with_body(event(d.event), &ok.to_string()),
                    "content-type",
                    "application/json; charset=utf-8",
                ),
            ),
            (
                "upper-case media type",
                with_header(
                    with_body(event(d.event), &ok.to_string()),
                    "content-type",
                    "Application/JSON",
                ),
            ),
            (
                "base64 body",
                with_bytes(event(d.event), ok.to_string().as_bytes()),
            ),
            (
                "password of exactly 1024 bytes is checked, not refused",
                with_body(
                    event(d.event),
                    &json!({u: "admin", "password": "p".repeat(1024)}).to_string(),
                ),
            ),
        ] {
            let r = env.call(&ev).await;
            let expected = if name.starts_with("password of exactly") {
                401
            } else {
                200
            };
            assert_eq!(r.status, expected, "{} / {name}: {}", d.event, r.text());
        }
    }
}
