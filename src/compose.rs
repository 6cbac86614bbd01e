//! The composition root: turns configuration into the parts' own settings.
//!
//! The parts (such as [`keys`](crate::keys)) do not know [`Config`], and
//! [`Config`] does not know them; the translation lives here.

use crate::config::Config;
use crate::keys::KeySource;

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
    }
}
