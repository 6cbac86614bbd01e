//! The Lambda entry point: wiring only.

use std::sync::Arc;
use token_issuer::config::Config;
use token_issuer::core::clock::SystemClock;
use token_issuer::{aws, compose, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_json();
    let config = Config::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let sdk = aws::lambda_sdk_config()
        .await
        .inspect_err(|e| tracing::error!("{e}"))?;
    let keys = compose::keys(&config, &sdk)
        .await
        .inspect_err(|e| tracing::error!("{e}"))?;
    let store = compose::store(aws_sdk_dynamodb::Client::new(&sdk), &config.store);
    let app = compose::app(&config, store, keys, Arc::new(SystemClock));
    if config.warm_up {
        let warm = app.issuer().warm_up().await;
        tracing::debug!(?warm, "warmed up");
    }
    token_issuer::run(app).await
}
