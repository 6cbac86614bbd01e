//! The core's storage port: the traits the issuer and the admin tool need,
//! split by caller, and the errors they report. Adapters (DynamoDB) implement
//! them; the core never sees an adapter's types.

use super::record::browser::{BrowserSession, SignInAgain};
use super::record::client::{Client, ClientId, LogoutUris};
use super::record::code::{CodeRedemption, Redemption, StoredCode};
use super::record::consent::Consent;
use super::record::device::DeviceRequest;
use super::record::family::{RefreshFamily, Rotation};
use super::record::passkey::{Passkey, Used};
use super::record::registration::InitialAccessToken;
use super::record::resource::{Resource, ResourceUri};
use super::record::session::Session;
use super::record::state::{ClientState, FamilyState};
use super::record::throttle::{AttemptLimit, Throttle};
use super::record::token::FamilyId;
use super::record::user::{Account, User, Username};
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the item already exists")]
    AlreadyExists,
    #[error("the table {0} does not exist (run `token-admin tables create`)")]
    MissingTable(String),
    /// `backend` names the store for people ("DynamoDB").
    #[error("cannot reach {backend}")]
    Unreachable {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("{backend} request failed")]
    Backend {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("a stored item is malformed: {0}")]
    Corrupt(String),
}

/// What a log in reads and writes of a user.
pub trait UserStore: Send + Sync {
    fn get_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user without its password hash: what every check after log in reads.
    fn get_account(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    /// Sets the last-login time; `false` when the user vanished meanwhile.
    fn record_login(
        &self,
        username: &Username,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a new password hash (changed at `at`) and raises the user's
    /// token version, ending every refresh family and session; returns the new
    /// version, or `None` when there is no such user.
    fn set_password(
        &self,
        username: &Username,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Swaps a password hash for a stronger one of the same password, only if
    /// the stored hash is still `old` (a concurrent password change wins);
    /// revokes nothing. `false` when the swap did not happen.
    fn replace_password_hash(
        &self,
        username: &Username,
        old: &str,
        new: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A first one-time-code enrolment, as stored (API §13).
#[derive(Debug, Clone, Copy)]
pub struct TotpEnrolment<'a> {
    /// The secret, sealed for the user.
    pub sealed: &'a [u8],
    /// The time step whose code confirmed it (so that code is spent).
    pub step: u64,
    /// Hashes of the recovery codes shown once.
    pub recovery: &'a [String],
    pub at: OffsetDateTime,
}

/// A user's second factors. Each write holds only while the user is still
/// `user_id` (not deleted and made again) and is one conditional update,
/// so concurrent uses of one code cannot both pass.
pub trait FactorStore: Send + Sync {
    /// Stores the user's first one-time-code secret and recovery codes;
    /// `false` when the user has one already or is gone.
    fn enrol_totp(
        &self,
        username: &Username,
        user_id: Uuid,
        enrolment: &TotpEnrolment<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Spends the code of time step `step`: `false` when it or a later
    /// step's code was accepted already (a replay).
    fn use_totp_step(
        &self,
        username: &Username,
        user_id: Uuid,
        step: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Spends the recovery code of hash `hash`: `false` when it is not one
    /// of the user's unused codes.
    fn use_recovery_code(
        &self,
        username: &Username,
        user_id: Uuid,
        hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Passkeys (API §13): kept with the user, and each credential id once
/// more on its own, so a sign-in that names only its credential finds the
/// user. Writes to the user hold only while it is still `user_id`.
pub trait PasskeyStore: Send + Sync {
    /// Registers `passkey` for the user: `false` when its credential id is
    /// anyone's already, the user has [`MAX_PASSKEYS`], or is gone.
    fn add_passkey(
        &self,
        username: &Username,
        user_id: Uuid,
        passkey: &Passkey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Whose the credential `id` is, if it was registered.
    fn passkey_owner(
        &self,
        id: &[u8],
    ) -> impl Future<Output = Result<Option<Username>, StoreError>> + Send;

    /// Records a sign-in with the credential `id`, whose counter was
    /// `from`: `false` when it moved meanwhile (the same assertion twice).
    fn use_passkey(
        &self,
        username: &Username,
        user_id: Uuid,
        id: &[u8],
        from: u32,
        used: Used,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Spends a sign-in challenge (by its hash) that is good until
    /// `expires`: `false` when it was spent already.
    fn spend_challenge(
        &self,
        hash: &str,
        expires: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Devices waiting for their user (RFC 8628): a request under the hash of
/// its device code, found from the page by the hash of its user code.
pub trait DeviceStore: Send + Sync {
    /// Stores a new request; `false` when its user code is another live
    /// request's (the caller draws another).
    fn put_device(
        &self,
        device_hash: &str,
        user_hash: &str,
        request: &DeviceRequest,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The request a user code names: its device code's hash and itself.
    fn device_of_user_code(
        &self,
        user_hash: &str,
    ) -> impl Future<Output = Result<Option<(String, DeviceRequest)>, StoreError>> + Send;

    fn get_device(
        &self,
        device_hash: &str,
    ) -> impl Future<Output = Result<Option<DeviceRequest>, StoreError>> + Send;

    /// Notes a poll of a pending request at `now`; `slow_down` also raises
    /// its interval by the poll interval.
    fn note_poll(
        &self,
        device_hash: &str,
        now: OffsetDateTime,
        slow_down: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Settles a pending request: approved with its sealed grant, or
    /// denied (`None`). `false` when it was not pending.
    fn settle_device(
        &self,
        device_hash: &str,
        sealed_grant: Option<&[u8]>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes an approved request's sealed grant, once: `None` when it is
    /// not approved (any more).
    fn take_device_grant(
        &self,
        device_hash: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}

/// DPoP proofs spent (RFC 9449 §11.1): each proof is accepted once while
/// its `iat` is in the window.
pub trait DpopStore: Send + Sync {
    /// Spends a proof (by the hash of its key and `jti`) acceptable until
    /// `expires`: `false` when it was spent already.
    fn spend_proof(
        &self,
        hash: &str,
        expires: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// How many passkeys one user may register.
pub const MAX_PASSKEYS: usize = 20;

/// Refresh-token families.
pub trait FamilyStore: Send + Sync {
    /// Fails with [`StoreError::AlreadyExists`] when the id is taken by
    /// another family (a retry of this very put succeeds).
    fn put_refresh_family(
        &self,
        family: &RefreshFamily,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_refresh_family(
        &self,
        id: &FamilyId,
    ) -> impl Future<Output = Result<Option<RefreshFamily>, StoreError>> + Send;

    /// Swaps the family's live hash from `presented` to `next` in one conditional
    /// write, provided the family is still at `generation` and neither revoked
    /// nor expired at `now`; `presented` joins the remembered consumed tokens.
    /// A refusal reports the family as the write found it; the core decides
    /// what that means. `bind` binds a family bound to no DPoP key yet to
    /// that one (a public client's first proof).
    fn rotate_refresh(
        &self,
        id: &FamilyId,
        presented_hash: &str,
        next_hash: &str,
        generation: u64,
        bind: Option<&str>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes the family if `presented_hash` is its live or an earlier token
    /// (`None`: unconditionally). `false` when nothing was revoked.
    fn revoke_family(
        &self,
        id: &FamilyId,
        presented_hash: Option<&str>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// OAuth clients, as the token endpoint reads them.
pub trait ClientStore: Send + Sync {
    fn get_client(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;
}

/// Clients that register themselves (API §14), and the initial access
/// tokens an operator hands out for that.
pub trait RegistrationStore: Send + Sync {
    /// Fails with [`StoreError::AlreadyExists`] when the client id is taken.
    fn register_client(
        &self,
        client: &Client,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores the client a metadata document describes, replacing the one
    /// cached before unless an operator disabled it: `false` then.
    fn put_document_client(
        &self,
        client: &Client,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves a self-registered client's lapse to `until`; `false` when it
    /// is gone (or not self-registered).
    fn keep_client(
        &self,
        id: &ClientId,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The initial access token whose hash is `hash`, if it was issued and
    /// not withdrawn (its expiry is the caller's to check).
    fn initial_access_token(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<InitialAccessToken>, StoreError>> + Send;
}

/// Users' consents to third-party clients (API §14).
pub trait ConsentStore: Send + Sync {
    fn get_consent(
        &self,
        user_id: Uuid,
        client: &ClientId,
    ) -> impl Future<Output = Result<Option<Consent>, StoreError>> + Send;

    /// Stores `consent` in place of the user's earlier one for the client.
    fn put_consent(&self, consent: &Consent)
        -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Protected resources (RFC 8707), as grants read them.
pub trait ResourceStore: Send + Sync {
    fn get_resource(
        &self,
        uri: &ResourceUri,
    ) -> impl Future<Output = Result<Option<Resource>, StoreError>> + Send;
}

/// Authorization codes, by the hash of the code.
pub trait CodeStore: Send + Sync {
    /// Fails with [`StoreError::AlreadyExists`] when the hash is taken.
    fn put_code(&self, code: &StoredCode) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the code used in one conditional write, if it is unused,
    /// unexpired and bound to what `redemption` presents.
    fn redeem_code(
        &self,
        hash: &str,
        redemption: &CodeRedemption<'_>,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;
}

/// Access tokens revoked one by one: those of no refresh family
/// (`client_credentials`), remembered by `jti` until they expire.
pub trait AccessTokenStore: Send + Sync {
    fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn access_token_revoked(
        &self,
        jti: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What decides whether an access token is still good: its family, its
/// user, its client, and (no family) whether it was revoked by itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenStateQuery<'a> {
    pub family: Option<&'a FamilyId>,
    pub user: Option<&'a Username>,
    pub client: Option<&'a ClientId>,
    pub revoked_jti: Option<&'a str>,
    /// The token's audience, when it may name a resource (RFC 8707).
    pub resource: Option<&'a str>,
}

/// What [`TokenStateStore::token_state`] found; `None` where nothing is
/// stored. Only what a decision needs, so the authorizer's role may read no
/// more: no password, refresh-token or client-secret hash.
#[derive(Debug, Clone, Default)]
pub struct TokenState {
    pub family: Option<FamilyState>,
    pub user: Option<Account>,
    pub client: Option<ClientState>,
    pub jti_revoked: bool,
    /// [`TokenStateQuery::resource`] is a registered resource.
    pub resource_registered: bool,
}

/// Reads everything a token check needs in one storage request, so
/// introspection and the authorizer cost one round trip.
pub trait TokenStateStore: Send + Sync {
    fn token_state(
        &self,
        query: TokenStateQuery<'_>,
    ) -> impl Future<Output = Result<TokenState, StoreError>> + Send;
}

/// Ops sessions, keyed by the hash of their token.
pub trait SessionStore: Send + Sync {
    /// Fails with [`StoreError::AlreadyExists`] when the hash is taken.
    fn put_session(&self, session: &Session)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Slides a live session to `new_expiry` in one conditional write and returns
    /// it; `None` when it does not exist or expired before `now`.
    fn touch_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        new_expiry: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Deletes a session that is live at `now` and returns it; `None` when
    /// there was none.
    fn end_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    fn delete_session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Moves a session to the user's token version `version`, so the
    /// revocation that raised it spares this one session; `false` when it no
    /// longer exists.
    fn restamp_session(
        &self,
        token_hash: &str,
        version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Browser sessions (API §12), keyed by the hash of their cookie's value.
pub trait BrowserSessionStore: Send + Sync {
    /// Fails with [`StoreError::AlreadyExists`] when the hash is taken.
    fn put_browser_session(
        &self,
        session: &BrowserSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_browser_session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<BrowserSession>, StoreError>> + Send;

    /// Records a use at `now` in one conditional write: the idle expiry
    /// moves to `idle_until`, `client` joins the session's clients and
    /// `family` its families. Returns the session after the write; `None`
    /// when it does not exist or is not live at `now`.
    fn use_browser_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
        client: &ClientId,
        family: &FamilyId,
    ) -> impl Future<Output = Result<Option<BrowserSession>, StoreError>> + Send;

    /// The same user signed in again within a session (`again`): in one
    /// conditional write, if it is live and still at the user's token
    /// version. The session after the write; `None` when it is not.
    fn reauthenticate_browser_session(
        &self,
        token_hash: &str,
        again: &SignInAgain<'_>,
    ) -> impl Future<Output = Result<Option<BrowserSession>, StoreError>> + Send;

    /// Ends a session live at `now`; the session as it was, or `None` when
    /// there was none to end.
    fn end_browser_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<BrowserSession>, StoreError>> + Send;

    /// Every stored session of the user, live or not, oldest first (an
    /// index by user: ending a user's sessions reads no other item).
    fn user_browser_sessions(
        &self,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Vec<BrowserSession>, StoreError>> + Send;
}

/// What counting an attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// Counted: the record after counting this attempt.
    Counted(Throttle),
    /// Not counted, the record as it was: locked, stale (to be restarted), or
    /// every allowed attempt already counted.
    Refused(Throttle),
}

/// Failed-log-in records, by throttle key.
pub trait ThrottleStore: Send + Sync {
    /// Counts one attempt in one conditional write, unless the record is
    /// stale, locked at `now`, or already holds `limit.needed(lockouts)`
    /// failures. A new or counted record expires at `expires_at`. `owner` is
    /// the username's key, kept on the record so the admin tool can find
    /// every record of a username.
    fn reserve_attempt(
        &self,
        key: &str,
        owner: &str,
        limit: AttemptLimit,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Replaces a stale record with a fresh one that counts this attempt,
    /// provided it is still the record `stale` describes; `None` when it
    /// changed meanwhile (another attempt restarted it).
    fn restart_attempts(
        &self,
        key: &str,
        owner: &str,
        stale: &Throttle,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Throttle>, StoreError>> + Send;

    /// Counts one attempt in a fixed window: unless the record's window
    /// (`expires_at`) is still open and it already holds `limit` attempts. A
    /// new record's window ends at `window_end`; counting never moves it. A
    /// record whose window has passed is refused as stale (to be restarted).
    fn reserve_in_window(
        &self,
        key: &str,
        owner: &str,
        limit: i64,
        now: OffsetDateTime,
        window_end: OffsetDateTime,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Takes back one counted attempt that got no password check.
    fn uncount_attempt(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// After a success: deletes the record if nothing was counted since
    /// `counted` (the record this attempt's reservation returned); otherwise
    /// only takes this attempt back, so failures recorded meanwhile stay.
    fn clear_after_success(
        &self,
        key: &str,
        counted: &Throttle,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Locks until `until` if the record has at least `min_failures` and is
    /// not locked at `now` (so concurrent failures lock once); resets the
    /// failures and counts the lockout. `false` when it did not lock.
    fn lock_throttle(
        &self,
        key: &str,
        min_failures: i64,
        now: OffsetDateTime,
        until: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Everything the issuer reads and writes.
pub trait Store:
    UserStore
    + FactorStore
    + PasskeyStore
    + FamilyStore
    + SessionStore
    + BrowserSessionStore
    + ThrottleStore
    + ClientStore
    + AccessTokenStore
    + TokenStateStore
    + CodeStore
    + RegistrationStore
    + ResourceStore
    + ConsentStore
    + DpopStore
    + DeviceStore
{
}

impl<T> Store for T where
    T: UserStore
        + FactorStore
        + PasskeyStore
        + FamilyStore
        + SessionStore
        + BrowserSessionStore
        + ThrottleStore
        + ClientStore
        + AccessTokenStore
        + TokenStateStore
        + CodeStore
        + RegistrationStore
        + ResourceStore
        + ConsentStore
        + DpopStore
        + DeviceStore
{
}

/// What only the admin tool does to users and clients.
pub trait AdminStore: UserStore + ClientStore + BrowserSessionStore + ConsentStore {
    /// Removes every second factor of the user (the recovery codes too);
    /// `false` when there is no such user.
    fn reset_factors(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets what is given of the user's second-factor policy; `false` when
    /// there is no such user.
    fn set_factor_policy(
        &self,
        username: &Username,
        mfa_required: Option<bool>,
        password_only: Option<bool>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Fails with [`StoreError::AlreadyExists`] when the client id is taken.
    fn create_client(&self, client: &Client)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    fn list_clients(&self) -> impl Future<Output = Result<Vec<Client>, StoreError>> + Send;

    /// Replaces a client's logout URIs; `false` when there is no such client.
    fn set_client_logout(
        &self,
        id: &ClientId,
        logout: &LogoutUris,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets what the client's requests need: a second factor at every
    /// sign-in, a DPoP proof at every token request; `false` when there is
    /// no such client.
    fn set_client_requirements(
        &self,
        id: &ClientId,
        require_mfa: bool,
        require_dpop: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the secret's hash of a confidential client; `false` when
    /// there is no such client or it is public.
    fn set_client_secret(
        &self,
        id: &ClientId,
        secret_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `false` when there is no such client.
    fn set_client_enabled(
        &self,
        id: &ClientId,
        enabled: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `false` when there is no such client.
    fn delete_client(&self, id: &ClientId)
        -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Fails with [`StoreError::AlreadyExists`] when the username is taken.
    fn create_user(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn list_users(&self) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// Disabling also raises the user's token version, ending every refresh
    /// family and session. `false` when there is no such user.
    fn set_enabled(
        &self,
        username: &Username,
        enabled: bool,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Raises the user's token version, ending every refresh family and
    /// session, and changes nothing else. `false` when there is no such user.
    fn revoke_tokens(
        &self,
        username: &Username,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `false` when there is no such user.
    fn delete_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every throttle record of the username whose key is `owner` (its own
    /// and its pairs'), by key. A scan: for the admin tool only.
    fn throttle_records(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<(String, Throttle)>, StoreError>> + Send;

    fn delete_throttle(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Fails with [`StoreError::AlreadyExists`] when the hash is taken.
    fn create_initial_access_token(
        &self,
        token: &InitialAccessToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every initial access token not yet deleted, oldest first.
    fn list_initial_access_tokens(
        &self,
    ) -> impl Future<Output = Result<Vec<InitialAccessToken>, StoreError>> + Send;

    /// `false` when there is no such token.
    fn delete_initial_access_token(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Fails with [`StoreError::AlreadyExists`] when the URI is registered.
    fn create_resource(
        &self,
        resource: &Resource,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn list_resources(&self) -> impl Future<Output = Result<Vec<Resource>, StoreError>> + Send;

    /// `false` when there is no such resource.
    fn delete_resource(
        &self,
        uri: &ResourceUri,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every consent the user gave, by client.
    fn list_consents(
        &self,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Consent>, StoreError>> + Send;

    /// `false` when the user gave the client none.
    fn withdraw_consent(
        &self,
        user_id: Uuid,
        client: &ClientId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
