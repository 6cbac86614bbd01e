//! The admin command line: tables, users, clients, keys. It reads the same
//! configuration (`USERS_TABLE`, `TOKENS_TABLE`, the AWS chain) as the function.

use crate::config::{ConfigError, StoreConfig};
use crate::core::password::{Hasher, Password, PasswordError};
use crate::core::record::client::{
    Client, ClientId, ClientSecret, GrantType, RedirectUri, Scopes, MAX_CLIENT_NAME_CHARS,
};
use crate::core::record::throttle;
use crate::core::record::user::{
    Account, LoginName, User, Username, UsernameError, DEFAULT_AUTH_SOURCE,
};
use crate::core::store::{AdminStore, StoreError};
use crate::keys::ring::KeyRing;
use crate::keys::secret as key_secret;
use crate::keys::{self, KeyError};
use crate::store::DynamoStore;
use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

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
}

#[derive(Debug, Subcommand)]
pub enum AddressCommand {
    /// Lift the budget of failed log ins across usernames that one source
    /// address spent (password spraying), before its window passes.
    Unlock {
        /// The address as API Gateway reports it (`sourceIp`).
        #[arg(long)]
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once
    /// (only its hash is stored).
    Create(CreateClient),
    /// Print every client, one per line.
    List,
    /// Print one client (never its secret).
    Show(ClientIdArgs),
    /// Give a confidential client a new secret, printed once; the old one
    /// stops working at once.
    RotateSecret(ClientIdArgs),
    /// Refuse the client at every endpoint; its tokens stop being active.
    Disable(ClientIdArgs),
    /// Accept a disabled client again.
    Enable(ClientIdArgs),
    /// Remove a client.
    Delete(ClientIdArgs),
}

#[derive(Debug, Args)]
pub struct ClientIdArgs {
    #[arg(long)]
    pub client_id: String,
}

#[derive(Debug, Args)]
pub struct CreateClient {
    #[arg(long)]
    pub client_id: String,
    /// A public client (a native or browser app): no secret, it sends only
    /// `client_id`, and cannot use `client_credentials`.
    #[arg(long)]
    pub public: bool,
    /// Comma-separated: password, refresh_token, client_credentials,
    /// authorization_code.
    #[arg(long, value_delimiter = ',', default_value = "password,refresh_token")]
    pub grant_types: Vec<String>,
    /// Where the login page may send the browser back (repeat for more):
    /// exact URIs, `https://`, or `http://` on localhost or 127.0.0.1 only.
    /// Needed for authorization_code.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// The name the login page shows ("Sign in to continue to …").
    #[arg(long)]
    pub name: Option<String>,
    /// Space-separated scopes the client may ask for; a request without
    /// `scope` gets all of them. `openid` adds an ID token.
    #[arg(long, default_value = "openid")]
    pub scopes: String,
    /// The `aud` of its access tokens (default: the function's AUDIENCE).
    #[arg(long)]
    pub audience: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TablesCommand {
    /// Create both tables (same keys and TTL as template.yaml); existing ones are kept.
    Create,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create(CreateUser),
    /// Replace a user's password, read from standard input.
    SetPassword(UsernameArgs),
    /// Refuse all log ins of a user.
    Disable(UsernameArgs),
    /// Allow a disabled user to log in again.
    Enable(UsernameArgs),
    /// End every refresh family and session of a user (log out everywhere);
    /// the password and the account stay as they are.
    RevokeTokens(UsernameArgs),
    /// Remove a user.
    Delete(UsernameArgs),
    /// Print every user, one per line.
    List,
    /// Print one user (no secrets) and the lock state of its username.
    Show(UsernameArgs),
    /// Lift every lock of a username: its own and those of every address.
    Unlock(UsernameArgs),
}

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

/// Writes the ring, then its public keys where a secret for them is named.
async fn save_keys(
    client: &aws_sdk_secretsmanager::Client,
    secret: &SecretArgs,
    ring: &crate::keys::ring::KeyRing,
) -> Result<(), AdminError> {
    key_secret::save_ring(client, &secret.secret_id, ring).await?;
    if let Some(public) = &secret.public_secret_id {
        key_secret::save_public(client, public, ring).await?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct UsernameArgs {
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input (required: passwords never go on the command line).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input (required).
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(long, default_value = "")]
    pub full_name: String,
    #[arg(long, default_value = "")]
    pub email: String,
    /// The numeric role of the user dialect.
    #[arg(long, default_value_t = 0)]
    pub role: i64,
    /// Role names, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Defaults to a new random UUID.
    #[arg(long)]
    pub customer_id: Option<Uuid>,
    #[arg(long, default_value = DEFAULT_AUTH_SOURCE)]
    pub auth_source: String,
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

fn read_password(flag: bool) -> Result<Password, AdminError> {
    if !flag {
        return Err(AdminError::PasswordStdinRequired);
    }
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(AdminError::Stdin)?;
    // `echo pw |` and here-strings add one line ending; the password itself keeps its spaces.
    let raw = raw
        .strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(&raw);
    Ok(Password::parse(raw)?)
}

pub async fn run(cli: Cli) -> Result<(), AdminError> {
    match cli.command {
        Command::Keys(KeysCommand::Generate { out }) => generate_key(&out),
        Command::Keys(KeysCommand::Rotate {
            secret,
            keep_previous_hours,
        }) => {
            let client = secrets_client().await;
            let mut ring = key_secret::load_ring(&client, &secret.secret_id).await?;
            let keep = time::Duration::hours(i64::from(keep_previous_hours));
            ring.rotate(OffsetDateTime::now_utc(), keep)?;
            save_keys(&client, &secret, &ring).await?;
            print_ring(&ring);
            Ok(())
        }
        Command::Keys(KeysCommand::Revoke {
            secret,
            kid,
            keep_previous_hours,
        }) => {
            let client = secrets_client().await;
            let mut ring = key_secret::load_ring(&client, &secret.secret_id).await?;
            let keep = time::Duration::hours(i64::from(keep_previous_hours));
            ring.revoke(&kid, OffsetDateTime::now_utc(), keep)?;
            save_keys(&client, &secret, &ring).await?;
            tracing::info!(
                target: "audit",
                event = "admin_key_revoked",
                kid,
                operator = std::env::var("USER").unwrap_or_default(),
            );
            print_ring(&ring);
            Ok(())
        }
        Command::Keys(KeysCommand::List { secret }) => {
            let client = secrets_client().await;
            print_ring(&key_secret::load_ring(&client, &secret.secret_id).await?);
            Ok(())
        }
        Command::Tables(TablesCommand::Create) => {
            let store = connect().await?;
            for line in store.create_tables().await? {
                println!("{line}");
            }
            Ok(())
        }
        Command::User(cmd) => {
            let store = connect().await?;
            user_command(&store, cmd, OffsetDateTime::now_utc()).await
        }
        Command::Client(cmd) => {
            let store = connect().await?;
            client_command(&store, cmd, OffsetDateTime::now_utc()).await
        }
        Command::Address(AddressCommand::Unlock { address }) => {
            let store = connect().await?;
            let address = address.trim();
            if address.is_empty() {
                return Err(AdminError::Invalid("--address must not be empty".into()));
            }
            store
                .delete_throttle(&throttle::address_key(Some(address)))
                .await?;
            tracing::info!(
                target: "audit",
                event = "admin_address_unlocked",
                source_ip = address,
                operator = std::env::var("USER").unwrap_or_default(),
            );
            println!("unlocked address {address}");
            Ok(())
        }
    }
}

async fn connect() -> Result<DynamoStore, AdminError> {
    let config = StoreConfig::from_env()?;
    let client = aws_sdk_dynamodb::Client::new(&crate::aws::sdk_config().await);
    Ok(crate::compose::store(client, &config))
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await)
}

fn print_ring(ring: &KeyRing) {
    let when = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| t.to_string())
    };
    println!("kid\tstatus\tcreated\tretired");
    for k in &ring.keys {
        println!(
            "{}\t{}\t{}\t{}",
            k.kid,
            k.status,
            when(k.created_at),
            k.retired_at.map(when).unwrap_or_else(|| "-".into())
        );
    }
}

fn generate_key(out: &std::path::Path) -> Result<(), AdminError> {
    use std::io::Write;
    let pem = keys::generate_pem()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let write = |path: &std::path::Path| -> std::io::Result<()> {
        opts.open(path)?.write_all(pem.as_bytes())
    };
    write(out).map_err(|source| AdminError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    println!("wrote a new RSA-2048 signing key to {}", out.display());
    Ok(())
}

/// The user commands, against any store (tests use DynamoDB Local).
pub async fn user_command<S: AdminStore>(
    store: &S,
    cmd: UserCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let hasher = Hasher::new();
    match cmd {
        UserCommand::Create(args) => {
            let username = Username::parse(&args.username)?;
            let password = read_password(args.password_stdin)?;
            password.check_strength(&[username.as_str(), &args.email, &args.full_name])?;
            let roles: Vec<String> = args
                .roles
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
            if args.auth_source.trim().is_empty() {
                return Err(AdminError::Invalid(
                    "--auth-source must not be empty".into(),
                ));
            }
            let user = User {
                password_hash: hasher.hash(&password)?,
                account: Account {
                    id: Uuid::new_v4(),
                    username: username.clone(),
                    full_name: args.full_name,
                    email: args.email,
                    role: args.role,
                    roles,
                    customer_id: args.customer_id.unwrap_or_else(Uuid::new_v4),
                    auth_source: args.auth_source.trim().to_string(),
                    enabled: true,
                    created_at: now,
                    last_login_at: None,
                    password_changed_at: now,
                    tokens_revoked_at: None,
                    token_version: 0,
                },
            };
            match store.create_user(&user).await {
                Err(StoreError::AlreadyExists) => Err(AdminError::UserExists(username.to_string())),
                Err(e) => Err(e.into()),
                Ok(()) => {
                    audit("user_created", &username, Some(user.id));
                    println!("created user {username} (id {})", user.id);
                    Ok(())
                }
            }
        }
        UserCommand::SetPassword(args) => {
            let username = Username::parse(&args.username)?;
            let password = read_password(args.password_stdin)?;
            let existing = store
                .get_user(&username)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(username.to_string()))?;
            password.check_strength(&[username.as_str(), &existing.email, &existing.full_name])?;
            let hash = hasher.hash(&password)?;
            if store.set_password(&username, &hash, now).await?.is_none() {
                return Err(AdminError::NoSuchUser(username.to_string()));
            }
            audit("password_set", &username, Some(existing.id));
            println!("password of {username} changed");
            Ok(())
        }
        UserCommand::Disable(args)
        | UserCommand::Enable(args)
        | UserCommand::RevokeTokens(args)
        | UserCommand::Show(args)
        | UserCommand::Unlock(args)
            if args.password_stdin =>
        {
            Err(AdminError::Invalid(format!(
                "--password-stdin does not apply to {}",
                args.username
            )))
        }
        UserCommand::Disable(args) => {
            let username = Username::parse(&args.username)?;
            if !store.set_enabled(&username, false, now).await? {
                return Err(AdminError::NoSuchUser(username.to_string()));
            }
            audit("user_disabled", &username, None);
            println!("disabled {username}");
            Ok(())
        }
        UserCommand::Enable(args) => {
            let username = Username::parse(&args.username)?;
            if !store.set_enabled(&username, true, now).await? {
                return Err(AdminError::NoSuchUser(username.to_string()));
            }
            audit("user_enabled", &username, None);
            println!("enabled {username}");
            Ok(())
        }
        UserCommand::RevokeTokens(args) => {
            let username = Username::parse(&args.username)?;
            if !store.revoke_tokens(&username, now).await? {
                return Err(AdminError::NoSuchUser(username.to_string()));
            }
            audit("tokens_revoked", &username, None);
            println!("ended every refresh family and session of {username}");
            Ok(())
        }
        UserCommand::Delete(args) => {
            let username = Username::parse(&args.username)?;
            if !store.delete_user(&username).await? {
                return Err(AdminError::NoSuchUser(username.to_string()));
            }
            audit("user_deleted", &username, None);
            println!("deleted {username}");
            Ok(())
        }
        UserCommand::List => {
            println!("username\tid\tenabled\trole\troles\tauth_source\tcustomer_id\tlast_login");
            for u in store.list_users().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    u.username,
                    u.id,
                    u.enabled,
                    u.role,
                    u.roles.join(","),
                    u.auth_source,
                    u.customer_id,
                    u.last_login_at
                        .and_then(|t| t
                            .format(&time::format_description::well_known::Rfc3339)
                            .ok())
                        .unwrap_or_else(|| "-".into())
                );
            }
            Ok(())
        }
        UserCommand::Show(args) => {
            let username = Username::parse(&args.username)?;
            let user = store
                .get_user(&username)
                .await?
                .ok_or_else(|| AdminError::NoSuchUser(username.to_string()))?;
            let when = |t: Option<OffsetDateTime>| {
                t.and_then(|t| t.format(&Rfc3339).ok())
                    .unwrap_or_else(|| "-".into())
            };
            println!("username\t{}", user.username);
            println!("id\t{}", user.id);
            println!("enabled\t{}", user.enabled);
            println!("full_name\t{}", user.full_name);
            println!("email\t{}", user.email);
            println!("role\t{}", user.role);
            println!("roles\t{}", user.roles.join(","));
            println!("auth_source\t{}", user.auth_source);
            println!("customer_id\t{}", user.customer_id);
            println!("created\t{}", when(Some(user.created_at)));
            println!("last_login\t{}", when(user.last_login_at));
            println!("password_changed\t{}", when(Some(user.password_changed_at)));
            let own = throttle::key(&LoginName::Valid(username.clone()));
            let records = store.throttle_records(&own).await?;
            if records.is_empty() {
                println!("lock\tnone (no failed attempts remembered)");
            }
            for (key, t) in &records {
                let scope = if *key == own { "username" } else { "address" };
                let state = if t.is_locked(now) {
                    format!("locked until {}", when(t.locked_until))
                } else {
                    "not locked".to_string()
                };
                println!(
                    "lock\t{scope}: {state}; {} failure(s) since the last lock, {} lock(s) so far, forgotten after {}",
                    t.failures,
                    t.lockouts,
                    when(Some(t.expires_at))
                );
            }
            Ok(())
        }
        UserCommand::Unlock(args) => {
            let username = Username::parse(&args.username)?;
            let own = throttle::key(&LoginName::Valid(username.clone()));
            let records = store.throttle_records(&own).await?;
            for (key, _) in &records {
                store.delete_throttle(key).await?;
            }
            audit("user_unlocked", &username, None);
            println!(
                "unlocked {username} ({} record(s) of failed attempts removed)",
                records.len()
            );
            Ok(())
        }
    }
}

fn client_id(raw: &str) -> Result<ClientId, AdminError> {
    ClientId::parse(raw).map_err(|e| AdminError::Invalid(format!("--client-id: {e}")))
}

/// The client commands, against any store (tests use DynamoDB Local).
pub async fn client_command<S: AdminStore>(
    store: &S,
    cmd: ClientCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let no_such = |id: &ClientId| AdminError::Invalid(format!("no client {id}"));
    match cmd {
        ClientCommand::Create(args) => {
            let id = client_id(&args.client_id)?;
            let mut grant_types = Vec::new();
            for raw in args
                .grant_types
                .iter()
                .map(|g| g.trim())
                .filter(|g| !g.is_empty())
            {
                let g = GrantType::parse(raw).ok_or_else(|| {
                    AdminError::Invalid(format!(
                        "--grant-types: unknown grant type {raw:?} (password, refresh_token, client_credentials, authorization_code)"
                    ))
                })?;
                if !grant_types.contains(&g) {
                    grant_types.push(g);
                }
            }
            if grant_types.is_empty() {
                return Err(AdminError::Invalid("--grant-types: none given".into()));
            }
            if args.public && grant_types.contains(&GrantType::ClientCredentials) {
                return Err(AdminError::Invalid(
                    "a public client cannot use client_credentials (it has no secret)".into(),
                ));
            }
            let mut redirect_uris: Vec<RedirectUri> = Vec::new();
            for raw in &args.redirect_uris {
                let uri = RedirectUri::parse(raw)
                    .map_err(|e| AdminError::Invalid(format!("--redirect-uri {raw:?}: {e}")))?;
                if !redirect_uris.contains(&uri) {
                    redirect_uris.push(uri);
                }
            }
            let code_flow = grant_types.contains(&GrantType::AuthorizationCode);
            if code_flow && redirect_uris.is_empty() {
                return Err(AdminError::Invalid(
                    "the authorization_code grant needs at least one --redirect-uri".into(),
                ));
            }
            if !code_flow && !redirect_uris.is_empty() {
                return Err(AdminError::Invalid(
                    "--redirect-uri is only for clients with the authorization_code grant".into(),
                ));
            }
            let name = match args.name.as_deref().map(str::trim) {
                None => None,
                Some(n)
                    if n.is_empty()
                        || n.chars().count() > MAX_CLIENT_NAME_CHARS
                        || n.chars().any(char::is_control) =>
                {
                    return Err(AdminError::Invalid(format!(
                        "--name must be 1 to {MAX_CLIENT_NAME_CHARS} characters, without control characters"
                    )))
                }
                Some(n) => Some(n.to_string()),
            };
            let scopes = Scopes::parse(&args.scopes)
                .map_err(|e| AdminError::Invalid(format!("--scopes: {e}")))?;
            let audience = match args.audience.as_deref().map(str::trim) {
                Some("") => return Err(AdminError::Invalid("--audience must not be empty".into())),
                other => other.map(str::to_string),
            };
            let secret = if args.public {
                None
            } else {
                Some(ClientSecret::generate().map_err(|e| AdminError::Invalid(e.to_string()))?)
            };
            let client = Client {
                id: id.clone(),
                secret_hash: secret.as_ref().map(ClientSecret::hash),
                grant_types,
                scopes,
                audience,
                redirect_uris,
                name,
                enabled: true,
                created_at: now,
            };
            match store.create_client(&client).await {
                Err(StoreError::AlreadyExists) => {
                    Err(AdminError::Invalid(format!("client {id} already exists")))
                }
                Err(e) => Err(e.into()),
                Ok(()) => {
                    audit_client("client_created", &id);
                    println!("created client {id}");
                    print_client(&client);
                    if let Some(secret) = secret {
                        println!("client_secret\t{}", secret.expose());
                        eprintln!(
                            "the secret is shown only now: store it where the client can read it"
                        );
                    }
                    Ok(())
                }
            }
        }
        ClientCommand::List => {
            println!("client_id\ttype\tenabled\tgrant_types\tscopes\taudience");
            for c in store.list_clients().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    c.id,
                    if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    },
                    c.enabled,
                    grant_list(&c),
                    c.scopes,
                    c.audience.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        ClientCommand::Show(args) => {
            let id = client_id(&args.client_id)?;
            let client = store.get_client(&id).await?.ok_or_else(|| no_such(&id))?;
            print_client(&client);
            Ok(())
        }
        ClientCommand::RotateSecret(args) => {
            let id = client_id(&args.client_id)?;
            let client = store.get_client(&id).await?.ok_or_else(|| no_such(&id))?;
            if client.is_public() {
                return Err(AdminError::Invalid(format!(
                    "client {id} is public: it has no secret"
                )));
            }
            let secret =
                ClientSecret::generate().map_err(|e| AdminError::Invalid(e.to_string()))?;
            if !store.set_client_secret(&id, &secret.hash()).await? {
                return Err(no_such(&id));
            }
            audit_client("client_secret_rotated", &id);
            println!("client_secret\t{}", secret.expose());
            eprintln!("the old secret no longer works; the new one is shown only now");
            Ok(())
        }
        ClientCommand::Disable(args) => {
            let id = client_id(&args.client_id)?;
            if !store.set_client_enabled(&id, false).await? {
                return Err(no_such(&id));
            }
            audit_client("client_disabled", &id);
            println!("disabled client {id}");
            Ok(())
        }
        ClientCommand::Enable(args) => {
            let id = client_id(&args.client_id)?;
            if !store.set_client_enabled(&id, true).await? {
                return Err(no_such(&id));
            }
            audit_client("client_enabled", &id);
            println!("enabled client {id}");
            Ok(())
        }
        ClientCommand::Delete(args) => {
            let id = client_id(&args.client_id)?;
            if !store.delete_client(&id).await? {
                return Err(no_such(&id));
            }
            audit_client("client_deleted", &id);
            println!("deleted client {id}");
            Ok(())
        }
    }
}

fn grant_list(c: &Client) -> String {
    c.grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn print_client(c: &Client) {
    println!("client_id\t{}", c.id);
    println!(
        "type\t{}",
        if c.is_public() {
            "public"
        } else {
            "confidential"
        }
    );
    println!("enabled\t{}", c.enabled);
    println!("grant_types\t{}", grant_list(c));
    println!("scopes\t{}", c.scopes);
    println!("name\t{}", c.name.as_deref().unwrap_or("-"));
    if c.redirect_uris.is_empty() {
        println!("redirect_uri\t-");
    }
    for uri in &c.redirect_uris {
        println!("redirect_uri\t{uri}");
    }
    println!(
        "audience\t{}",
        c.audience.as_deref().unwrap_or("- (AUDIENCE)")
    );
    println!(
        "created\t{}",
        c.created_at.format(&Rfc3339).unwrap_or_else(|_| "-".into())
    );
}

fn audit_client(event: &str, id: &ClientId) {
    tracing::info!(
        target: "audit",
        event = format!("admin_{event}"),
        client_id = id.as_str(),
        operator = std::env::var("USER").unwrap_or_default(),
    );
}

/// A `token-admin` change, as an audit event beside the function's own.
fn audit(event: &str, username: &Username, user_id: Option<Uuid>) {
    let operator = std::env::var("USER").unwrap_or_default();
    tracing::info!(
        target: "audit",
        event = format!("admin_{event}"),
        username = username.as_str(),
        user_id = user_id.map(|u| u.to_string()).unwrap_or_default(),
        operator,
    );
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
