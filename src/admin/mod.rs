//! The admin command line: tables, users, clients, keys. It reads the same
//! configuration (`USERS_TABLE`, `TOKENS_TABLE`, the AWS chain) as the function.
//!
//! Each subject has its file: its clap grammar and one function per
//! subcommand. The rules of what may be created live in the core's records
//! ([`NewUser`](crate::core::record::user::NewUser),
//! [`NewClient`](crate::core::record::client::NewClient)), the audit events in
//! [`crate::core::audit`], the tables the commands print in [`print`].

mod address;
mod clients;
mod keys;
mod print;
mod registration;
mod resources;
mod tables;
mod telling;
mod users;

pub use address::AddressCommand;
pub use clients::{
    client_command, ClientCommand, ClientIdArgs, CreateClient, LogoutArgs, UpdateClient,
};
pub use keys::{KeysCommand, SecretArgs};
pub use registration::{registration_command, RegistrationCommand};
pub use resources::{resource_command, ResourceCommand};
pub use tables::TablesCommand;
pub use telling::Telling;
pub use users::{
    user_command, ConsentArgs, CreateUser, FactorPolicyArgs, MfaCommand, UserCommand, UsernameArgs,
};

use crate::config::{ConfigError, StoreConfig};
use crate::core::password::PasswordError;
use crate::core::record::user::UsernameError;
use crate::core::store::StoreError;
use crate::keys::KeyError;
use crate::store::DynamoStore;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(
    name = "token-admin",
    version,
    about = "Manage the token issuer's tables and users"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// DynamoDB tables.
    #[command(subcommand)]
    Tables(TablesCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// OAuth clients of the /oauth2 endpoints.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Source addresses.
    #[command(subcommand)]
    Address(AddressCommand),
    /// Clients that register themselves: initial access tokens.
    #[command(subcommand)]
    Registration(RegistrationCommand),
    /// The APIs tokens may be for (RFC 8707 resource indicators).
    #[command(subcommand)]
    Resource(ResourceCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid username: {0}")]
    Username(#[from] UsernameError),
    #[error("password refused: {0}")]
    Password(#[from] PasswordError),
    #[error("pass --password-stdin and the password on standard input")]
    PasswordStdinRequired,
    #[error("cannot read the password from standard input: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("no user {0}")]
    NoSuchUser(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{}", store_message(.0))]
    Store(#[from] StoreError),
    #[error("{}", key_message(.0))]
    Key(#[from] KeyError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("hashing failed: {0}")]
    Hash(#[from] crate::core::password::HashError),
}

/// One line that says what happened and, for the network, why.
fn store_message(e: &StoreError) -> String {
    match e {
        StoreError::Unreachable { source, .. } | StoreError::Backend { source, .. } => {
            let mut msg = e.to_string();
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
            let mut last = String::new();
            while let Some(s) = cur {
                last = s.to_string();
                cur = s.source();
            }
            if !last.is_empty() {
                msg.push_str(": ");
                msg.push_str(&last);
            }
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
                msg.push_str(&format!(" (endpoint {endpoint})"));
            }
            msg
        }
        other => other.to_string(),
    }
}

/// Key errors with the cause that says what to do (missing secret, no access).
fn key_message(e: &KeyError) -> String {
    match e {
        KeyError::SecretRead { source, .. } | KeyError::SecretWrite { source, .. } => {
            let mut last = source.to_string();
            let mut cur = source.source();
            while let Some(s) = cur {
                last = s.to_string();
                cur = s.source();
            }
            format!("{e}: {last}")
        }
        other => other.to_string(),
    }
}

pub async fn run(cli: Cli) -> Result<(), AdminError> {
    match cli.command {
        Command::Keys(cmd) => keys::keys_command(cmd).await,
        Command::Tables(cmd) => tables::tables_command(&connect().await?, cmd).await,
        Command::User(cmd) => {
            let store = connect().await?;
            let telling = match cmd {
                UserCommand::SetPassword(_)
                | UserCommand::Disable(_)
                | UserCommand::RevokeTokens(_)
                | UserCommand::Delete(_) => Telling::from_env().await?,
                _ => Telling::Nobody("nothing"),
            };
            user_command(&store, &telling, cmd, OffsetDateTime::now_utc()).await
        }
        Command::Client(cmd) => {
            let store = connect().await?;
            client_command(&store, cmd, OffsetDateTime::now_utc()).await
        }
        Command::Address(cmd) => address::address_command(&connect().await?, cmd).await,
        Command::Registration(cmd) => {
            let store = connect().await?;
            registration::registration_command(&store, cmd, OffsetDateTime::now_utc()).await
        }
        Command::Resource(cmd) => {
            let store = connect().await?;
            resources::resource_command(&store, cmd, OffsetDateTime::now_utc()).await
        }
    }
}

async fn connect() -> Result<DynamoStore, AdminError> {
    let config = StoreConfig::from_env()?;
    let client = aws_sdk_dynamodb::Client::new(&crate::aws::sdk_config().await);
    Ok(crate::compose::store(client, &config))
}

/// Who runs the command, for the audit events: the shell's login name.
fn operator() -> String {
    std::env::var("USER").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kid_may_start_with_a_hyphen() {
        let cli =
            Cli::try_parse_from(["token-admin", "keys", "revoke", "--secret-id", "s", "-Xy_1"])
                .expect("parses");
        assert!(matches!(
            cli.command,
            Command::Keys(KeysCommand::Revoke { kid, .. }) if kid == "-Xy_1"
        ));
    }
}
