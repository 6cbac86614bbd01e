//! Configuration, read once at cold start from the environment.

use crate::core::record::client::Scopes;
use crate::core::record::registration::RegistrationPolicy;
use std::path::PathBuf;
use std::time::Duration;

/// A setting that is missing or unusable; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0} is not set")]
    Missing(&'static str),
    #[error("configuration: {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where users and tokens live; shared by the function and `token-admin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub users_table: String,
    pub tokens_table: String,
}

/// Everything the function needs, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub store: StoreConfig,
    /// Fixed issuer URL; `None` derives it per request from the API Gateway domain.
    pub issuer: Option<String>,
    pub audience: String,
    /// Secrets Manager secret (ARN or name) holding the key ring: production.
    pub signing_key_secret: Option<String>,
    /// PEM RSA private key, for local use; with neither this nor the secret an
    /// ephemeral key is made (local development only).
    pub signing_key_file: Option<PathBuf>,
    /// The authorizer: the secret holding the ring's public keys alone
    /// (`PUBLIC_KEYS_SECRET_ID`), so it holds no private key.
    pub public_keys_secret: Option<String>,
    /// The secret that seals second factors' secrets (`FACTOR_KEY_SECRET_ID`):
    /// only the function's role may read it.
    pub factor_key_secret: Option<String>,
    /// The same key from a file, for local use (`FACTOR_KEY_FILE`); with
    /// neither, a key that dies with the process.
    pub factor_key_file: Option<PathBuf>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Consecutive failed log ins of one username from one address before
    /// that pair is locked.
    pub lockout_threshold: u32,
    /// Consecutive failed log ins of one username from all addresses before
    /// the username is locked for everyone (at most 100).
    pub lockout_user_threshold: u32,
    /// Failed log ins one source address may make across all usernames in
    /// 15 minutes (password spraying).
    pub lockout_address_threshold: u32,
    /// The first lock; later ones double it.
    pub lockout_initial: Duration,
    /// The longest lock.
    pub lockout_max: Duration,
    /// A browser session ends this long after its last use (API §12).
    pub session_idle: Duration,
    /// A browser session ends this long after its sign-in, however used.
    pub session_max: Duration,
    /// Every route answers within this (below the function's 10 s timeout).
    pub request_deadline: Duration,
    /// How often a warm instance re-reads the key ring from Secrets Manager.
    pub key_refresh: Duration,
    /// The authorizer: how long a token's revocation state is remembered
    /// (0: read on every request); revocation takes effect within it.
    pub revocation_cache: Duration,
    /// The authorizer: the `aud` values it accepts (default: `AUDIENCE`).
    pub accepted_audiences: Vec<String>,
    /// Open storage connections and touch the password hash's memory at
    /// cold start, so the first request does not (`WARM_UP`: `on`, `off`,
    /// or `auto`, the default: on at [`WARM_UP_AUTO_MAX_MB`] of memory or
    /// less). A small share pays for the first request's extra CPU many
    /// times over in wall time, and Init has been observed to run faster than
    /// the share; at larger sizes the warm-up only moves that work into an
    /// Init that is on the first user's clock, and adds its own reads.
    pub warm_up: bool,
    /// `DPOP_NONCES`: `on` makes every DPoP proof carry a nonce the issuer
    /// handed out (RFC 9449 §8), which bounds how long before use a proof
    /// can be made (default `off`).
    pub dpop_nonces: bool,
    /// Who may register clients at `/oauth2/register` (API §14).
    pub registration: RegistrationConfig,
}

/// Dynamic client registration's settings (`REGISTRATION_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// `REGISTRATION_POLICY`: `off` (default), `public` or `token`.
    pub policy: RegistrationPolicy,
    /// `REGISTRATION_SCOPES`: the scopes a registered client may have
    /// (space-separated; default `openid profile email`).
    pub scopes: String,
    /// `REGISTRATION_UNUSED_DAYS`: a registered client lapses after this
    /// many days unused (default 30).
    pub unused_days: u64,
    /// `REGISTRATION_PER_ADDRESS_HOURLY`: registrations one address may
    /// make per hour (default 20); fetches of metadata documents count too.
    pub per_address_hourly: u32,
    /// `CLIENT_ID_METADATA_DOCUMENTS`: `on` fetches the metadata document
    /// an https client id names (default `off`).
    pub documents: bool,
    /// `CLIENT_ID_METADATA_PRIVATE_ADDRESSES`: `true` lets a document's
    /// host be loopback or private, for tests and local runs only (default
    /// `false`).
    pub documents_private_addresses: bool,
    /// `CLIENT_ID_METADATA_CA_FILE`: CA certificates (PEM) trusted for
    /// documents besides the system's, for tests and local runs; read at
    /// start-up.
    pub documents_ca_pem: Option<Vec<u8>>,
}

impl RegistrationConfig {
    fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let policy = match optional(src, "REGISTRATION_POLICY") {
            None => RegistrationPolicy::Off,
            Some(raw) => RegistrationPolicy::parse(&raw).ok_or_else(|| ConfigError::Invalid {
                name: "REGISTRATION_POLICY",
                reason: format!("expected off, public or token, got {raw:?}"),
            })?,
        };
        let scopes = optional(src, "REGISTRATION_SCOPES")
            .unwrap_or_else(|| "openid profile email".to_string());
        if Scopes::parse(&scopes).is_err() {
            return Err(ConfigError::Invalid {
                name: "REGISTRATION_SCOPES",
                reason: "a scope may hold only printable ASCII other than '\"' and '\\'".into(),
            });
        }
        Ok(Self {
            policy,
            scopes,
            unused_days: whole(src, "REGISTRATION_UNUSED_DAYS", 30, 3650)?,
            per_address_hourly: whole(src, "REGISTRATION_PER_ADDRESS_HOURLY", 20, 100_000)? as u32,
            documents: switch(src, "CLIENT_ID_METADATA_DOCUMENTS", false)?,
            documents_private_addresses: switch(
                src,
                "CLIENT_ID_METADATA_PRIVATE_ADDRESSES",
                false,
            )?,
            documents_ca_pem: match optional(src, "CLIENT_ID_METADATA_CA_FILE") {
                None => None,
                Some(path) => Some(std::fs::read(&path).map_err(|e| ConfigError::Invalid {
                    name: "CLIENT_ID_METADATA_CA_FILE",
                    reason: format!("cannot read {path}: {e}"),
                })?),
            },
        })
    }
}

/// An on/off setting: `true`/`on`/`1` or `false`/`off`/`0`.
fn switch(src: &impl Source, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match optional(src, name) {
        None => Ok(default),
        Some(raw) => on_or_off(&raw).ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("expected on or off, got {raw:?}"),
        }),
    }
}

/// The spellings every switch accepts.
fn on_or_off(raw: &str) -> Option<bool> {
    match raw {
        "1" | "true" | "on" => Some(true),
        "0" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// The largest memory size, MB, whose function warms up by default.
pub const WARM_UP_AUTO_MAX_MB: u64 = 256;

/// `WARM_UP`: `auto` (or unset) decides by the memory size Lambda gives the
/// function; where none is given (a local run) it stays off.
fn warm_up(src: &impl Source) -> Result<bool, ConfigError> {
    match optional(src, "WARM_UP") {
        None => {}
        Some(raw) if raw == "auto" => {}
        Some(raw) => {
            return on_or_off(&raw).ok_or_else(|| ConfigError::Invalid {
                name: "WARM_UP",
                reason: format!("expected auto, on or off, got {raw:?}"),
            })
        }
    }
    let name = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    match optional(src, name) {
        None => Ok(false),
        Some(raw) => match raw.parse::<u64>() {
            Ok(mb) => Ok(mb <= WARM_UP_AUTO_MAX_MB),
            Err(_) => Err(ConfigError::Invalid {
                name,
                reason: format!("expected megabytes, a whole number, got {raw:?}"),
            }),
        },
    }
}

pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);
pub const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Four seconds of margin below the template's 10 s function timeout.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(6);
pub const DEFAULT_KEY_REFRESH: Duration = Duration::from_secs(300);
pub const DEFAULT_REVOCATION_CACHE: Duration = Duration::from_secs(2);
/// Longest revocation cache allowed: revocation must take seconds, not the token's life.
pub const MAX_REVOCATION_CACHE: Duration = Duration::from_secs(60);

/// Reads settings from any lookup, so tests need not touch the process environment.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Source for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

fn optional(src: &impl Source, name: &'static str) -> Option<String> {
    src.get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn required(src: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    optional(src, name).ok_or(ConfigError::Missing(name))
}

fn table_name(src: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    let value = required(src, name)?;
    // DynamoDB's own rule; checking here turns a runtime 500 into a start-up message.
    let ok = (3..=255).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: "a table name has 3 to 255 characters from a-z, A-Z, 0-9, '_', '-', '.'".into(),
        })
    }
}

/// A whole number between 1 and `max`.
fn whole(
    src: &impl Source,
    name: &'static str,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = optional(src, name) else {
        return Ok(default);
    };
    match raw.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("expected a whole number from 1 to {max}, got {raw:?}"),
        }),
    }
}

fn seconds(
    src: &impl Source,
    name: &'static str,
    default: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    whole(src, name, default.as_secs(), max.as_secs()).map(Duration::from_secs)
}

/// `ISSUER`: an http(s) URL, without a trailing slash.
fn issuer_url(src: &impl Source) -> Result<Option<String>, ConfigError> {
    let Some(url) = optional(src, "ISSUER") else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name: "ISSUER",
            reason: "must be an http(s) URL".into(),
        });
    }
    // `jwks_uri` is the issuer plus a path, so a trailing slash would double it.
    Ok(Some(url.trim_end_matches('/').to_string()))
}

/// `SIGNING_KEY_SECRET_ID` or `SIGNING_KEY_FILE`, never both.
fn signing_key(src: &impl Source) -> Result<(Option<String>, Option<PathBuf>), ConfigError> {
    let secret = optional(src, "SIGNING_KEY_SECRET_ID");
    let file = optional(src, "SIGNING_KEY_FILE").map(PathBuf::from);
    if secret.is_some() && file.is_some() {
        return Err(ConfigError::Invalid {
            name: "SIGNING_KEY_SECRET_ID",
            reason: "set either SIGNING_KEY_SECRET_ID or SIGNING_KEY_FILE, not both".into(),
        });
    }
    Ok((secret, file))
}

/// How `token-admin` signs logout tokens as the issuer when it ends a
/// user's sessions: the function's `ISSUER` and signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutSignerConfig {
    pub issuer: String,
    pub key: SigningKeySetting,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeySetting {
    Secret(String),
    File(PathBuf),
}

impl LogoutSignerConfig {
    /// `Ok(Err(missing))` when a setting it needs is not set, naming it.
    pub fn from_source(src: &impl Source) -> Result<Result<Self, &'static str>, ConfigError> {
        let issuer = issuer_url(src)?;
        let key = match signing_key(src)? {
            (Some(id), _) => Some(SigningKeySetting::Secret(id)),
            (None, Some(path)) => Some(SigningKeySetting::File(path)),
            (None, None) => None,
        };
        Ok(match (issuer, key) {
            (None, _) => Err("ISSUER"),
            (_, None) => Err("SIGNING_KEY_SECRET_ID or SIGNING_KEY_FILE"),
            (Some(issuer), Some(key)) => Ok(Self { issuer, key }),
        })
    }

    pub fn from_env() -> Result<Result<Self, &'static str>, ConfigError> {
        Self::from_source(&Env)
    }
}

impl StoreConfig {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            users_table: table_name(src, "USERS_TABLE")?,
            tokens_table: table_name(src, "TOKENS_TABLE")?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }
}

impl Config {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let issuer = issuer_url(src)?;
        let (signing_key_secret, signing_key_file) = signing_key(src)?;
        let public_keys_secret = optional(src, "PUBLIC_KEYS_SECRET_ID");
        let factor_key_secret = optional(src, "FACTOR_KEY_SECRET_ID");
        let factor_key_file = optional(src, "FACTOR_KEY_FILE").map(PathBuf::from);
        if factor_key_secret.is_some() && factor_key_file.is_some() {
            return Err(ConfigError::Invalid {
                name: "FACTOR_KEY_SECRET_ID",
                reason: "set either FACTOR_KEY_SECRET_ID or FACTOR_KEY_FILE, not both".into(),
            });
        }
        let audience = required(src, "AUDIENCE")?;
        let accepted_audiences = match optional(src, "ACCEPTED_AUDIENCES") {
            None => vec![audience.clone()],
            Some(list) => list
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
        };
        let revocation_cache = match optional(src, "REVOCATION_CACHE_SECONDS") {
            None => DEFAULT_REVOCATION_CACHE,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n <= MAX_REVOCATION_CACHE.as_secs() => Duration::from_secs(n),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "REVOCATION_CACHE_SECONDS",
                        reason: format!(
                            "expected a whole number from 0 to {}, got {raw:?}",
                            MAX_REVOCATION_CACHE.as_secs()
                        ),
                    })
                }
            },
        };
        let warm_up = warm_up(src)?;
        let dpop_nonces = switch(src, "DPOP_NONCES", false)?;
        Ok(Self {
            warm_up,
            dpop_nonces,
            registration: RegistrationConfig::from_source(src)?,
            store: StoreConfig::from_source(src)?,
            issuer,
            audience,
            revocation_cache,
            accepted_audiences,
            signing_key_secret,
            signing_key_file,
            public_keys_secret,
            factor_key_secret,
            factor_key_file,
            access_token_ttl: seconds(
                src,
                "ACCESS_TOKEN_TTL_SECONDS",
                DEFAULT_ACCESS_TOKEN_TTL,
                Duration::from_secs(24 * 3600),
            )?,
            refresh_token_ttl: seconds(
                src,
                "REFRESH_TOKEN_TTL_SECONDS",
                DEFAULT_REFRESH_TOKEN_TTL,
                Duration::from_secs(365 * 24 * 3600),
            )?,
            lockout_threshold: whole(src, "LOCKOUT_THRESHOLD", 10, 1000)? as u32,
            lockout_user_threshold: whole(src, "LOCKOUT_USER_THRESHOLD", 100, 100)? as u32,
            lockout_address_threshold: whole(src, "LOCKOUT_ADDRESS_THRESHOLD", 100, 100_000)?
                as u32,
            lockout_initial: seconds(
                src,
                "LOCKOUT_INITIAL_SECONDS",
                Duration::from_secs(60),
                Duration::from_secs(24 * 3600),
            )?,
            lockout_max: seconds(
                src,
                "LOCKOUT_MAX_SECONDS",
                Duration::from_secs(900),
                Duration::from_secs(24 * 3600),
            )?,
            session_idle: seconds(
                src,
                "SESSION_IDLE_SECONDS",
                Duration::from_secs(30 * 60),
                Duration::from_secs(24 * 3600),
            )?,
            session_max: seconds(
                src,
                "SESSION_MAX_SECONDS",
                Duration::from_secs(10 * 3600),
                Duration::from_secs(30 * 24 * 3600),
            )?,
            request_deadline: seconds(
                src,
                "REQUEST_DEADLINE_SECONDS",
                DEFAULT_REQUEST_DEADLINE,
                Duration::from_secs(9),
            )?,
            key_refresh: seconds(
                src,
                "KEY_REFRESH_SECONDS",
                DEFAULT_KEY_REFRESH,
                Duration::from_secs(3600),
            )?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn src(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("USERS_TABLE", "users"),
        ("TOKENS_TABLE", "tokens"),
        ("AUDIENCE", "aud"),
    ];

    #[test]
    fn warm_up_follows_the_memory_size_unless_set() {
        let warm = |extra: &[(&'static str, &'static str)]| {
            let pairs: Vec<_> = BASE.iter().chain(extra).copied().collect();
            Config::from_source(&src(&pairs)).map(|c| c.warm_up)
        };
        let size = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
        // No memory size given: a local run, off.
        assert!(!warm(&[]).unwrap());
        assert!(warm(&[(size, "128")]).unwrap());
        assert!(warm(&[(size, "256")]).unwrap());
        assert!(!warm(&[(size, "257")]).unwrap());
        assert!(!warm(&[(size, "1024")]).unwrap());
        assert!(warm(&[(size, "128"), ("WARM_UP", "auto")]).unwrap());
        assert!(!warm(&[(size, "1024"), ("WARM_UP", "auto")]).unwrap());
        // Set, it decides at every size.
        assert!(warm(&[(size, "1024"), ("WARM_UP", "on")]).unwrap());
        assert!(warm(&[("WARM_UP", "true")]).unwrap());
        assert!(!warm(&[(size, "128"), ("WARM_UP", "off")]).unwrap());
        for bad in [&[("WARM_UP", "maybe")][..], &[(size, "lots")]] {
            let err = warm(bad).unwrap_err().to_string();
            assert!(err.contains(bad[0].0), "{err}");
        }
    }

    #[test]
    fn minimal_settings_use_defaults() {
        let c = Config::from_source(&src(BASE)).unwrap();
        assert_eq!(c.store.users_table, "users");
        assert_eq!(c.issuer, None);
        assert_eq!(c.signing_key_file, None);
        assert_eq!(c.access_token_ttl, Duration::from_secs(3600));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(2_592_000));
        assert_eq!((c.lockout_threshold, c.lockout_user_threshold), (10, 100));
    }

    #[test]
    fn registration_is_off_unless_set_and_bad_settings_are_named() {
        let c = Config::from_source(&src(BASE)).unwrap();
        assert_eq!(c.registration.policy, RegistrationPolicy::Off);
        assert_eq!(c.registration.unused_days, 30);
        assert!(!c.registration.documents && !c.registration.documents_private_addresses);
        let mut pairs = BASE.to_vec();
        pairs.push(("REGISTRATION_POLICY", "token"));
        let c = Config::from_source(&src(&pairs)).unwrap();
        assert_eq!(c.registration.policy, RegistrationPolicy::Token);
        for (name, bad) in [
            ("REGISTRATION_POLICY", "open"),
            ("REGISTRATION_SCOPES", "a\\b"),
            ("REGISTRATION_UNUSED_DAYS", "0"),
            ("REGISTRATION_PER_ADDRESS_HOURLY", "many"),
            ("CLIENT_ID_METADATA_DOCUMENTS", "yes"),
            ("CLIENT_ID_METADATA_PRIVATE_ADDRESSES", "sometimes"),
            ("CLIENT_ID_METADATA_CA_FILE", "/nowhere/ca.pem"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((name, bad));
            let err = Config::from_source(&src(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn missing_setting_is_named() {
        let err = Config::from_source(&src(&BASE[..2])).unwrap_err();
        assert_eq!(err.to_string(), "configuration: AUDIENCE is not set");
        let err = Config::from_source(&src(&BASE[1..])).unwrap_err();
        assert!(err.to_string().contains("USERS_TABLE"));
    }

    #[test]
    fn bad_values_are_named() {
        let mut pairs = BASE.to_vec();
        pairs.push(("ACCESS_TOKEN_TTL_SECONDS", "soon"));
        let err = Config::from_source(&src(&pairs)).unwrap_err();
        assert!(
            err.to_string().contains("ACCESS_TOKEN_TTL_SECONDS"),
            "{err}"
        );

        let mut pairs = BASE.to_vec();
        pairs.push(("ISSUER", "issuer.example"));
        assert!(Config::from_source(&src(&pairs))
            .unwrap_err()
            .to_string()
            .contains("ISSUER"));

        let mut pairs = BASE.to_vec();
        pairs.push(("LOCKOUT_USER_THRESHOLD", "101"));
        let err = Config::from_source(&src(&pairs)).unwrap_err();
        assert!(err.to_string().contains("LOCKOUT_USER_THRESHOLD"), "{err}");
        assert!(err.to_string().contains("1 to 100"), "{err}");

        let mut pairs = BASE.to_vec();
        pairs[0] = ("USERS_TABLE", "a b");
        assert!(Config::from_source(&src(&pairs))
            .unwrap_err()
            .to_string()
            .contains("USERS_TABLE"));
    }

    #[test]
    fn one_key_source_at_a_time() {
        let mut pairs = BASE.to_vec();
        pairs.push((
            "SIGNING_KEY_SECRET_ID",
            "arn:aws:secretsmanager:eu-west-1:1:secret:k",
        ));
        assert!(Config::from_source(&src(&pairs))
            .unwrap()
            .signing_key_secret
            .is_some());
        pairs.push(("SIGNING_KEY_FILE", "/k.pem"));
        let err = Config::from_source(&src(&pairs)).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
    }

    #[test]
    fn issuer_loses_trailing_slash() {
        let mut pairs = BASE.to_vec();
        pairs.push(("ISSUER", "https://id.example.com/"));
        let c = Config::from_source(&src(&pairs)).unwrap();
        assert_eq!(c.issuer.as_deref(), Some("https://id.example.com"));
    }
}
