//! openid-client (`tests/oidc/`, installed by `scripts/tools.sh oidc`), a
//! certified OpenID Connect relying party library used unmodified and
//! configured from discovery, against the issuer served over HTTP through
//! the real handler: the code flow with PKCE and DPoP for a public client,
//! a refresh and userinfo with the same key, and a refresh with another
//! key refused. The issuer asks for DPoP nonces, so the library's own
//! `use_dpop_nonce` retry is exercised too.

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
    for f in ["package.json", "dpop.mjs"] {
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
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()),
    );
    assert_eq!(r["jkt"], jkt.as_str());
    assert_eq!(r["refreshedJkt"], jkt.as_str());
    assert_eq!(r["idTokenSub"], env.admin.id.to_string());
    assert_eq!(r["userinfoSub"], env.admin.id.to_string());
    assert_eq!(r["userinfoName"], "admin");
    assert_eq!(r["thiefError"], "invalid_grant");
}
