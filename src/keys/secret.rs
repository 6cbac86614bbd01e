//! The key ring's home in AWS Secrets Manager, and the home of its public
//! half. The functions only read them (the issuer the ring, the authorizer
//! the public keys); `token-admin keys rotate|revoke` writes both.

use super::ring::KeyRing;
use super::{KeyError, KeySet, KeySource};
use aws_sdk_secretsmanager::Client;
use jsonwebtoken::jwk::JwkSet;

/// The keys in secret `id`: the ring's signing keys, or its public keys alone.
pub async fn load_keyset(
    client: &Client,
    source: &KeySource,
    id: &str,
) -> Result<KeySet, KeyError> {
    match source {
        KeySource::PublicSecretsManager(_) => {
            let text = read(client, id).await?;
            let jwks: JwkSet =
                serde_json::from_str(&text).map_err(|e| KeyError::Ring(e.to_string()))?;
            KeySet::verify_only(jwks)
        }
        _ => load_ring(client, id).await?.keyset(),
    }
}

/// Writes the ring's public keys (no private part) to secret `id`.
pub async fn save_public(client: &Client, secret_id: &str, ring: &KeyRing) -> Result<(), KeyError> {
    let text = serde_json::to_string(&ring.public_jwks()).map_err(KeyError::Jwks)?;
    write(client, secret_id, text).await
}

pub(crate) async fn read(client: &Client, secret_id: &str) -> Result<String, KeyError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| KeyError::SecretRead {
            id: secret_id.to_string(),
            source: Box::new(e),
        })?;
    Ok(out.secret_string().unwrap_or_default().to_string())
}

async fn write(client: &Client, secret_id: &str, text: String) -> Result<(), KeyError> {
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(text)
        .send()
        .await
        .map_err(|e| KeyError::SecretWrite {
            id: secret_id.to_string(),
            source: Box::new(e),
        })?;
    Ok(())
}

pub async fn load_ring(client: &Client, secret_id: &str) -> Result<KeyRing, KeyError> {
    KeyRing::parse(&read(client, secret_id).await?)
}

pub async fn save_ring(client: &Client, secret_id: &str, ring: &KeyRing) -> Result<(), KeyError> {
    write(client, secret_id, ring.to_json()?).await
}
