//! `token-admin client`: register and manage the OAuth clients of the
//! /oauth2 endpoints.

use super::{operator, print, AdminError};
use crate::core::audit::{self, ClientChange};
use crate::core::record::client::{
    Client, ClientFields, ClientId, ClientSecret, GrantType, LogoutUris, NewClient, NewClientError,
    MAX_CLIENT_NAME_CHARS, REGISTERED_ID_PREFIX,
};
use crate::core::store::{AdminStore, StoreError};
use clap::{Args, Subcommand};
use time::OffsetDateTime;

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
    /// Replace where a client hears of log outs: the options given are the
    /// new set (an option left out removes what it set).
    Update(UpdateClient),
}

/// Where a client hears of log outs (single sign-on, API §12).
#[derive(Debug, Args, Default)]
pub struct LogoutArgs {
    /// Where a log out may send the browser back (repeat for more): exact
    /// URIs, with the rules of --redirect-uri. Needs authorization_code.
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the issuer posts a logout token (OpenID Connect Back-Channel
    /// Logout) when a session the client got tokens in ends: `https://`, or
    /// `http://` on localhost or 127.0.0.1. Needs authorization_code.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateClient {
    #[arg(long)]
    pub client_id: String,
    #[command(flatten)]
    pub logout: LogoutArgs,
    /// Every sign-in for this client needs a second factor (a one-time
    /// code); its password grant is refused to users without an operator's
    /// leave. Left out, it is off.
    #[arg(long)]
    pub require_mfa: bool,
    /// Every token request of this client must carry a DPoP proof, so its
    /// tokens are bound to its key (RFC 9449). Left out, it is off.
    #[arg(long)]
    pub require_dpop: bool,
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
    /// authorization_code, urn:ietf:params:oauth:grant-type:device_code (a
    /// device without a browser, signed in at /oauth2/device).
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
    #[command(flatten)]
    pub logout: LogoutArgs,
    /// Every sign-in for this client needs a second factor (a one-time
    /// code); its password grant is refused to users without an operator's
    /// leave.
    #[arg(long)]
    pub require_mfa: bool,
    /// Every token request of this client must carry a DPoP proof, so its
    /// tokens are bound to its key (RFC 9449).
    #[arg(long)]
    pub require_dpop: bool,
}

/// The client commands, against any store (tests use DynamoDB Local).
pub async fn client_command<S: AdminStore>(
    store: &S,
    cmd: ClientCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    match cmd {
        ClientCommand::Create(args) => create(store, &args, now).await,
        ClientCommand::List => list(store).await,
        ClientCommand::Show(args) => show(store, &args).await,
        ClientCommand::RotateSecret(args) => rotate_secret(store, &args).await,
        ClientCommand::Disable(args) => set_enabled(store, &args, false).await,
        ClientCommand::Enable(args) => set_enabled(store, &args, true).await,
        ClientCommand::Delete(args) => delete(store, &args).await,
        ClientCommand::Update(args) => update(store, &args).await,
    }
}

/// The command line's words for a rule of [`NewClient`]: each names the
/// option that broke it.
fn refusal(e: NewClientError) -> AdminError {
    AdminError::Invalid(match e {
        NewClientError::Id(e) => format!("--client-id: {e}"),
        NewClientError::UnknownGrantType(raw) => {
            let known: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            format!(
                "--grant-types: unknown grant type {raw:?} ({})",
                known.join(", ")
            )
        }
        NewClientError::NoGrantType => "--grant-types: none given".into(),
        NewClientError::PublicClientNeedsSecret(_) => e.to_string(),
        NewClientError::RedirectUri { raw, error } => format!("--redirect-uri {raw:?}: {error}"),
        NewClientError::NoRedirectUri => {
            "the authorization_code grant needs at least one --redirect-uri".into()
        }
        NewClientError::UnusedRedirectUri => {
            "--redirect-uri is only for clients with the authorization_code grant".into()
        }
        NewClientError::Name(_) => format!(
            "--name must be 1 to {MAX_CLIENT_NAME_CHARS} characters, without control characters"
        ),
        NewClientError::Scopes(e) => format!("--scopes: {e}"),
        NewClientError::EmptyAudience => "--audience must not be empty".into(),
        NewClientError::PostLogoutRedirectUri { raw, error } => {
            format!("--post-logout-redirect-uri {raw:?}: {error}")
        }
        NewClientError::BackchannelLogoutUri { raw, error } => {
            format!("--backchannel-logout-uri {raw:?}: {error}")
        }
        NewClientError::UnusedLogoutUri => {
            "--post-logout-redirect-uri and --backchannel-logout-uri are only for clients with \
             the authorization_code grant"
                .into()
        }
    })
}

fn client_id(raw: &str) -> Result<ClientId, AdminError> {
    ClientId::parse(raw).map_err(|e| refusal(NewClientError::Id(e)))
}

/// The change as an audit event, beside the function's own.
fn audited(change: ClientChange, id: &ClientId) {
    audit::admin_client_changed(&operator(), change, id);
}

fn no_such(id: &ClientId) -> AdminError {
    AdminError::Invalid(format!("no client {id}"))
}

/// No secret could be made: the system's random source failed.
fn secret_failed(e: impl std::fmt::Display) -> AdminError {
    AdminError::Invalid(e.to_string())
}

async fn create<S: AdminStore>(
    store: &S,
    args: &CreateClient,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    // The function may write these clients: an operator's must be apart.
    if args.client_id.starts_with(REGISTERED_ID_PREFIX) {
        return Err(AdminError::Invalid(format!(
            "--client-id: ids starting {REGISTERED_ID_PREFIX} are for clients that register themselves"
        )));
    }
    if args.client_id.starts_with("https://") {
        return Err(AdminError::Invalid(
            "--client-id: an https id names a client's metadata document, which the issuer fetches"
                .into(),
        ));
    }
    let new = NewClient::parse(ClientFields {
        id: &args.client_id,
        public: args.public,
        grant_types: &args.grant_types,
        redirect_uris: &args.redirect_uris,
        name: args.name.as_deref(),
        scopes: &args.scopes,
        audience: args.audience.as_deref(),
        post_logout_redirect_uris: &args.logout.post_logout_redirect_uris,
        backchannel_logout_uri: args.logout.backchannel_logout_uri.as_deref(),
        require_mfa: args.require_mfa,
        require_dpop: args.require_dpop,
    })
    .map_err(refusal)?;
    let (client, secret) = Client::new(new, now).map_err(secret_failed)?;
    match store.create_client(&client).await {
        Err(StoreError::AlreadyExists) => Err(AdminError::Invalid(format!(
            "client {} already exists",
            client.id
        ))),
        Err(e) => Err(e.into()),
        Ok(()) => {
            audited(ClientChange::Created, &client.id);
            println!("created client {}", client.id);
            print::client(&client);
            if let Some(secret) = secret {
                print::new_secret(
                    &secret,
                    "the secret is shown only now: store it where the client can read it",
                );
            }
            Ok(())
        }
    }
}

async fn update<S: AdminStore>(store: &S, args: &UpdateClient) -> Result<(), AdminError> {
    let id = client_id(&args.client_id)?;
    let client = store.get_client(&id).await?.ok_or_else(|| no_such(&id))?;
    let logout = LogoutUris::parse(
        &args.logout.post_logout_redirect_uris,
        args.logout.backchannel_logout_uri.as_deref(),
    )
    .map_err(refusal)?;
    if !logout.is_empty() && !client.allows(GrantType::AuthorizationCode) {
        return Err(refusal(NewClientError::UnusedLogoutUri));
    }
    if !store.set_client_logout(&id, &logout).await?
        || !store
            .set_client_requirements(&id, args.require_mfa, args.require_dpop)
            .await?
    {
        return Err(no_such(&id));
    }
    audited(ClientChange::Updated, &id);
    let client = store.get_client(&id).await?.ok_or_else(|| no_such(&id))?;
    println!("updated client {id}");
    print::client(&client);
    Ok(())
}

async fn list<S: AdminStore>(store: &S) -> Result<(), AdminError> {
    print::client_header();
    for c in store.list_clients().await? {
        print::client_row(&c);
    }
    Ok(())
}

async fn show<S: AdminStore>(store: &S, args: &ClientIdArgs) -> Result<(), AdminError> {
    let id = client_id(&args.client_id)?;
    let client = store.get_client(&id).await?.ok_or_else(|| no_such(&id))?;
    print::client(&client);
    Ok(())
}

async fn rotate_secret<S: AdminStore>(store: &S, args: &ClientIdArgs) -> Result<(), AdminError> {
    let id = client_id(&args.client_id)?;
    let client = store.get_client(&id).await?.ok_or_else(|| no_such(&id))?;
    if client.is_public() {
        return Err(AdminError::Invalid(format!(
            "client {id} is public: it has no secret"
        )));
    }
    let secret = ClientSecret::generate().map_err(secret_failed)?;
    if !store.set_client_secret(&id, &secret.hash()).await? {
        return Err(no_such(&id));
    }
    audited(ClientChange::SecretRotated, &id);
    print::new_secret(
        &secret,
        "the old secret no longer works; the new one is shown only now",
    );
    Ok(())
}

async fn set_enabled<S: AdminStore>(
    store: &S,
    args: &ClientIdArgs,
    enabled: bool,
) -> Result<(), AdminError> {
    let id = client_id(&args.client_id)?;
    if !store.set_client_enabled(&id, enabled).await? {
        return Err(no_such(&id));
    }
    let (change, done) = if enabled {
        (ClientChange::Enabled, "enabled")
    } else {
        (ClientChange::Disabled, "disabled")
    };
    audited(change, &id);
    println!("{done} client {id}");
    Ok(())
}

async fn delete<S: AdminStore>(store: &S, args: &ClientIdArgs) -> Result<(), AdminError> {
    let id = client_id(&args.client_id)?;
    if !store.delete_client(&id).await? {
        return Err(no_such(&id));
    }
    audited(ClientChange::Deleted, &id);
    println!("deleted client {id}");
    Ok(())
}
