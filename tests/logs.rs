//! A full run's logs are structured (request id, route, dialect, outcome for
//! every request) and hold none of the secrets used in it.

// The harness is shared by several test and bench crates; each uses a part.
#[allow(dead_code)]
mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn ops_token(ev: Value, token: &str) -> Value {
    with_header(ev, "authorization", &format!("OpsToken {token}"))
}

#[tokio::test]
async fn logs_are_structured_and_secret_free() {
    let logs = Captured::default();
    // Everything, the AWS SDK's trace output included.
    token_issuer::telemetry::init_json_with("trace".parse().unwrap(), logs.clone());

    let env = TestEnv::new().await;
    let wrong = "a-wrong-password-that-must-not-be-logged";
    let mut secrets = vec![PASSWORD.to_string(), wrong.to_string()];
    let mut requests = 0;
    let mut call = |ev: Value| {
        requests += 1;
        let env = &env;
        async move { env.call(&ev).await }
    };

    let v2 = call(event("v2-login")).await.json();
    let user = call(event("user-authenticate")).await.json();
    let ops = call(event("ops-acquire")).await.json();
    let r1 = v2["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let r2 = user["refreshToken"].as_str().unwrap().to_string();
    let ot = ops["token"].as_str().unwrap().to_string();
    secrets.extend([
        r1.clone(),
        r2.clone(),
        ot.clone(),
        v2["content"][0]["token"].as_str().unwrap().to_string(),
        user["accessToken"].as_str().unwrap().to_string(),
    ]);

    let refreshed = call(with_body(
        event("v2-refresh"),
        &json!({"refreshToken": r1}).to_string(),
    ))
    .await
    .json();
    let r3 = refreshed["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.push(r3.clone());
    secrets.push(
        refreshed["content"][0]["token"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    // Reuse, revoke, logout, sessions, failures, a lockout and malformed input.
    call(with_body(
        event("v2-refresh"),
        &json!({"refreshToken": r1}).to_string(),
    ))
    .await;
    call(with_body(
        event("v2-revoke"),
        &json!({"refreshToken": r3}).to_string(),
    ))
    .await;
    call(with_body(
        event("user-logout"),
        &json!({"refreshToken": r2}).to_string(),
    ))
    .await;
    call(ops_token(event("ops-currentuser"), &ot)).await;
    call(ops_token(event("ops-release"), &ot)).await;
    call(ops_token(event("ops-currentuser"), &ot)).await;
    for _ in 0..11 {
        call(login(
            "v2-login",
            json!({"username": "admin", "password": wrong}),
        ))
        .await;
    }
    call(login(
        "user-authenticate",
        json!({"userName": "admin", "password": 5, "x": wrong}),
    ))
    .await;
    call(with_body(
        event("v2-login"),
        &format!("{{\"username\":\"admin\",\"password\":\"{wrong}\""),
    ))
    .await;
    call(event("not-found")).await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs");
        // Not even a JWT's signature or a token's first half.
        if let Some(sig) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(!text.contains(sig));
        }
        assert!(!text.contains(&secret[..secret.len() / 2]));
    }

    // One structured line per request, with the fields the operator needs.
    let request_lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["route"].is_string())
        .collect();
    assert_eq!(request_lines.len(), requests);
    for line in &request_lines {
        let f = &line["fields"];
        assert!(
            f["request_id"].as_str().is_some_and(|s| !s.is_empty()),
            "{line}"
        );
        assert!(f["status"].is_u64(), "{line}");
        assert!(
            f["outcome"].is_string() || f["message"].is_string(),
            "{line}"
        );
        if f["route"] != "none" {
            assert!(f["dialect"].is_string(), "{line}");
        }
    }
    assert!(request_lines.iter().any(|l| l["fields"]["status"] == 429));
}
