//! The key ring's home in AWS Secrets Manager. The function only reads it
//! (once per cold start); `token-admin keys rotate` writes it.

use super::ring::KeyRing;
use super::KeyError;
use aws_sdk_secretsmanager::Client;

pub async fn load_ring(client: &Client, secret_id: &str) -> Result<KeyRing, KeyError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| KeyError::SecretRead {
            id: secret_id.to_string(),
            source: Box::new(e),
        })?;
    KeyRing::parse(out.secret_string().unwrap_or_default())
}

pub async fn save_ring(client: &Client, secret_id: &str, ring: &KeyRing) -> Result<(), KeyError> {
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(ring.to_json()?)
        .send()
        .await
        .map_err(|e| KeyError::SecretWrite {
            id: secret_id.to_string(),
            source: Box::new(e),
        })?;
    Ok(())
}
