//! The issuer function for the bench's TLS mode: wired as `src/main.rs` wires
//! the shipped one, line for line, but for its SDK configuration, which also
//! trusts the bench's TLS terminator (`TEST_CA_FILE`).

use std::sync::Arc;
use token_issuer::config::Config;
use token_issuer::core::clock::SystemClock;
use token_issuer::{compose, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_json();
    let config = Config::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let sdk = token_issuer_bench::sdk_config()
        .await
        .inspect_err(|e| tracing::error!("{e}"))?;
    let (keys, factor_key) = tokio::join!(
        compose::keys(&config, &sdk),
        compose::factor_key(&config, &sdk)
    );
    let keys = keys.inspect_err(|e| tracing::error!("{e}"))?;
    let factor_key = factor_key.inspect_err(|e| tracing::error!("{e}"))?;
    let store = compose::store(aws_sdk_dynamodb::Client::new(&sdk), &config.store);
    let app = compose::app(&config, store, keys, factor_key, Arc::new(SystemClock));
    if config.warm_up {
        let warm = app.issuer().warm_up().await;
        tracing::debug!(?warm, "warmed up");
    }
    token_issuer::run(app).await
}
