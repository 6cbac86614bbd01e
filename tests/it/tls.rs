//! The functions' HTTP client as AWS meets it: HTTPS with certificate
//! verification, to DynamoDB Local behind a TLS terminator whose CA this
//! test makes (`openssl`). Every other test talks plain HTTP to the
//! emulator; this one checks the TLS, the connection reuse under
//! concurrency, and that an unknown CA is refused.

use crate::common::certs::{make_certificates, tls_acceptor};
use crate::common::*;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use token_issuer::core::store::AdminStore;
use token_issuer::keys::KeySet;
use tokio::net::{TcpListener, TcpStream};

/// TLS in front of `upstream`; its URL, and a count of the connections it
/// accepted.
async fn terminator(dir: &Path, upstream: String) -> (String, Arc<AtomicUsize>) {
    let acceptor = tls_acceptor(dir);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let Ok(mut up) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    (format!("https://localhost:{port}"), accepted)
}

async fn dynamodb_over(url: &str, ca: Option<&[u8]>) -> aws_sdk_dynamodb::Client {
    let sdk = token_issuer::aws::lambda_sdk_config_trusting(ca)
        .await
        .unwrap();
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

#[tokio::test]
async fn the_functions_reach_storage_over_verified_tls_and_reuse_connections() {
    let dir = std::env::temp_dir().join(unique("tls"));
    std::fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    let upstream = endpoint().trim_start_matches("http://").to_string();
    let (url, accepted) = terminator(&dir, upstream).await;
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();

    // The shipped client: Amazon's roots and the test's CA.
    let client = dynamodb_over(&url, Some(&ca)).await;
    let config = test_config();
    let store = token_issuer::compose::store(client.clone(), &config.store);
    store.create_tables().await.expect("tables over TLS");
    let env = TestEnv::on_store(config.clone(), store).await;
    env.store
        .create_user(&env.admin)
        .await
        .expect("a user over TLS");
    let before = accepted.load(Ordering::SeqCst);
    for _ in 0..10 {
        client.list_tables().send().await.unwrap();
    }
    let sequential = accepted.load(Ordering::SeqCst) - before;
    assert!(
        sequential <= 1,
        "one connection for calls in turn: {sequential}"
    );
    // Eight log ins at once (several calls each, some in parallel; eight,
    // below the lockout's ten attempts in flight), four times: later rounds
    // find the first's connections.
    let ev = login(
        "v2-login",
        serde_json::json!({"username": "Admin", "password": PASSWORD}),
    );
    let mut opened = Vec::new();
    for _ in 0..4 {
        let before = accepted.load(Ordering::SeqCst);
        let replies = futures_util::future::join_all((0..8).map(|_| env.call(&ev))).await;
        for r in replies {
            assert_eq!(r.status, 200, "{}", r.text());
        }
        opened.push(accepted.load(Ordering::SeqCst) - before);
    }
    println!("tls: connections opened per round of 8 log ins: {opened:?}");
    let later: usize = opened[1..].iter().sum();
    assert!(later < 24, "later rounds reuse connections: {opened:?}");

    // A cold start: a new client, warmed up as the function's start-up does
    // it; its first log in then finds every connection it needs, so no
    // handshake lands on the user's clock.
    let fresh = token_issuer::compose::store(dynamodb_over(&url, Some(&ca)).await, &config.store);
    let keys = KeySet::from_pem(test_pem().as_bytes()).unwrap();
    let factor_key = token_issuer::keys::seal::FactorKey::ephemeral().unwrap();
    let cold = token_issuer::compose::app(&config, fresh, keys, factor_key, env.clock.clone());
    let before = accepted.load(Ordering::SeqCst);
    let warm = cold.issuer().warm_up().await;
    assert!(warm.storage_ms.is_some(), "{warm:?}");
    let warmed = accepted.load(Ordering::SeqCst) - before;
    let req = lambda_http::request::from_str(&ev.to_string()).unwrap();
    let r = token_issuer::handle(&cold, req).await;
    let status = r.status();
    let body: serde_json::Value = serde_json::from_slice(&r.into_body()).unwrap();
    assert_eq!(status, 200, "{body}");
    let first = accepted.load(Ordering::SeqCst) - before - warmed;
    println!("tls: the warm-up opened {warmed}, the first log in {first}");
    assert_eq!(first, 0, "the warm-up opened {warmed}");

    // The authorizer's calls run one after another: its warm-up opens one
    // connection, and its first decision finds it.
    let token = body["content"][0]["token"].as_str().unwrap().to_string();
    let jwks = KeySet::from_pem(test_pem().as_bytes()).unwrap();
    let jwks = serde_json::from_str(jwks.jwks_json()).unwrap();
    let mut authorizer_config = config.clone();
    authorizer_config.issuer = Some(format!("https://{API_DOMAIN}"));
    let fresh = token_issuer::compose::store(dynamodb_over(&url, Some(&ca)).await, &config.store);
    let authorizer = token_issuer::compose::authorizer(
        &authorizer_config,
        fresh,
        KeySet::verify_only(jwks).unwrap(),
        env.clock.clone(),
    )
    .unwrap();
    let before = accepted.load(Ordering::SeqCst);
    let warm = authorizer
        .issuer()
        .warm_storage(token_issuer::authorizer::STORAGE_CONNECTIONS)
        .await;
    assert!(warm.is_some());
    let warmed = accepted.load(Ordering::SeqCst) - before;
    let decision = authorizer.decide(Some(&format!("Bearer {token}"))).await;
    assert!(
        matches!(decision, token_issuer::authorizer::Decision::Allow(_)),
        "{decision:?}"
    );
    let first = accepted.load(Ordering::SeqCst) - before - warmed;
    println!("tls: the authorizer's warm-up opened {warmed}, its first decision {first}");
    assert_eq!((warmed, first), (1, 0));

    // Amazon's roots alone do not trust the test's CA: nothing is sent.
    let untrusting = dynamodb_over(&url, None).await;
    let err = untrusting
        .list_tables()
        .send()
        .await
        .expect_err("an unknown CA is refused");
    let text = format!(
        "{:?}",
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    );
    assert!(
        text.contains("certificate") || text.contains("Certificate"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
