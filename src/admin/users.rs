//! `token-admin user`: create, change and inspect users.

use super::{operator, print, AdminError};
use crate::core::audit::{self, UserChange};
use crate::core::password::{Hasher, Password};
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

/// The user commands, against any store (tests use DynamoDB Local).
pub async fn user_command<S: AdminStore>(
    store: &S,
    cmd: UserCommand,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    match cmd {
        UserCommand::Create(args) => create(store, &args, now).await,
        UserCommand::SetPassword(args) => set_password(store, &args, now).await,
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
        UserCommand::Disable(args) => set_enabled(store, &args, false, now).await,
        UserCommand::Enable(args) => set_enabled(store, &args, true, now).await,
        UserCommand::RevokeTokens(args) => revoke_tokens(store, &args, now).await,
        UserCommand::Delete(args) => delete(store, &args).await,
        UserCommand::List => list(store).await,
        UserCommand::Show(args) => show(store, &args, now).await,
        UserCommand::Unlock(args) => unlock(store, &args).await,
        UserCommand::Sessions(args) => sessions(store, &args, now).await,
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
    if store.set_password(&username, &hash, now).await?.is_none() {
        return Err(no_such(&username));
    }
    audited(UserChange::PasswordSet, &username, Some(existing.id));
    println!("password of {username} changed");
    Ok(())
}

async fn set_enabled<S: AdminStore>(
    store: &S,
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
    Ok(())
}

async fn revoke_tokens<S: AdminStore>(
    store: &S,
    args: &UsernameArgs,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    if !store.revoke_tokens(&username, now).await? {
        return Err(no_such(&username));
    }
    // The raised token version already refuses every session; ending them
    // also shows it in `user sessions`.
    for session in store.browser_sessions(&username).await? {
        if session.is_live(now) {
            store.end_browser_session(&session.token_hash, now).await?;
        }
    }
    audited(UserChange::TokensRevoked, &username, None);
    println!("ended every refresh family and session of {username}");
    Ok(())
}

async fn delete<S: AdminStore>(store: &S, args: &UsernameArgs) -> Result<(), AdminError> {
    let username = Username::parse(&args.username)?;
    if !store.delete_user(&username).await? {
        return Err(no_such(&username));
    }
    audited(UserChange::Deleted, &username, None);
    println!("deleted {username}");
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
    let sessions = store.browser_sessions(&username).await?;
    print::browser_sessions(&sessions, &user, now);
    Ok(())
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
