//! Audit events: one structured log line per security-relevant outcome, at
//! target `audit`, with a stable `event` name and the fields an operator
//! needs to follow a user or an address: `user_id` where known, `username`,
//! `source_ip`, `request_id`, `dialect`. Never a password, token or hash.

use super::record::client::ClientId;
use super::record::throttle::Scope;
use super::record::token::FamilyId;
use super::record::user::{User, Username};
use std::sync::atomic::{AtomicU32, Ordering};
use uuid::Uuid;

/// Where a request came from, as the edge read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub request_id: &'a str,
    /// The client's address as API Gateway saw it.
    pub source_ip: Option<&'a str>,
    /// The wire dialect, for the log only: the core does not branch on it.
    pub dialect: &'static str,
    /// Where this request's notable events are counted, for its metrics.
    pub observed: Option<&'a Observations>,
}

/// The notable events of one request, counted as they happen so the edge
/// can report them (the core never reads them).
#[derive(Debug, Default)]
pub struct Observations {
    reuse_detected: AtomicU32,
    lock_starts: AtomicU32,
    address_locks: AtomicU32,
    known_device_passes: AtomicU32,
    logouts_delivered: AtomicU32,
    logouts_failed: AtomicU32,
    second_factor_failures: AtomicU32,
}

impl Observations {
    /// Logout tokens an app accepted (back-channel logout).
    pub fn logouts_delivered(&self) -> u32 {
        self.logouts_delivered.load(Ordering::Relaxed)
    }

    /// Logout tokens that did not reach their app within the bound.
    pub fn logouts_failed(&self) -> u32 {
        self.logouts_failed.load(Ordering::Relaxed)
    }

    /// Refresh families revoked because a consumed token came back.
    pub fn reuse_detected(&self) -> u32 {
        self.reuse_detected.load(Ordering::Relaxed)
    }

    /// Locks this request's failure started (pair and username scopes).
    pub fn lock_starts(&self) -> u32 {
        self.lock_starts.load(Ordering::Relaxed)
    }

    /// Source addresses whose budget across usernames this request's
    /// failure spent (password spraying).
    pub fn address_locks(&self) -> u32 {
        self.address_locks.load(Ordering::Relaxed)
    }

    /// Log ins a known browser made past its username's lock.
    pub fn known_device_passes(&self) -> u32 {
        self.known_device_passes.load(Ordering::Relaxed)
    }

    /// Second factors (a code, a passkey) that did not sign anyone in.
    pub fn second_factor_failures(&self) -> u32 {
        self.second_factor_failures.load(Ordering::Relaxed)
    }

    fn all(&self) -> [u32; 7] {
        [
            self.reuse_detected(),
            self.lock_starts(),
            self.address_locks(),
            self.known_device_passes(),
            self.logouts_delivered(),
            self.logouts_failed(),
            self.second_factor_failures(),
        ]
    }
}

impl Clone for Observations {
    fn clone(&self) -> Self {
        let [a, b, c, d, e, f, g] = self.all();
        Self {
            reuse_detected: AtomicU32::new(a),
            lock_starts: AtomicU32::new(b),
            address_locks: AtomicU32::new(c),
            known_device_passes: AtomicU32::new(d),
            logouts_delivered: AtomicU32::new(e),
            logouts_failed: AtomicU32::new(f),
            second_factor_failures: AtomicU32::new(g),
        }
    }
}

impl PartialEq for Observations {
    fn eq(&self, other: &Self) -> bool {
        self.all() == other.all()
    }
}

impl Eq for Observations {}

impl Origin<'_> {
    fn ip(&self) -> &str {
        self.source_ip.unwrap_or("")
    }
}

/// A typed username as audit events show it: the name of a user that
/// exists; for any other, a keyed hash (`unknown:` and 22 characters),
/// since people type passwords into the username field and the log must not
/// keep them. One typed name gives one hash while the signing key stays, so
/// repeated attempts can still be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedName<'a> {
    Known(&'a str),
    Unknown(String),
}

impl std::fmt::Display for LoggedName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Known(name) => f.write_str(name),
            Self::Unknown(hash) => write!(f, "unknown:{hash}"),
        }
    }
}

fn id(user_id: Option<Uuid>) -> String {
    user_id.map(|u| u.to_string()).unwrap_or_default()
}

pub fn login_succeeded(o: &Origin<'_>, user: &User) {
    tracing::info!(
        target: "audit",
        event = "login_succeeded",
        user_id = %user.id,
        username = user.username.as_str(),
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// A sign-in at the login page started browser session `session_id`.
pub fn browser_session_started(o: &Origin<'_>, username: &Username, session_id: &str) {
    tracing::info!(
        target: "audit",
        event = "browser_session_started",
        username = username.as_str(),
        session_id,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A client got a code from browser session `session_id` without a sign-in.
pub fn browser_session_used(o: &Origin<'_>, username: &Username, session_id: &str, client: &str) {
    tracing::info!(
        target: "audit",
        event = "browser_session_used",
        username = username.as_str(),
        session_id,
        client_id = client,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A browser session ended (`logout`), with the families that ended with it.
pub fn browser_session_ended(
    o: &Origin<'_>,
    username: &Username,
    session_id: &str,
    families: usize,
) {
    tracing::info!(
        target: "audit",
        event = "browser_session_ended",
        username = username.as_str(),
        session_id,
        families_revoked = families,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A user enrolled a one-time-code app at the login page (API §13).
pub fn factor_enrolled(o: &Origin<'_>, user: &User) {
    tracing::info!(
        target: "audit",
        event = "mfa_enrolled",
        username = user.username.as_str(),
        user_id = %user.id,
        method = "totp",
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A second factor failed: a wrong or replayed code (`method` `otp`), or a
/// passkey that did not verify (`hwk`/`swk`, or `passkey` while its user is
/// unknown), for `why`.
pub fn second_factor_failed(o: &Origin<'_>, username: Option<&str>, method: &str, why: &str) {
    if let Some(seen) = o.observed {
        seen.second_factor_failures.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        target: "audit",
        event = "second_factor_failed",
        username,
        method,
        reason = why,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A signed-in user registered a passkey (API §13).
pub fn passkey_registered(o: &Origin<'_>, user: &User, credential: &str, backup_eligible: bool) {
    tracing::info!(
        target: "audit",
        event = "passkey_registered",
        username = user.username.as_str(),
        user_id = %user.id,
        credential_id = credential,
        backup_eligible,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A signed-in user's new passkey was not registered, for `why`.
pub fn passkey_refused(o: &Origin<'_>, user: &User, why: &str) {
    tracing::warn!(
        target: "audit",
        event = "passkey_refused",
        username = user.username.as_str(),
        user_id = %user.id,
        reason = why,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A client registered itself (API §14) under `policy`.
pub fn client_registered(o: &Origin<'_>, client: &ClientId, policy: &str, public: bool) {
    tracing::info!(
        target: "audit",
        event = "client_registered",
        client_id = client.as_str(),
        policy,
        public,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A registration was refused, for `why` (never the metadata itself).
pub fn client_registration_refused(o: &Origin<'_>, why: &str) {
    tracing::warn!(
        target: "audit",
        event = "client_registration_refused",
        reason = why,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A client's metadata document was fetched and cached (`again`: it
/// replaced an older copy).
pub fn client_document_fetched(o: &Origin<'_>, client: &ClientId, again: bool) {
    tracing::info!(
        target: "audit",
        event = "client_document_fetched",
        client_id = client.as_str(),
        refreshed = again,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A client's metadata document made no client, for `why`.
pub fn client_document_refused(o: &Origin<'_>, client: &ClientId, why: &str) {
    tracing::warn!(
        target: "audit",
        event = "client_document_refused",
        client_id = client.as_str(),
        reason = why,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A user allowed a third-party client `scope` at the consent page.
pub fn consent_given(o: &Origin<'_>, user: &User, client: &ClientId, scope: &str) {
    tracing::info!(
        target: "audit",
        event = "consent_given",
        username = user.username.as_str(),
        user_id = %user.id,
        client_id = client.as_str(),
        scope,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A user denied a third-party client at the consent page.
pub fn consent_denied(o: &Origin<'_>, user: &User, client: &ClientId) {
    tracing::info!(
        target: "audit",
        event = "consent_denied",
        username = user.username.as_str(),
        user_id = %user.id,
        client_id = client.as_str(),
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// A user signed in with a recovery code; `left` remain.
pub fn recovery_code_used(o: &Origin<'_>, user: &User, left: usize) {
    tracing::warn!(
        target: "audit",
        event = "recovery_code_used",
        username = user.username.as_str(),
        user_id = %user.id,
        recovery_codes_left = left,
        source_ip = o.ip(),
        request_id = o.request_id,
    );
}

/// An app was told of a session's end (back-channel logout), or could not be.
pub fn backchannel_logout(
    o: &Origin<'_>,
    client: &ClientId,
    session_id: &str,
    failure: Option<&str>,
) {
    if let Some(seen) = o.observed {
        let counter = match failure {
            None => &seen.logouts_delivered,
            Some(_) => &seen.logouts_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    match failure {
        None => tracing::info!(
            target: "audit",
            event = "backchannel_logout_delivered",
            client_id = client.as_str(),
            session_id,
            source_ip = o.ip(),
            request_id = o.request_id,
        ),
        Some(why) => tracing::warn!(
            target: "audit",
            event = "backchannel_logout_failed",
            client_id = client.as_str(),
            session_id,
            error = why,
            source_ip = o.ip(),
            request_id = o.request_id,
        ),
    }
}

/// Why a log in failed: `invalid_credentials` or `locked`.
pub fn login_failed(o: &Origin<'_>, name: &LoggedName<'_>, user_id: Option<Uuid>, reason: &str) {
    tracing::info!(
        target: "audit",
        event = "login_failed",
        reason,
        user_id = id(user_id),
        username = %name,
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

pub fn lock_started(o: &Origin<'_>, name: &LoggedName<'_>, scope: Scope, retry_after_secs: i64) {
    if let Some(seen) = o.observed {
        seen.lock_starts.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        target: "audit",
        event = "lock_started",
        scope = scope.as_str(),
        retry_after = retry_after_secs,
        username = %name,
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// A source address spent its budget of failures across usernames
/// (password spraying): every log in from it is refused, unchecked, for
/// `retry_after_secs`.
pub fn address_budget_spent(o: &Origin<'_>, last: &LoggedName<'_>, retry_after_secs: i64) {
    if let Some(seen) = o.observed {
        seen.address_locks.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        target: "audit",
        event = "address_locked",
        scope = "address",
        retry_after = retry_after_secs,
        username = %last,
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// A browser known for this username signed in while the username was
/// locked for everyone else.
pub fn known_device_passed_lock(o: &Origin<'_>, user: &User) {
    if let Some(seen) = o.observed {
        seen.known_device_passes.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        target: "audit",
        event = "known_device_passed_lock",
        user_id = %user.id,
        username = user.username.as_str(),
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// A scope left at its limit by attempts that never finished (cut by the
/// route's deadline or a fault) is locked as a last failure would have.
pub fn unfinished_attempt_locked(
    o: &Origin<'_>,
    name: &LoggedName<'_>,
    scope: Scope,
    retry_after_secs: i64,
) {
    if let Some(seen) = o.observed {
        seen.lock_starts.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        target: "audit",
        event = "lock_started",
        cause = "unfinished_attempt",
        scope = scope.as_str(),
        retry_after = retry_after_secs,
        username = %name,
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// A consumed refresh token came back while its family was live.
/// `revoked`: this request's revocation took effect (of simultaneous
/// presentations, exactly one); only that one counts in the metric, so it
/// counts families, not presentations.
pub fn refresh_reuse_detected(
    o: &Origin<'_>,
    family: &FamilyId,
    user_id: Uuid,
    name: &Username,
    revoked: bool,
) {
    if let (Some(seen), true) = (o.observed, revoked) {
        seen.reuse_detected.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        target: "audit",
        event = "refresh_reuse_detected",
        family = %family,
        family_revoked = revoked,
        user_id = %user_id,
        username = name.as_str(),
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// An authorization code presented again: the family it started is revoked.
pub fn code_replayed(o: &Origin<'_>, family: &FamilyId) {
    tracing::warn!(
        target: "audit",
        event = "code_replayed",
        family = %family,
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

pub fn token_revoked(o: &Origin<'_>, family: &FamilyId) {
    tracing::info!(
        target: "audit",
        event = "token_revoked",
        family = %family,
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

pub fn session_released(o: &Origin<'_>, user_id: Uuid, name: &Username) {
    tracing::info!(
        target: "audit",
        event = "session_released",
        user_id = %user_id,
        username = name.as_str(),
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

pub fn password_changed(o: &Origin<'_>, user_id: Uuid, name: &Username) {
    tracing::info!(
        target: "audit",
        event = "password_changed",
        user_id = %user_id,
        username = name.as_str(),
        source_ip = o.ip(),
        request_id = o.request_id,
        dialect = o.dialect,
    );
}

/// What `token-admin` did to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Created,
    PasswordSet,
    Disabled,
    Enabled,
    TokensRevoked,
    Deleted,
    Unlocked,
    /// Its second factors removed (API §13).
    FactorsReset,
    /// Its second-factor policy changed.
    FactorPolicySet,
}

impl UserChange {
    fn event(self) -> &'static str {
        match self {
            Self::Created => "admin_user_created",
            Self::PasswordSet => "admin_password_set",
            Self::Disabled => "admin_user_disabled",
            Self::Enabled => "admin_user_enabled",
            Self::TokensRevoked => "admin_tokens_revoked",
            Self::Deleted => "admin_user_deleted",
            Self::Unlocked => "admin_user_unlocked",
            Self::FactorsReset => "admin_mfa_reset",
            Self::FactorPolicySet => "admin_mfa_policy_set",
        }
    }
}

/// What `token-admin` did to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientChange {
    Created,
    SecretRotated,
    Disabled,
    Enabled,
    Deleted,
    /// Its logout URIs replaced.
    Updated,
}

impl ClientChange {
    fn event(self) -> &'static str {
        match self {
            Self::Created => "admin_client_created",
            Self::SecretRotated => "admin_client_secret_rotated",
            Self::Disabled => "admin_client_disabled",
            Self::Enabled => "admin_client_enabled",
            Self::Deleted => "admin_client_deleted",
            Self::Updated => "admin_client_updated",
        }
    }
}

/// A `token-admin` change of a user. `operator` is who ran it (the login
/// name of the shell, empty if unknown).
pub fn admin_user_changed(
    operator: &str,
    change: UserChange,
    name: &Username,
    user_id: Option<Uuid>,
) {
    tracing::info!(
        target: "audit",
        event = change.event(),
        username = name.as_str(),
        user_id = id(user_id),
        operator,
    );
}

/// A `token-admin` change of a client.
pub fn admin_client_changed(operator: &str, change: ClientChange, client: &ClientId) {
    tracing::info!(
        target: "audit",
        event = change.event(),
        client_id = client.as_str(),
        operator,
    );
}

/// A signing key withdrawn from the ring by `token-admin keys revoke`.
pub fn admin_key_revoked(operator: &str, kid: &str) {
    tracing::info!(
        target: "audit",
        event = "admin_key_revoked",
        kid,
        operator,
    );
}

/// A source address's spent budget lifted by `token-admin address unlock`.
pub fn admin_address_unlocked(operator: &str, address: &str) {
    tracing::info!(
        target: "audit",
        event = "admin_address_unlocked",
        source_ip = address,
        operator,
    );
}
