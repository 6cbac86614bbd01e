//! The sealing port on AES-256-GCM: a sealed value is `1 ‖ nonce (12) ‖
//! ciphertext ‖ tag (16)`, the owner's id its associated data. The key is
//! derived (HKDF-SHA-256) from the factor key secret, which in AWS is a
//! secret of its own that only the function's role may read
//! (`FACTOR_KEY_SECRET_ID`); locally a file (`FACTOR_KEY_FILE`), or a key
//! that dies with the process.

use super::KeyError;
use crate::core::record::token::random;
use crate::core::seal::{SealError, Sealer};
use ::ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use std::path::PathBuf;

/// The format's version byte, so a later key or cipher can be told apart.
const VERSION: u8 = 1;
/// Shortest factor key accepted, in bytes (CloudFormation makes 64).
const MIN_KEY_BYTES: usize = 32;

/// Where the factor key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorKeySource {
    SecretsManager(String),
    File(PathBuf),
    Ephemeral,
}

pub struct FactorKey {
    key: LessSafeKey,
}

impl FactorKey {
    /// A key derived from `material` (at least 32 bytes of secret text).
    pub fn from_material(material: &[u8]) -> Result<Self, KeyError> {
        if material.len() < MIN_KEY_BYTES {
            return Err(KeyError::Ring(format!(
                "the factor key must have at least {MIN_KEY_BYTES} bytes"
            )));
        }
        let salt = ::ring::hkdf::Salt::new(::ring::hkdf::HKDF_SHA256, b"token-issuer");
        let mut raw = [0u8; 32];
        salt.extract(material)
            .expand(&[b"factor seal v1"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut raw))
            .map_err(|_| KeyError::Generate)?;
        let unbound = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| KeyError::Generate)?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    pub fn ephemeral() -> Result<Self, KeyError> {
        let material: [u8; 32] = random().map_err(|_| KeyError::Generate)?;
        Self::from_material(&material)
    }

    /// Reads the key from `source`, once per cold start.
    pub async fn load(
        source: &FactorKeySource,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, KeyError> {
        match source {
            FactorKeySource::SecretsManager(id) => {
                let client = aws_sdk_secretsmanager::Client::new(sdk);
                let text = super::secret::read(&client, id).await?;
                Self::from_material(text.trim().as_bytes())
            }
            FactorKeySource::File(path) => {
                let text = std::fs::read(path).map_err(|source| KeyError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::from_material(text.trim_ascii())
            }
            FactorKeySource::Ephemeral => {
                tracing::warn!(
                    "neither FACTOR_KEY_SECRET_ID nor FACTOR_KEY_FILE is set: second factors \
                     are sealed with a key that dies with this process (local development only)"
                );
                Self::ephemeral()
            }
        }
    }
}

impl Sealer for FactorKey {
    fn seal(&self, secret: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce: [u8; NONCE_LEN] = random().map_err(|_| SealError::Random)?;
        let mut body = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut body,
            )
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + body.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some((&VERSION, rest)) = sealed.split_first() else {
            return Err(SealError::Open);
        };
        let Some((nonce, body)) = rest.split_first_chunk::<NONCE_LEN>() else {
            return Err(SealError::Open);
        };
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(context),
                &mut body,
            )
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = FactorKey::from_material(&[7u8; 40]).unwrap();
        let sealed = key.seal(b"twenty bytes secret!", b"user-1").unwrap();
        assert_eq!(sealed.len(), 1 + 12 + 20 + 16);
        assert!(!sealed.windows(6).any(|w| w == b"twenty"));
        assert_eq!(
            key.open(&sealed, b"user-1").unwrap(),
            b"twenty bytes secret!"
        );
        assert_eq!(key.open(&sealed, b"user-2"), Err(SealError::Open));
        let other = FactorKey::from_material(&[8u8; 40]).unwrap();
        assert_eq!(other.open(&sealed, b"user-1"), Err(SealError::Open));
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert_eq!(key.open(&altered, b"user-1"), Err(SealError::Open));
        assert_eq!(key.open(&sealed[..10], b"user-1"), Err(SealError::Open));
        // The same key from the same material: a restart opens what was sealed.
        let again = FactorKey::from_material(&[7u8; 40]).unwrap();
        assert_eq!(
            again.open(&sealed, b"user-1").unwrap(),
            b"twenty bytes secret!"
        );
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(key.seal(b"x", b"u").unwrap(), key.seal(b"x", b"u").unwrap());
    }

    #[test]
    fn short_key_material_is_refused() {
        assert!(FactorKey::from_material(b"too short").is_err());
    }
}
