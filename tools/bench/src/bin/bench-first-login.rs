//! The phases of a first log in, timed in a fresh process: what a cold
//! function pays once and a warm one no longer does. The Lambda-shaped bench
//! (`scripts/bench.sh lambda`) runs it under each memory size's CPU share
//! and prints the medians. One JSON line on standard output, milliseconds.
//!
//! Reads the function's own settings (`USERS_TABLE`, `TOKENS_TABLE`,
//! `AUDIENCE`, `SIGNING_KEY_FILE`, the AWS variables) and, like
//! `bench-issuer`, trusts the bench's TLS terminator (`TEST_CA_FILE`).

use serde_json::json;
use std::time::Instant;
use token_issuer::config::Config;
use token_issuer::core::password::{Hasher, Password};
use token_issuer::core::record::user::Username;
use token_issuer::core::store::UserStore as _;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// `n` reads at once; `true` when all answered.
async fn at_once(
    store: &impl token_issuer::core::store::UserStore,
    name: &Username,
    n: usize,
) -> bool {
    let reads = (0..n).map(|_| store.get_user(name));
    futures_util::future::join_all(reads)
        .await
        .iter()
        .all(Result::is_ok)
}

/// A TLS client set up as the function's (`src/sdk_http.rs`: ring, the
/// safe default versions, HTTP/1.1 by ALPN), trusting the bench's CA.
fn tls_connector() -> tokio_rustls::TlsConnector {
    let ca = std::fs::read(std::env::var("TEST_CA_FILE").expect("TEST_CA_FILE")).expect("the CA");
    let mut roots = rustls::RootCertStore::empty();
    for cert in pem::parse_many(ca).expect("PEM") {
        roots
            .add(cert.into_contents().into())
            .expect("a CA certificate");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// One connection to `endpoint` (`https://host:port`) as the function's
/// client opens it: (the name lookup, TCP and the TLS handshake), in ms.
async fn raw_connection(endpoint: &str, tls: &tokio_rustls::TlsConnector) -> (f64, f64) {
    let authority = endpoint
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let (host, port) = authority.rsplit_once(':').expect("host:port");
    let port: u16 = port.parse().expect("a port");
    let t = Instant::now();
    let addrs: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .expect("the endpoint's address")
        .collect();
    let lookup = ms(t);
    let t = Instant::now();
    let tcp = tokio::net::TcpStream::connect(addrs[0]).await.expect("TCP");
    tcp.set_nodelay(true).expect("no Nagle");
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).expect("a name");
    let _tls = tls.connect(name, tcp).await.expect("a TLS handshake");
    (lookup, ms(t))
}

/// `bench-first-login login PART`: the first three log ins through the
/// function's handler, in a process composed as `bench-issuer` composes
/// it, after one part of a cold start's work was done first: `none`,
/// `connections` (a log in's widest round of storage connections open),
/// `area` (the Argon2id work area written) or `all` (the warm-up: both,
/// and a signature). What a first log in costs beyond the second, with a
/// part done before, is what is left of it without that part. The event is
/// `LOGIN_EVENT`; one JSON line of milliseconds.
async fn logins(part: &str) {
    use std::sync::Arc;
    use token_issuer::core::clock::SystemClock;
    // Logging as the function logs, to standard error.
    token_issuer::telemetry::init_json_with(
        token_issuer::telemetry::filter_from_env("info"),
        std::io::stderr,
    );
    let config = Config::from_env().expect("the function's settings");
    let sdk = token_issuer_bench::sdk_config()
        .await
        .expect("an SDK configuration");
    let keys = token_issuer::compose::keys(&config, &sdk)
        .await
        .expect("the signing key");
    let factor_key = token_issuer::compose::factor_key(&config, &sdk)
        .await
        .expect("the factor key");
    let store = token_issuer::compose::store(aws_sdk_dynamodb::Client::new(&sdk), &config.store);
    let app = token_issuer::compose::app(&config, store, keys, factor_key, Arc::new(SystemClock));
    let issuer = app.issuer();
    let t = Instant::now();
    match part {
        "none" => {}
        "connections" => {
            issuer.warm_storage(5).await.expect("storage answered");
        }
        "area" => issuer.prepare_work_area().await,
        "all" => {
            issuer.warm_up().await;
        }
        other => panic!("no part {other}"),
    }
    let before = ms(t);
    let event = std::env::var("LOGIN_EVENT").expect("LOGIN_EVENT");
    let mut times = Vec::new();
    for _ in 0..3 {
        let req = lambda_http::request::from_str(&event).expect("an API Gateway event");
        let t = Instant::now();
        let resp = token_issuer::handle(&app, req).await;
        times.push(ms(t));
        assert_eq!(resp.status(), 200, "a log in");
    }
    println!(
        "{}",
        json!({"part": part, "before": before, "first": times[0], "second": times[1], "third": times[2]})
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    use aws_credential_types::provider::ProvideCredentials as _;
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("login") {
        return logins(&args.next().unwrap_or_else(|| "none".into())).await;
    }
    let config = Config::from_env().expect("the function's settings");

    let t = Instant::now();
    let sdk = token_issuer_bench::sdk_config()
        .await
        .expect("an SDK configuration");
    let sdk_config = ms(t);

    let t = Instant::now();
    let provider = sdk.credentials_provider().expect("credentials");
    provider
        .provide_credentials()
        .await
        .expect("credentials resolve");
    let credentials = ms(t);

    let t = Instant::now();
    let keys = token_issuer::compose::keys(&config, &sdk)
        .await
        .expect("the signing key");
    let key_load = ms(t);

    // A new connection outside the SDK, twice, before the SDK makes one:
    // what a process's first name lookup and TLS handshake cost, and what
    // they cost once done before.
    let tls = tls_connector();
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("the bench's endpoint");
    let (lookup_first, tls_first) = raw_connection(&endpoint, &tls).await;
    let (lookup_second, tls_second) = raw_connection(&endpoint, &tls).await;

    let store = token_issuer::compose::store(aws_sdk_dynamodb::Client::new(&sdk), &config.store);
    let name = Username::parse("first-login-phases.invalid").unwrap();
    // The first call opens a connection (TCP, TLS), resolves the endpoint
    // and signs with SigV4 for the first time; the second reuses all that.
    let t = Instant::now();
    store.get_user(&name).await.expect("a read");
    let first_call = ms(t);
    let t = Instant::now();
    store.get_user(&name).await.expect("a read");
    let second_call = ms(t);
    // A log in's widest round, five at once: four of them on new
    // connections (what the warm-up now opens at Init).
    let t = Instant::now();
    assert!(at_once(&store, &name, 5).await);
    let five_at_once = ms(t);
    let t = Instant::now();
    assert!(at_once(&store, &name, 5).await);
    let five_at_once_again = ms(t);

    let hasher = Hasher::new();
    let password = Password::parse("first login phases").unwrap();
    let t = Instant::now();
    hasher.verify(&password, None);
    let argon2_first = ms(t);
    let t = Instant::now();
    hasher.verify(&password, None);
    let argon2_second = ms(t);

    let claims = json!({"sub": "x", "exp": 4_000_000_000u64});
    let t = Instant::now();
    keys.current().sign(&claims).unwrap();
    let sign_first = ms(t);
    let t = Instant::now();
    keys.current().sign(&claims).unwrap();
    let sign_second = ms(t);

    println!(
        "{}",
        json!({
            "sdk_config": sdk_config, "credentials": credentials, "key_load": key_load,
            "lookup_first": lookup_first, "lookup_second": lookup_second,
            "tls_first": tls_first, "tls_second": tls_second,
            "first_call": first_call, "second_call": second_call,
            "five_at_once": five_at_once, "five_at_once_again": five_at_once_again,
            "argon2_first": argon2_first, "argon2_second": argon2_second,
            "sign_first": sign_first, "sign_second": sign_second,
        })
    );
}
