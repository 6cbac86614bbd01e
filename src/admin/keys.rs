//! `token-admin keys`: the signing key ring in Secrets Manager, and key
//! files for SIGNING_KEY_FILE.

use super::{operator, print, AdminError};
use crate::core::audit;
use crate::keys::ring::KeyRing;
use crate::keys::secret as key_secret;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate the key ring in Secrets Manager: the published next key starts
    /// signing, the signing key retires (public part kept for a while), and a
    /// new next key is published. On an empty ring, creates the first keys.
    Rotate {
        #[command(flatten)]
        secret: SecretArgs,
        /// How long a retired key stays in the JWKS (at least the access-token
        /// lifetime plus the life of a warm instance).
        #[arg(long, default_value_t = 48)]
        keep_previous_hours: u32,
    },
    /// Withdraw a key at once (a leaked one): it leaves the ring and the
    /// JWKS, so its tokens stop verifying; the signing key is first rotated
    /// out. Warm instances see it within KEY_REFRESH_SECONDS.
    Revoke {
        #[command(flatten)]
        secret: SecretArgs,
        /// The key id, as `keys list` shows it (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
        #[arg(long, default_value_t = 48)]
        keep_previous_hours: u32,
    },
    /// Show the ring: key ids, creation times and which key signs.
    List {
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Write a new 2048-bit RSA private key (PKCS#8 PEM) for SIGNING_KEY_FILE.
    Generate {
        /// File to create (mode 0600); it must not exist.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    /// The key ring's secret (ARN or name), as the function's SIGNING_KEY_SECRET_ID.
    #[arg(long, env = "SIGNING_KEY_SECRET_ID")]
    pub secret_id: String,
    /// The secret of the ring's public keys (ARN or name), as the
    /// authorizer's PUBLIC_KEYS_SECRET_ID: written with every change of the
    /// ring, so the authorizer verifies without a private key.
    #[arg(long, env = "PUBLIC_KEYS_SECRET_ID")]
    pub public_secret_id: Option<String>,
}

pub(super) async fn keys_command(cmd: KeysCommand) -> Result<(), AdminError> {
    match cmd {
        KeysCommand::Generate { out } => generate(&out),
        KeysCommand::Rotate {
            secret,
            keep_previous_hours,
        } => rotate(&secret, keep_previous_hours).await,
        KeysCommand::Revoke {
            secret,
            kid,
            keep_previous_hours,
        } => revoke(&secret, &kid, keep_previous_hours).await,
        KeysCommand::List { secret } => list(&secret).await,
    }
}

async fn rotate(secret: &SecretArgs, keep_previous_hours: u32) -> Result<(), AdminError> {
    let client = secrets_client().await;
    let mut ring = key_secret::load_ring(&client, &secret.secret_id).await?;
    ring.rotate(OffsetDateTime::now_utc(), hours(keep_previous_hours))?;
    save(&client, secret, &ring).await?;
    print::ring(&ring);
    Ok(())
}

async fn revoke(
    secret: &SecretArgs,
    kid: &str,
    keep_previous_hours: u32,
) -> Result<(), AdminError> {
    let client = secrets_client().await;
    let mut ring = key_secret::load_ring(&client, &secret.secret_id).await?;
    ring.revoke(kid, OffsetDateTime::now_utc(), hours(keep_previous_hours))?;
    save(&client, secret, &ring).await?;
    audit::admin_key_revoked(&operator(), kid);
    print::ring(&ring);
    Ok(())
}

async fn list(secret: &SecretArgs) -> Result<(), AdminError> {
    let client = secrets_client().await;
    print::ring(&key_secret::load_ring(&client, &secret.secret_id).await?);
    Ok(())
}

fn generate(out: &Path) -> Result<(), AdminError> {
    use std::io::Write;
    let pem = crate::keys::generate_pem()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let write = |path: &Path| -> std::io::Result<()> { opts.open(path)?.write_all(pem.as_bytes()) };
    write(out).map_err(|source| AdminError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    println!("wrote a new RSA-2048 signing key to {}", out.display());
    Ok(())
}

fn hours(h: u32) -> time::Duration {
    time::Duration::hours(i64::from(h))
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await)
}

/// Writes the ring, then its public keys where a secret for them is named.
async fn save(
    client: &aws_sdk_secretsmanager::Client,
    secret: &SecretArgs,
    ring: &KeyRing,
) -> Result<(), AdminError> {
    key_secret::save_ring(client, &secret.secret_id, ring).await?;
    if let Some(public) = &secret.public_secret_id {
        key_secret::save_public(client, public, ring).await?;
    }
    Ok(())
}
