//! An outside fuzzer holds the handler to `openapi.yaml`: schemathesis
//! (`scripts/schemathesis.sh`) sends generated requests, valid and invalid,
//! to every documented operation of the real handler behind the tests' HTTP
//! front, for a bounded time (`SCHEMATHESIS_SECONDS`, default 150), and
//! fails on any finding: a 5xx, or a status, header or body the document
//! does not list. `#[ignore]`d for its length: `scripts/test.sh` runs it
//! after the suite.

use crate::common::front::serve_issuer;
use crate::common::*;
use std::sync::Arc;
use token_issuer::core::record::client::GrantType;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: scripts/test.sh runs it after the suite"]
async fn schemathesis_finds_nothing_the_document_does_not_say() {
    let env = Arc::new(TestEnv::new().await);
    // The document's example clients, so generated requests may meet them.
    env.add_client(
        "demo-app",
        false,
        &GrantType::ALL,
        "openid profile email api:read",
    )
    .await;
    env.add_client("demo-web", false, CODE_FLOW, "openid profile email")
        .await;
    env.add_client("demo-spa", true, CODE_FLOW, "openid profile")
        .await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve_issuer(env.clone(), listener));
    let secs = std::env::var("SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "150".into());
    let script = format!("{}/scripts/schemathesis.sh", env!("CARGO_MANIFEST_DIR"));
    let report = format!("{}/target/schemathesis", env!("CARGO_MANIFEST_DIR"));
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args([
                script.as_str(),
                url.as_str(),
                secs.as_str(),
                report.as_str(),
            ])
            .status()
            .expect("run scripts/schemathesis.sh")
    })
    .await
    .unwrap();
    assert!(status.success(), "schemathesis found something: {status}");
}
