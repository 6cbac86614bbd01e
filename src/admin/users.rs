//! `token-admin user`: create, change and inspect users.

use super::telling::Telling;
use super::{operator, print, AdminError};
use crate::core::audit::{self, Origin, UserChange};
use crate::core::backchannel;
use crate::core::password::{Hasher, Password};
use crate::core::record::client::ClientId;
use crate::core::record::throttle;
use crate::core::record::user::{
    LoginName, NewUser, NewUserError, User, UserFields, Username, DEFAULT_AUTH_SOURCE,
};
use crate::core::store::{AdminStore, StoreError};
use clap::{Args, Subcommand};
use std::io::Read;
use time::OffsetDateTime;
use uuid::Uuid;

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
    /// Print a user's browser sessions (single sign-on), live or not.
    Sessions(UsernameArgs),
    /// Print what the user allowed third-party clients, or withdraw it
    /// for one client (`--withdraw CLIENT_ID`): its next sign-in asks again.
    Consents(ConsentArgs),
    /// A user's second factors (one-time codes, recovery codes, passkeys)
    /// and policy.
    #[command(subcommand)]
    Mfa(MfaCommand),
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Print what the user has enrolled and what is required of them.
    Show(UsernameArgs),
    /// Remove every second factor of the user (a lost phone): one-time
    /// codes, recovery codes and passkeys; the next sign-in that needs one
    /// enrols again.
    Reset(UsernameArgs),
    /// Require a second factor of the user at the login page, or allow the
    /// user a password alone on the password-only routes (a service
    /// account); what is not given stays as it is.
    Policy(FactorPolicyArgs),
}

#[derive(Debug, Args)]
pub struct FactorPolicyArgs {
    #[arg(long)]
    pub username: String,
    /// Whether a second factor is required of the user.
    #[arg(long)]
    pub require_mfa: Option<bool>,
    /// Whether the vendor dialects and the password grant take the user's
    /// password alone, factor or not.
    #[arg(long)]
    pub allow_password_only: Option<bool>,
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
pub struct ConsentArgs {
    #[arg(long)]
    pub username: String,
    /// The client whose consent to withdraw.
    #[arg(long)]
    pub withdraw: Option<String>,
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

/// The user commands, against any store (tests use DynamoDB Local).
/// `telling` says how the commands that end sessions tell their apps.
pub async fn user_command<S: AdminStore>(
    store: &S,
    telling: &Telling,
    cmd: UserCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    match cmd {
        UserCommand::Create(args) => create(store, &args, now).await,
        UserCommand::SetPassword(args) => set_password(store, telling, &args, now).await,
        // Delete takes the flag silently, as it always has.
        UserCommand::Disable(args)
        | UserCommand::Enable(args)
        | UserCommand::RevokeTokens(args)
        | UserCommand::Show(args)
        | UserCommand::Unlock(args)
        | UserCommand::Sessions(args)
            if args.password_stdin =>
        {
            Err(AdminError::Invalid(format!(
                "--password-stdin does not apply to {}",
                args.username
            )))
        }
        UserCommand::Disable(args) => set_enabled(store, telling, &args, false, now).await,
        UserCommand::Enable(args) => set_enabled(store, telling, &args, true, now).await,
        UserCommand::RevokeTokens(args) => revoke_tokens(store, telling, &args, now).await,
        UserCommand::Delete(args) => delete(store, telling, &args, now).await,
        UserCommand::List => list(store).await,
        UserCommand::Show(args) => show(store, &args, now).await,
        UserCommand::Unlock(args) => unlock(store, &args).await,
        UserCommand::Sessions(args) => sessions(store, &args, now).await,
        UserCommand::Consents(args) => consents(store, &args).await,
        UserCommand::Mfa(MfaCommand::Show(args) | MfaCommand::Reset(args))
            if args.password_stdin =>
        {
            Err(AdminError::Invalid(format!(
                "--password-stdin does not apply to {}",
                args.username
            )))
        }
        UserCommand::Mfa(MfaCommand::Show(args)) => mfa_show(store, &args).await,
        UserCommand::Mfa(MfaCommand::Reset(args)) => mfa_reset(store, &args).await,
        UserCommand::Mfa(MfaCommand::Policy(args)) => mfa_policy(store, &args).await,
    }
}

/// The password from standard input, once `--password-stdin` says it is there.
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

/// The command line's words for a rule of [`NewUser`].
fn refusal(e: NewUserError) -> AdminError {
    AdminError::Invalid(match e {
        NewUserError::EmptyAuthSource => "--auth-source must not be empty".into(),
    })
}

/// The change as an audit event, beside the function's own.
fn audited(change: UserChange, username: &Username, user_id: Option<Uuid>) {
    audit::admin_user_changed(&operator(), change, username, user_id);
}

fn no_such(username: &Username) -> AdminError {
    AdminError::NoSuchUser(username.to_string())
}

async fn create<S: AdminStore>(
    store: &S,
    args: &CreateUser,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    // The username, then the password, then the other fields: an operator
    // who gets several wrong hears first of the same one as always.
    let username = Username::parse(&args.username)?;
    let password = read_password(args.password_stdin)?;
    password.check_strength_for(&username, &args.email, &args.full_name)?;
    let fields = UserFields {
        full_name: &args.full_name,
        email: &args.email,
        role: args.role,
        roles: &args.roles,
        customer_id: args.customer_id,
        auth_source: &args.auth_source,
    };
    let new = NewUser::parse(username, fields).map_err(refusal)?;
    let user = User::new(new, Hasher::new().hash(&password)?, now);
    match store.create_user(&user).await {
        Err(StoreError::AlreadyExists) => Err(AdminError::UserExists(user.username.to_string())),
        Err(e) => Err(e.into()),
        Ok(()) => {
            audited(UserChange::Created, &user.username, Some(user.id));
            println!("created user {} (id {})", user.username, user.id);
            Ok(())
        }
    }
}

async fn set_password<S: AdminStore>(
    store: &S,
    telling: &Telling,
    args: &UsernameArgs,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    let password = read_password(args.password_stdin)?;
    let existing = store
        .get_user(&username)
        .await?
        .ok_or_else(|| no_such(&username))?;
    password.check_strength_for(&username, &existing.email, &existing.full_name)?;
    let hash = Hasher::new().hash(&password)?;
    let Some(version) = store.set_password(&username, &hash, now).await? else {
        return Err(no_such(&username));
    };
    audited(UserChange::PasswordSet, &username, Some(existing.id));
    println!("password of {username} changed");
    end_sessions(store, telling, existing.id, version, now).await
}

async fn set_enabled<S: AdminStore>(
    store: &S,
    telling: &Telling,
    args: &UsernameArgs,
    enabled: bool,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    if !store.set_enabled(&username, enabled, now).await? {
        return Err(no_such(&username));
    }
    let (change, done) = if enabled {
        (UserChange::Enabled, "enabled")
    } else {
        (UserChange::Disabled, "disabled")
    };
    audited(change, &username, None);
    println!("{done} {username}");
    if enabled {
        return Ok(());
    }
    end_sessions_after_change(store, telling, &username, now).await
}

async fn revoke_tokens<S: AdminStore>(
    store: &S,
    telling: &Telling,
    args: &UsernameArgs,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    if !store.revoke_tokens(&username, now).await? {
        return Err(no_such(&username));
    }
    audited(UserChange::TokensRevoked, &username, None);
    println!("ended every refresh family and session of {username}");
    end_sessions_after_change(store, telling, &username, now).await
}

async fn delete<S: AdminStore>(
    store: &S,
    telling: &Telling,
    args: &UsernameArgs,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    let Some(user) = store.get_user(&username).await? else {
        return Err(no_such(&username));
    };
    if !store.delete_user(&username).await? {
        return Err(no_such(&username));
    }
    audited(UserChange::Deleted, &username, Some(user.id));
    println!("deleted {username}");
    // Every session of a deleted user is over, whatever its version.
    end_sessions(store, telling, user.id, u64::MAX, now).await
}

/// After a change that raised the user's token version: ends each browser
/// session begun below the version the user is at now.
async fn end_sessions_after_change<S: AdminStore>(
    store: &S,
    telling: &Telling,
    username: &Username,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    match store.get_user(username).await? {
        Some(user) => end_sessions(store, telling, user.id, user.token_version, now).await,
        // Deleted meanwhile: nothing of it is left to end here.
        None => Ok(()),
    }
}

/// Ends the user's sessions begun below token version `version`, tells
/// their apps as `telling` allows, and says what it did. The raised version
/// already refuses every one; marking them ended shows it in `user
/// sessions`, and the logout tokens end them in the apps too.
async fn end_sessions<S: AdminStore>(
    store: &S,
    telling: &Telling,
    user_id: Uuid,
    version: u64,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let operator = operator();
    let origin = Origin {
        request_id: &operator,
        source_ip: None,
        dialect: "token-admin",
        observed: None,
    };
    let teller = telling.teller(now);
    let ended =
        backchannel::end_sessions_of(store, teller.as_ref(), user_id, version, now, &origin)
            .await?;
    if ended.sessions == 0 {
        return Ok(());
    }
    match telling {
        Telling::Apps { .. } => println!(
            "ended {} browser session(s): {} app(s) told, {} could not be (see the audit events)",
            ended.sessions, ended.told.notified, ended.told.failed
        ),
        Telling::Nobody(missing) => eprintln!(
            "ended {} browser session(s); their apps were not told \
             (back-channel logout needs {missing})",
            ended.sessions
        ),
    }
    Ok(())
}

async fn list<S: AdminStore>(store: &S) -> Result<(), AdminError> {
    print::user_header();
    for u in store.list_users().await? {
        print::user_row(&u);
    }
    Ok(())
}

async fn show<S: AdminStore>(
    store: &S,
    args: &UsernameArgs,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    let user = store
        .get_user(&username)
        .await?
        .ok_or_else(|| no_such(&username))?;
    print::user(&user);
    let own = throttle::key(&LoginName::Valid(username));
    let records = store.throttle_records(&own).await?;
    print::locks(&own, &records, now);
    Ok(())
}

async fn sessions<S: AdminStore>(
    store: &S,
    args: &UsernameArgs,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    let user = store
        .get_user(&username)
        .await?
        .ok_or_else(|| no_such(&username))?;
    let sessions = store.user_browser_sessions(user.id).await?;
    print::browser_sessions(&sessions, &user, now);
    Ok(())
}

async fn consents<S: AdminStore>(store: &S, args: &ConsentArgs) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    let user = store
        .get_user(&username)
        .await?
        .ok_or_else(|| no_such(&username))?;
    if let Some(raw) = &args.withdraw {
        let client =
            ClientId::parse(raw).map_err(|e| AdminError::Invalid(format!("--withdraw: {e}")))?;
        if !store.withdraw_consent(user.id, &client).await? {
            return Err(AdminError::Invalid(format!(
                "{username} gave {client} no consent"
            )));
        }
        println!("withdrew the consent of {username} to {client}");
        return Ok(());
    }
    println!("client_id\tscopes\tgranted");
    for c in store.list_consents(user.id).await? {
        println!(
            "{}\t{}\t{}",
            c.client_id,
            c.scopes,
            print::time(c.granted_at)
        );
    }
    Ok(())
}

async fn mfa_show<S: AdminStore>(store: &S, args: &UsernameArgs) -> Result<(), AdminError> {
    print_factors(store, &Username::parse(&args.username)?).await
}

async fn print_factors<S: AdminStore>(store: &S, username: &Username) -> Result<(), AdminError> {
    let user = store
        .get_user(username)
        .await?
        .ok_or_else(|| no_such(username))?;
    print::factors(&user);
    Ok(())
}

async fn mfa_reset<S: AdminStore>(store: &S, args: &UsernameArgs) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    if !store.reset_factors(&username).await? {
        return Err(no_such(&username));
    }
    audited(UserChange::FactorsReset, &username, None);
    println!("removed every second factor of {username}");
    Ok(())
}

async fn mfa_policy<S: AdminStore>(store: &S, args: &FactorPolicyArgs) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    if !store
        .set_factor_policy(&username, args.require_mfa, args.allow_password_only)
        .await?
    {
        return Err(no_such(&username));
    }
    audited(UserChange::FactorPolicySet, &username, None);
    print_factors(store, &username).await
}

async fn unlock<S: AdminStore>(store: &S, args: &UsernameArgs) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    let own = throttle::key(&LoginName::Valid(username.clone()));
    let records = store.throttle_records(&own).await?;
    for (key, _) in &records {
        store.delete_throttle(key).await?;
    }
    audited(UserChange::Unlocked, &username, None);
    println!(
        "unlocked {username} ({} record(s) of failed attempts removed)",
        records.len()
    );
    Ok(())
}
