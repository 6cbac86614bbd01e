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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    use aws_credential_types::provider::ProvideCredentials as _;
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
            "first_call": first_call, "second_call": second_call,
            "five_at_once": five_at_once, "five_at_once_again": five_at_once_again,
            "argon2_first": argon2_first, "argon2_second": argon2_second,
            "sign_first": sign_first, "sign_second": sign_second,
        })
    );
}
