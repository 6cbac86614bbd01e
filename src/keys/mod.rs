//! Signing keys and the JWKS that publishes them.
//!
//! Three sources, chosen at cold start: a key ring in AWS Secrets Manager
//! (production; see [`ring`] and [`secret`]), a PEM file (local use), or an
//! ephemeral key (development only).

pub mod ring;
pub mod secret;

use jsonwebtoken::jwk::{
    AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the signing key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the signing key is not a PEM RSA private key")]
    Parse(#[source] jsonwebtoken::errors::Error),
    #[error("the signing key has {0} bits; at least {MIN_RSA_BITS} are required")]
    TooSmall(usize),
    #[error("RSA key generation failed")]
    Generate,
    #[error("cannot encode the JWKS")]
    Jwks(#[source] serde_json::Error),
    #[error("signing the token failed")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("cannot read the signing key secret {id}")]
    SecretRead {
        id: String,
        #[source]
        source: crate::store::BoxError,
    },
    #[error("cannot write the signing key secret {id}")]
    SecretWrite {
        id: String,
        #[source]
        source: crate::store::BoxError,
    },
    #[error("the signing key secret is not a key ring: {0}")]
    Ring(String),
    #[error("the key ring has no active signing key: run `token-admin keys rotate`")]
    NoActiveKey,
}

/// The signing key and the JWKS document, both prepared once at cold start.
pub struct KeySet {
    encoding: EncodingKey,
    header: Header,
    kid: String,
    jwks_json: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// From a PEM RSA private key (PKCS#1 or PKCS#8).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Self::with_published(pem, &[])
    }

    /// Signs with `active_pem` and publishes `others` (the next and previous
    /// keys) beside it in the JWKS.
    pub fn with_published(active_pem: &[u8], others: &[Jwk]) -> Result<Self, KeyError> {
        let (encoding, jwk) = parse_pem(active_pem)?;
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let mut keys = vec![jwk];
        keys.extend(
            others
                .iter()
                .filter(|k| k.common.key_id.as_deref() != Some(kid.as_str()))
                .cloned(),
        );
        let jwks_json = serde_json::to_string(&JwkSet { keys }).map_err(KeyError::Jwks)?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.clone());
        Ok(Self {
            encoding,
            header,
            kid,
            jwks_json,
        })
    }

    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&pem)
    }

    /// A fresh key that lives as long as the process: for local development.
    pub fn ephemeral() -> Result<Self, KeyError> {
        Self::from_pem(generate_pem()?.as_bytes())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `{"keys":[...]}`, serialised once.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// A compact RS256 JWS with `kid` in its header.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        jsonwebtoken::encode(&self.header, claims, &self.encoding).map_err(KeyError::Sign)
    }
}

/// The public JWK (with `kid`, `use`, `alg`) of a PEM RSA private key.
pub fn public_jwk(pem: &[u8]) -> Result<Jwk, KeyError> {
    parse_pem(pem).map(|(_, jwk)| jwk)
}

fn parse_pem(pem: &[u8]) -> Result<(EncodingKey, Jwk), KeyError> {
    let encoding = EncodingKey::from_rsa_pem(pem).map_err(KeyError::Parse)?;
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(KeyError::Parse)?;
    if let AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
        let bits = modulus_bits(&rsa.n);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::TooSmall(bits));
        }
    }
    // RFC 7638 thumbprint: stable across restarts and instances for one key.
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(KeyError::Parse)?;
    jwk.common.key_id = Some(kid);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    Ok((encoding, jwk))
}

/// Loads the signing keys named by the configuration, once per cold start.
pub async fn load(
    config: &crate::config::Config,
    sdk: &aws_config::SdkConfig,
) -> Result<KeySet, KeyError> {
    if let Some(id) = &config.signing_key_secret {
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        return secret::load_ring(&client, id).await?.keyset();
    }
    match &config.signing_key_file {
        Some(path) => KeySet::from_file(path),
        None => {
            tracing::warn!(
                "neither SIGNING_KEY_SECRET_ID nor SIGNING_KEY_FILE is set: signing with an \
                 ephemeral key that dies with this process (local development only)"
            );
            KeySet::ephemeral()
        }
    }
}

fn modulus_bits(n_b64url: &str) -> usize {
    use base64::Engine;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(n_b64url)
        .unwrap_or_default();
    let leading = n.iter().take_while(|b| **b == 0).count();
    match n.get(leading) {
        Some(first) => (n.len() - leading - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// A new 2048-bit RSA private key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| KeyError::Generate)?;
    let der = pair.as_der().map_err(|_| KeyError::Generate)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn signs_tokens_that_verify_against_the_published_jwks() {
        let keys = KeySet::ephemeral().unwrap();
        let token = keys
            .sign(&serde_json::json!({"sub": "x", "exp": 4_000_000_000u64, "aud": "a"}))
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(keys.kid()));

        let set: JwkSet = serde_json::from_str(keys.jwks_json()).unwrap();
        let jwk = set.find(keys.kid()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["a"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap();
        assert_eq!(data.claims["sub"], "x");

        let raw: serde_json::Value = serde_json::from_str(keys.jwks_json()).unwrap();
        let k = &raw["keys"][0];
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["kid"], keys.kid());
        assert_eq!(k["e"], "AQAB");
        assert_eq!(modulus_bits(k["n"].as_str().unwrap()), 2048);
    }

    #[test]
    fn same_key_same_kid() {
        let pem = generate_pem().unwrap();
        let a = KeySet::from_pem(pem.as_bytes()).unwrap();
        let b = KeySet::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_ne!(a.kid(), KeySet::ephemeral().unwrap().kid());
    }

    #[test]
    fn rejects_garbage_and_missing_files() {
        assert!(matches!(
            KeySet::from_pem(b"not a key"),
            Err(KeyError::Parse(_))
        ));
        let err = KeySet::from_file(Path::new("/nonexistent/key.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key.pem"));
    }
}
