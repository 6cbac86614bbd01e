//! openid-client (`tests/oidc/`, installed by `scripts/tools.sh oidc`), a
//! certified OpenID Connect relying party library used unmodified and
//! configured from discovery, against the issuer served over HTTP through
//! the real handler: the code flow with PKCE and DPoP for a public client,
//! a refresh and userinfo with the same key, and a refresh with another
//! key refused. The issuer asks for DPoP nonces, so the library's own
//! `use_dpop_nonce` retry is exercised too. And a device sign-in (RFC
//! 8628): the library asks for codes and polls; the test approves on the
//! device page meanwhile.

use crate::common::front::serve_issuer;
use crate::common::*;
use serde_json::Value;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::process::Command;

fn scripts() -> std::path::PathBuf {
    let tools = std::env::var("TOOLS_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/token-issuer-tools",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let modules = std::path::Path::new(&tools).join("oidc/node_modules");
    assert!(
        modules.join("openid-client").is_dir(),
        "openid-client is missing: scripts/tools.sh oidc installs it (scripts/test.sh does)"
    );
    let dir = std::env::temp_dir().join(unique("oidc"));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&modules, dir.join("node_modules")).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    for f in ["package.json", "dpop.mjs", "device.mjs"] {
        std::fs::copy(here.join(f), dir.join(f)).unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_gets_a_dpop_bound_token_refreshes_it_and_calls_userinfo() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let fixed = issuer.clone();
    let env = Arc::new(
        TestEnv::with_config(|c| {
            c.issuer = Some(fixed);
            c.dpop_nonces = true;
        })
        .await,
    );
    // The library checks `iat` and `exp` against the real time.
    env.clock.set(time::OffsetDateTime::now_utc());
    env.add_client("spa", true, CODE_FLOW, "openid profile")
        .await;
    tokio::spawn(serve_issuer(env.clone(), listener));

    let dir = scripts();
    let out = Command::new("node")
        .arg("dpop.mjs")
        .current_dir(&dir)
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", "spa")
        .env("REDIRECT_URI", REDIRECT_URI)
        .env("USERNAME", "Admin")
        .env("PASSWORD", PASSWORD)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), out)
        .await
        .expect("the client finishes")
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "openid-client: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    println!("openid-client: {r}");
    assert_eq!(r["dpopAlgs"], serde_json::json!(["ES256", "RS256"]));
    assert_eq!(r["tokenType"], "dpop");
    assert_eq!(r["refreshedType"], "dpop");
    assert_eq!(r["againType"], "dpop");
    // Bound to the library's key, by its thumbprint, on both tokens.
    let jwk = &r["publicJwk"];
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    let jkt = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()),
    );
    assert_eq!(r["jkt"], jkt.as_str());
    assert_eq!(r["refreshedJkt"], jkt.as_str());
    assert_eq!(r["idTokenSub"], env.admin.id.to_string());
    assert_eq!(r["userinfoSub"], env.admin.id.to_string());
    assert_eq!(r["userinfoName"], "admin");
    assert_eq!(r["thiefError"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_signs_a_device_in() {
    use crate::device::{answer, callback, question, sign_in_at, type_code, DEVICE_GRANTS};
    use tokio::io::{AsyncBufReadExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let fixed = issuer.clone();
    let env = Arc::new(TestEnv::with_config(|c| c.issuer = Some(fixed)).await);
    env.clock.set(time::OffsetDateTime::now_utc());
    env.add_client("cli", true, DEVICE_GRANTS, "openid profile")
        .await;
    tokio::spawn(serve_issuer(env.clone(), listener));

    let dir = scripts();
    let mut child = Command::new("node")
        .arg("device.mjs")
        .current_dir(&dir)
        .env("ISSUER", &issuer)
        .env("CLIENT_ID", "cli")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the codes")
        .unwrap()
        .expect("a line");
    let asked: Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(asked["verificationUri"], format!("{issuer}/oauth2/device"));
    assert_eq!(asked["interval"], 5);
    // The user, on the device page.
    let user_code = asked["userCode"].as_str().unwrap();
    let (fields, cookie) = question(&type_code(&env, user_code, "198.51.100.20").await);
    let r = answer(&env, &fields, "continue", Some(&cookie)).await;
    let back = sign_in_at(&env, &r, &issuer).await;
    let r = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The library's next poll gets the tokens.
    let second = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the tokens")
        .unwrap();
    let status = child.wait().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let Some(second) = second else {
        let mut err = String::new();
        use tokio::io::AsyncReadExt;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .await
            .ok();
        panic!("openid-client failed ({status}): {err}");
    };
    let r: Value = serde_json::from_str(&second).expect("JSON");
    println!("openid-client device: {r}");
    assert!(status.success());
    assert_eq!(r["tokenType"], "bearer");
    assert_eq!(r["idTokenSub"], env.admin.id.to_string());
    assert_eq!(r["userinfoSub"], env.admin.id.to_string());
    assert_eq!(r["hasRefreshToken"], true);
    assert_eq!(
        r["deviceEndpoint"],
        format!("{issuer}/oauth2/device_authorization")
    );
}
