//! The Lambda entry point: wiring only.

use std::sync::Arc;
use token_issuer::config::Config;
use token_issuer::core::clock::SystemClock;
use token_issuer::keys::KeySet;
use token_issuer::store::{dynamo, DynamoStore};
use token_issuer::{telemetry, App};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_json();
    let config = Config::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let keys = match &config.signing_key_file {
        Some(path) => KeySet::from_file(path),
        None => {
            tracing::warn!(
                "SIGNING_KEY_FILE is not set: signing with an ephemeral key that dies with \
                 this process (local development only)"
            );
            KeySet::ephemeral()
        }
    }
    .inspect_err(|e| tracing::error!("{e}"))?;
    let client = aws_sdk_dynamodb::Client::new(&dynamo::sdk_config().await);
    let store = DynamoStore::new(client, &config.store);
    let app = App::new(&config, store, keys, Arc::new(SystemClock));
    token_issuer::run(app).await
}
