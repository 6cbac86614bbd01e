//! The composition root: turns configuration into the parts' own settings
//! and puts the parts together. `main.rs`, the tests and the benches build
//! the function through it, so they all run the same wiring.

use crate::config::{Config, StoreConfig};
use crate::core::clock::Clock;
use crate::core::store::Store;
use crate::core::throttle::ThrottleSettings;
use crate::core::{Issuer, Settings};
use crate::http::{App, EdgeSettings};
use crate::keys::KeySet;
use crate::store::dynamo::{DynamoStore, Tables};
use std::sync::Arc;

fn duration(d: std::time::Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// The core's settings.
pub fn settings(config: &Config) -> Settings {
    Settings {
        audience: config.audience.clone(),
        access_ttl: duration(config.access_token_ttl),
        refresh_ttl: duration(config.refresh_token_ttl),
        throttle: ThrottleSettings {
            threshold: config.lockout_threshold,
            initial: duration(config.lockout_initial),
            max: duration(config.lockout_max),
            ..ThrottleSettings::default()
        },
    }
}

/// The edge's settings.
pub fn edge(config: &Config) -> EdgeSettings {
    EdgeSettings {
        fixed_issuer: config.issuer.clone(),
    }
}

/// The DynamoDB store over the configured tables.
pub fn store(client: aws_sdk_dynamodb::Client, config: &StoreConfig) -> DynamoStore {
    DynamoStore::new(
        client,
        Tables {
            users: config.users_table.clone(),
            tokens: config.tokens_table.clone(),
        },
    )
}

/// The function: the issuer core over `store`, behind the edge.
pub fn app<S: Store>(config: &Config, store: S, keys: KeySet, clock: Arc<dyn Clock>) -> App<S> {
    App::new(
        Issuer::new(store, keys, clock, settings(config)),
        edge(config),
    )
}
