//! `token-admin registration`: the initial access tokens that the
//! `token` registration policy asks of a client registering itself
//! (API §14).

use super::{print, AdminError};
use crate::core::record::registration::InitialAccessToken;
use crate::core::store::{AdminStore, StoreError};
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Make an initial access token, printed once (only its hash is
    /// stored). Whoever holds it may register clients until it expires.
    CreateToken(CreateToken),
    /// Print every initial access token not yet deleted (never the token).
    ListTokens,
    /// Withdraw an initial access token at once.
    RevokeToken(RevokeToken),
}

#[derive(Debug, Args)]
pub struct CreateToken {
    /// Days it is good for (1 to 365).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..=365))]
    pub days: u16,
    /// What it is for, shown by list-tokens.
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeToken {
    /// The id list-tokens shows.
    #[arg(long)]
    pub id: String,
}

pub async fn registration_command<S: AdminStore>(
    store: &S,
    cmd: RegistrationCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    match cmd {
        RegistrationCommand::CreateToken(args) => {
            let expires = now + Duration::days(i64::from(args.days));
            let (record, token) = InitialAccessToken::issue(args.note, now, expires)
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
            match store.create_initial_access_token(&record).await {
                Err(StoreError::AlreadyExists) => Err(AdminError::Invalid(
                    "the token was made twice; run it again".into(),
                )),
                Err(e) => Err(e.into()),
                Ok(()) => {
                    println!("id\t{}", record.id());
                    println!("initial_access_token\t{}", token.expose_secret());
                    eprintln!(
                        "the token is shown only now; a client registers with \
                         `Authorization: Bearer <token>` until it expires"
                    );
                    Ok(())
                }
            }
        }
        RegistrationCommand::ListTokens => {
            let tokens = store.list_initial_access_tokens().await?;
            print::initial_access_tokens(&tokens, now);
            Ok(())
        }
        RegistrationCommand::RevokeToken(args) => {
            let tokens = store.list_initial_access_tokens().await?;
            let found: Vec<&InitialAccessToken> =
                tokens.iter().filter(|t| t.id() == args.id).collect();
            let [token] = found.as_slice() else {
                return Err(AdminError::Invalid(format!(
                    "no initial access token {}",
                    args.id
                )));
            };
            if !store.delete_initial_access_token(&token.hash).await? {
                return Err(AdminError::Invalid(format!(
                    "no initial access token {}",
                    args.id
                )));
            }
            println!("revoked initial access token {}", args.id);
            Ok(())
        }
    }
}
