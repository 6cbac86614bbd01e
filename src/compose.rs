//! The composition root: turns configuration into the parts' own settings
//! and puts the parts together. `main.rs`, the tests and the benches build
//! the function through it, so they all run the same wiring.

use crate::authorizer::{Authorizer, AuthorizerSettings};
use crate::client_documents::HttpClientDocuments;
use crate::config::{Config, ConfigError, StoreConfig};
use crate::core::clock::Clock;
use crate::core::oauth::register::RegistrationSettings;
use crate::core::record::browser::SessionLimits;
use crate::core::record::client::Scopes;
use crate::core::record::throttle::ThrottleSettings;
use crate::core::store::Store;
use crate::core::{Issuer, Settings};
use crate::http::{App, EdgeSettings};
use crate::keys::seal::{FactorKey, FactorKeySource};
use crate::keys::{KeyError, KeySource, Keys};
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
            user_threshold: config.lockout_user_threshold,
            address_threshold: config.lockout_address_threshold,
            initial: duration(config.lockout_initial),
            max: duration(config.lockout_max),
            ..ThrottleSettings::default()
        },
        sessions: SessionLimits {
            idle: duration(config.session_idle),
            absolute: duration(config.session_max),
        },
        registration: RegistrationSettings {
            policy: config.registration.policy,
            // Checked when the configuration was read.
            scopes: Scopes::parse(&config.registration.scopes).unwrap_or_default(),
            unused: time::Duration::days(config.registration.unused_days as i64),
            per_address_hourly: config.registration.per_address_hourly,
        },
        dpop_nonces: config.dpop_nonces,
    }
}

/// The edge's settings.
pub fn edge(config: &Config) -> EdgeSettings {
    EdgeSettings {
        fixed_issuer: config.issuer.clone(),
        deadline: config.request_deadline,
    }
}

/// Where the signing keys come from: the Secrets Manager key ring
/// (`SIGNING_KEY_SECRET_ID`), else the PEM file (`SIGNING_KEY_FILE`), else an
/// ephemeral key.
pub fn key_source(config: &Config) -> KeySource {
    match (&config.signing_key_secret, &config.signing_key_file) {
        (Some(id), _) => KeySource::SecretsManager(id.clone()),
        (None, Some(path)) => KeySource::File(path.clone()),
        (None, None) => KeySource::Ephemeral,
    }
}

/// Where the authorizer's keys come from: the ring's public keys alone
/// (`PUBLIC_KEYS_SECRET_ID`) where set, as in AWS; else as the issuer's (local use).
pub fn authorizer_key_source(config: &Config) -> KeySource {
    match &config.public_keys_secret {
        Some(id) => KeySource::PublicSecretsManager(id.clone()),
        None => key_source(config),
    }
}

/// The authorizer's keys: verifiers only where the public keys are given.
pub async fn authorizer_keys(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Result<Keys, KeyError> {
    crate::keys::load_live(&authorizer_key_source(config), sdk, config.key_refresh).await
}

/// The function's keys, read at cold start (re-read every `KEY_REFRESH_SECONDS`
/// from a key ring).
pub async fn keys(config: &Config, sdk: &aws_config::SdkConfig) -> Result<Keys, KeyError> {
    crate::keys::load_live(&key_source(config), sdk, config.key_refresh).await
}

/// Where the key that seals second factors comes from.
pub fn factor_key_source(config: &Config) -> FactorKeySource {
    match (&config.factor_key_secret, &config.factor_key_file) {
        (Some(id), _) => FactorKeySource::SecretsManager(id.clone()),
        (None, Some(path)) => FactorKeySource::File(path.clone()),
        (None, None) => FactorKeySource::Ephemeral,
    }
}

/// The key that seals second factors, read at cold start.
pub async fn factor_key(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Result<FactorKey, KeyError> {
    FactorKey::load(&factor_key_source(config), sdk).await
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

/// The authorizer function: the issuer core over `store`, deciding for
/// other APIs. It must be told the issuer URL (`ISSUER`): it serves other
/// domains, so it cannot derive it from the request.
pub fn authorizer<S: Store>(
    config: &Config,
    store: S,
    keys: impl Into<Keys>,
    clock: Arc<dyn Clock>,
) -> Result<Authorizer<S, Keys>, ConfigError> {
    let issuer_url = config
        .issuer
        .clone()
        .ok_or(ConfigError::Missing("ISSUER"))?;
    if config.accepted_audiences.is_empty() {
        return Err(ConfigError::Invalid {
            name: "ACCEPTED_AUDIENCES",
            reason: "names no audience".into(),
        });
    }
    Ok(Authorizer::new(
        Issuer::new(store, Arc::new(keys.into()), clock, settings(config)),
        AuthorizerSettings {
            issuer_url,
            audiences: config.accepted_audiences.clone(),
            revocation_cache: config.revocation_cache,
            deadline: config.request_deadline,
        },
    ))
}

/// The function: the issuer core over `store`, behind the edge.
pub fn app<S: Store>(
    config: &Config,
    store: S,
    keys: impl Into<Keys>,
    factor_key: FactorKey,
    clock: Arc<dyn Clock>,
) -> App<S, Keys> {
    let keys = Arc::new(keys.into());
    let signer: Arc<dyn crate::core::sign::Signer> = keys.clone();
    let mut issuer = Issuer::new(store, signer, clock, settings(config))
        .with_back_channel(Arc::new(crate::notify::HttpBackChannel::new()))
        .with_sealer(Arc::new(factor_key));
    let r = &config.registration;
    if r.documents {
        let documents = HttpClientDocuments::new()
            .allowing_private_addresses(r.documents_private_addresses)
            .trusting(r.documents_ca_pem.clone());
        issuer = issuer.with_client_documents(Arc::new(documents));
    }
    App::new(issuer, keys, edge(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn config(extra: &[(&str, &str)]) -> Config {
        let base = [
            ("USERS_TABLE", "users"),
            ("TOKENS_TABLE", "tokens"),
            ("AUDIENCE", "aud"),
        ];
        let get = |name: &str| {
            base.iter()
                .chain(extra)
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        Config::from_source(&get).unwrap()
    }

    #[test]
    fn the_key_source_follows_the_signing_key_settings() {
        assert_eq!(
            key_source(&config(&[("SIGNING_KEY_SECRET_ID", "ring")])),
            KeySource::SecretsManager("ring".into())
        );
        assert_eq!(
            key_source(&config(&[("SIGNING_KEY_FILE", "/k.pem")])),
            KeySource::File(PathBuf::from("/k.pem"))
        );
        assert_eq!(key_source(&config(&[])), KeySource::Ephemeral);
        assert_eq!(
            authorizer_key_source(&config(&[
                ("SIGNING_KEY_FILE", "/k.pem"),
                ("PUBLIC_KEYS_SECRET_ID", "public")
            ])),
            KeySource::PublicSecretsManager("public".into())
        );
        assert_eq!(
            authorizer_key_source(&config(&[("SIGNING_KEY_FILE", "/k.pem")])),
            KeySource::File(PathBuf::from("/k.pem"))
        );
    }
}
