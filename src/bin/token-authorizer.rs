//! The authorizer's Lambda entry point: wiring only.

use std::sync::Arc;
use token_issuer::config::Config;
use token_issuer::core::clock::SystemClock;
use token_issuer::{authorizer, aws, compose, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_json();
    let config = Config::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let sdk = aws::lambda_sdk_config()
        .await
        .inspect_err(|e| tracing::error!("{e}"))?;
    let keys = compose::authorizer_keys(&config, &sdk)
        .await
        .inspect_err(|e| tracing::error!("{e}"))?;
    let store = compose::store(aws_sdk_dynamodb::Client::new(&sdk), &config.store);
    let authorizer = compose::authorizer(&config, store, keys, Arc::new(SystemClock))
        .inspect_err(|e| tracing::error!("{e}"))?;
    if config.warm_up {
        let connections = authorizer::STORAGE_CONNECTIONS;
        let storage_ms = authorizer.issuer().warm_storage(connections).await;
        tracing::debug!(?storage_ms, "warmed up");
    }
    authorizer::run(authorizer).await
}
