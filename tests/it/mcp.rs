//! The official MCP TypeScript SDK (`tests/mcp/`, installed by
//! `scripts/tools.sh mcp`) against the issuer served over HTTP through the
//! real handler: its client connects to a small MCP server of the SDK's that
//! trusts the issuer, with nothing configured but the server's URL. It must
//! be refused, discover the issuer (RFC 9728, RFC 8414), register itself
//! (RFC 7591), sign the user in through the login and consent pages, get a
//! token for the server's resource alone (RFC 8707), and call a tool; a
//! token for another resource must be refused. Twice: once registering
//! itself, once with a client ID metadata document instead, where the
//! issuer has no registration endpoint at all.

use crate::client_documents::DocumentServer;
use crate::common::front::serve_issuer;
use crate::common::*;
use serde_json::Value;
use std::process::Stdio;
use std::sync::Arc;
use token_issuer::core::record::client::{GrantType, Scopes};
use token_issuer::core::record::registration::RegistrationPolicy;
use token_issuer::core::record::resource::{Resource, ResourceUri};
use token_issuer::core::store::AdminStore;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;

const OTHER: &str = "https://api.example.com/v1";

/// The scripts beside the SDK the tools installed, in a folder of their own.
fn scripts() -> std::path::PathBuf {
    let tools = std::env::var("TOOLS_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/token-issuer-tools",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let modules = std::path::Path::new(&tools).join("mcp/node_modules");
    assert!(
        modules.join("@modelcontextprotocol/sdk").is_dir(),
        "the MCP SDK is missing: scripts/tools.sh mcp installs it (scripts/test.sh does)"
    );
    let dir = std::env::temp_dir().join(unique("mcp"));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&modules, dir.join("node_modules")).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp");
    for f in ["package.json", "server.mjs", "client.mjs"] {
        std::fs::copy(here.join(f), dir.join(f)).unwrap();
    }
    dir
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_sdk_client_registers_signs_in_and_calls_a_tool() {
    let (report, env) = run_client(None).await;
    let client = report["clientId"].as_str().unwrap();
    assert!(client.starts_with("dyn-"), "registered itself: {report}");
    check(&report, &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_sdk_client_signs_in_with_its_metadata_document() {
    let server = DocumentServer::start().await;
    let url = server.document("/mcp-client.json", "MCP SDK check", &[MCP_REDIRECT]);
    let (report, env) = run_client(Some((&url, server.ca.clone()))).await;
    assert_eq!(report["clientId"], url.as_str(), "{report}");
    assert_eq!(
        server.hits("/mcp-client.json"),
        1,
        "fetched once, then cached"
    );
    check(&report, &env).await;
}

/// Where the SDK's client says it is sent back to (nothing listens).
const MCP_REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Runs the SDK's client against its server and the issuer: registering
/// itself, or (`document`: its URL and the CA of the server that has it)
/// with a metadata document. Its report, and the issuer's environment.
async fn run_client(document: Option<(&str, Vec<u8>)>) -> (Value, Arc<TestEnv>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let fixed = issuer.clone();
    let ca = document.as_ref().map(|(_, ca)| ca.clone());
    let env = Arc::new(
        TestEnv::with_config(|c| {
            c.issuer = Some(fixed);
            c.registration.scopes = "openid profile mcp:tools".into();
            match ca {
                // No registration endpoint: the document is the only way in.
                Some(ca) => {
                    c.registration.documents = true;
                    c.registration.documents_private_addresses = true;
                    c.registration.documents_ca_pem = Some(ca);
                }
                None => c.registration.policy = RegistrationPolicy::Public,
            }
        })
        .await,
    );
    // The SDK's server checks `nbf` and `exp` against the real time.
    env.clock.set(time::OffsetDateTime::now_utc());
    let mcp_port = free_port().await;
    let resource = format!("http://localhost:{mcp_port}/mcp");
    for (uri, scopes) in [(resource.as_str(), "mcp:tools"), (OTHER, "mcp:tools")] {
        env.store
            .create_resource(&Resource {
                uri: ResourceUri::parse(uri).unwrap(),
                scopes: Scopes::parse(scopes).unwrap(),
                created_at: START,
            })
            .await
            .unwrap();
    }
    // A token of this issuer's for the other resource, with the right scope.
    let secret = env
        .add_client("svc", false, &[GrantType::ClientCredentials], "mcp:tools")
        .await
        .unwrap();
    let r = env
        .call(&oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials"), ("resource", OTHER)],
            Some(("svc", &secret)),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let other_token = r.json()["access_token"].as_str().unwrap().to_string();
    tokio::spawn(serve_issuer(env.clone(), listener));

    let dir = scripts();
    let mut server = Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .env("ISSUER", &issuer)
        .env("PORT", mcp_port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the MCP server starts")
        .unwrap()
        .unwrap_or_default();
    assert!(ready.starts_with("listening"), "{ready}");

    let mut client = Command::new("node");
    client
        .arg("client.mjs")
        .current_dir(&dir)
        .env("RESOURCE", &resource)
        .env("USERNAME", "Admin")
        .env("PASSWORD", PASSWORD)
        .env("OTHER_TOKEN", &other_token);
    if let Some((url, _)) = document {
        client.env("CLIENT_METADATA_URL", url);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), client.output())
        .await
        .expect("the client finishes")
        .unwrap();
    server.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    println!("mcp: {report}");
    (report, env)
}

/// What every run must show.
async fn check(report: &Value, env: &TestEnv) {
    let resource = report["resource"].as_str().unwrap();
    assert_eq!(report["refusedFirst"], true, "{report}");
    let client = report["clientId"].as_str().unwrap();
    assert_eq!(report["authorization"]["resource"], resource);
    assert_eq!(report["authorization"]["codeChallengeMethod"], "S256");
    assert_eq!(report["tokenScope"], "mcp:tools");
    assert_eq!(report["tools"], serde_json::json!(["whoami"]));
    let seen = &report["seen"];
    assert_eq!(seen["aud"], resource);
    assert_eq!(seen["sub"], env.admin.id.to_string());
    assert_eq!(seen["client_id"], client);
    assert_eq!(report["otherStatus"], 401, "{report}");
    let challenge = report["otherChallenge"].as_str().unwrap_or("");
    assert!(challenge.contains("invalid_token"), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    // The user was asked, and the answer is remembered.
    let consents = env.store.list_consents(env.admin.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].client_id.as_str(), client);
}
