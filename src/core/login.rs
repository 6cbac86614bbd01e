//! Log in: throttling, the password check and the records a success leaves.

use super::audit::{self, LoggedName, Origin};
use super::error::{Error, Fault, Refusal};
use super::password::Password;
use super::record::browser::SessionLink;
use super::record::family::{ClientBinding, RefreshFamily};
use super::record::throttle::{self, Scope, Throttle};
use super::record::token::{FamilyId, RefreshToken};
use super::record::user::{LoginName, User};
use super::store::{FamilyStore, Reservation, ThrottleStore, UserStore};
use super::{Issuer, TokenGrant};
use crate::core::sign::Signer;
use secrecy::{ExposeSecret, SecretString};
use std::pin::Pin;
use time::OffsetDateTime;

/// The most storage calls a log in makes at once: a success's writes (the
/// log-in record, the family, the pair's and the username's counts
/// cleared, the address's taken back). The warm-up opens as many
/// connections, so a first log in opens none.
pub(super) const WIDEST_ROUND: usize = 5;

/// What a caller presents to log in.
#[derive(Debug)]
pub struct Credentials {
    /// As received; normalised once, here.
    pub username: String,
    pub password: Password,
    /// `Some` only where the dialect carries one (ops); compared case-insensitively.
    pub auth_source: Option<String>,
    /// The login page's device cookie, as the browser sent it (API §2);
    /// secret, so a `{:?}` of the credentials never shows it.
    pub device: Option<SecretString>,
}

/// Where a password is checked (API §13): at the login page, which can ask
/// for a second factor next, or on a route that takes a password alone (the
/// vendor dialects, the password grant). The latter refuses a user who has
/// or needs a second factor, unless an operator allowed that user a
/// password alone, with the very answer of a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PasswordRoute {
    Page,
    /// `client_requires_mfa`: the password grant of a client that requires
    /// a second factor of every sign-in.
    PasswordOnly {
        client_requires_mfa: bool,
    },
}

impl PasswordRoute {
    /// The vendor dialects' log ins: no client to ask of.
    pub(super) const VENDOR: Self = Self::PasswordOnly {
        client_requires_mfa: false,
    };
}

/// One scope's count for an attempt in flight.
struct Counted {
    scope: Scope,
    key: String,
    record: Throttle,
}

/// One scope's answer: counted, passed without a count (a known browser at
/// the username's lock), or refused with the seconds to wait.
type ScopeOutcome = Result<Option<Counted>, u64>;

/// A checked log in: the user, and the counts its success clears. The
/// caller settles them together with its own writes
/// ([`Issuer::settle`]), so a log in makes one round of writes after the
/// password check, not two.
#[must_use = "a success's counts must be settled"]
pub(super) struct Authenticated {
    pub user: User,
    pub settlement: Settlement,
}

/// The counts a successful log in clears.
pub(super) struct Settlement(Vec<Counted>);

/// An attempt counted and not yet settled.
struct Attempt {
    user_id: Option<uuid::Uuid>,
    name: LoginName,
    counted: Vec<Counted>,
    passed_lock: bool,
    now: OffsetDateTime,
}

impl<S: FamilyStore + ThrottleStore + UserStore, K: Signer + ?Sized> Issuer<S, K> {
    /// Checks a username and password. The attempt is counted in three
    /// scopes (the username and address pair, the username, the address)
    /// before the password is checked; a scope at its limit refuses it
    /// unchecked, the right password included, except that the username's
    /// lock passes a browser known for that username. Every checked failure
    /// costs one Argon2id run and ends in the same
    /// [`Refusal::InvalidCredentials`]. A success leaves its counts to
    /// [`Issuer::settle`].
    pub(super) async fn authenticate(
        &self,
        creds: Credentials,
        route: PasswordRoute,
        origin: &Origin<'_>,
    ) -> Result<Authenticated, Error> {
        let Credentials {
            username,
            password,
            auth_source,
            device,
        } = creds;
        // A process's first password check: the Argon2id work area's pages
        // are written on another thread while the attempt's first storage
        // round is on the network, rather than by the check after it.
        drop(self.start_preparing_work_area());
        self.authenticate_with(&username, device.as_ref(), origin, |user| {
            self.check_password(password, auth_source, user, route)
        })
        .await
    }

    /// Counts an attempt for `username` in the three scopes, then runs
    /// `check` on the user read meanwhile (`None`: no such user): a
    /// password, or a second factor (API §13), under the same rules. A
    /// check that fails with [`Refusal::InvalidCredentials`] is a counted
    /// failure; a success leaves its counts to [`Issuer::settle`].
    pub(super) async fn authenticate_with<F, Fut>(
        &self,
        username: &str,
        device: Option<&SecretString>,
        origin: &Origin<'_>,
        check: F,
    ) -> Result<Authenticated, Error>
    where
        F: FnOnce(Option<User>) -> Fut,
        Fut: std::future::Future<Output = Result<User, Error>>,
    {
        // The counting and its settling are one body each, behind a
        // pointer, whatever the check: each check's copy of them cost the
        // function 13 KB.
        type Step<'f, T> = Pin<Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'f>>;
        let begin: Step<'_, _> = Box::pin(self.begin_attempt(username, device, origin));
        let (user, attempt) = begin.await?;
        let result = check(user).await;
        let finish: Step<'_, _> = Box::pin(self.finish_attempt(attempt, result, origin));
        finish.await
    }

    /// An attempt's counting: the user read, and the counts made.
    async fn begin_attempt(
        &self,
        username: &str,
        device: Option<&SecretString>,
        origin: &Origin<'_>,
    ) -> Result<(Option<User>, Attempt), Error> {
        let now = self.now();
        let name = LoginName::parse(username);
        let user_key = throttle::key(&name);
        let pair_key = throttle::pair_key(&name, origin.source_ip);
        let address_key = throttle::address_key(origin.source_ip);
        let known_device = device.is_some_and(|c| self.knows_device(c.expose_secret(), &name, now));
        let owner = (&name, user_key.as_str());
        let (user, pair, whole, address) = tokio::join!(
            async {
                Ok::<_, Error>(match name.username() {
                    Some(name) => self.store.get_user(name).await?,
                    // A name that cannot be normalised cannot exist.
                    None => None,
                })
            },
            self.count_attempt(Scope::Pair, &pair_key, owner, origin, now),
            self.count_attempt(Scope::Username, &user_key, owner, origin, now),
            self.count_attempt(
                Scope::Address,
                &address_key,
                (&name, address_key.as_str()),
                origin,
                now
            ),
        );
        let (user, outcomes) = match (user, pair, whole, address) {
            (Ok(user), Ok(pair), Ok(whole), Ok(address)) => (user, [pair, whole, address]),
            (user, pair, whole, address) => {
                // A fault checked nothing: take back what was counted (best
                // effort; a count left behind ends as an unfinished attempt).
                for counted in [&pair, &whole, &address] {
                    if let Ok(Ok(Some(c))) = counted {
                        let _ = self.store.uncount_attempt(&c.key).await;
                    }
                }
                let fault = [user.err(), pair.err(), whole.err(), address.err()]
                    .into_iter()
                    .flatten()
                    .next();
                return Err(fault.unwrap_or(Error::Refused(Refusal::InvalidCredentials)));
            }
        };
        let [pair, whole, address] = outcomes;
        // The username's lock does not refuse a browser known for it.
        let passed_lock = known_device && whole.is_err();
        let whole = if passed_lock { Ok(None) } else { whole };
        let outcomes = [pair, whole, address];
        if outcomes.iter().any(Result::is_err) {
            // Refused in a scope: take back what the others counted.
            let mut wait = 0;
            for outcome in &outcomes {
                match outcome {
                    Ok(Some(c)) => self.store.uncount_attempt(&c.key).await?,
                    Ok(None) => {}
                    Err(w) => wait = wait.max(*w),
                }
            }
            let logged = self.logged_name(&name, user.is_some());
            audit::login_failed(origin, &logged, user.as_ref().map(|u| u.id), "locked");
            return Err(Refusal::TooManyAttempts {
                retry_after_secs: wait,
            }
            .into());
        }
        let counted: Vec<Counted> = outcomes
            .into_iter()
            .filter_map(|o| o.ok().flatten())
            .collect();
        let attempt = Attempt {
            user_id: user.as_ref().map(|u| u.id),
            name,
            counted,
            passed_lock,
            now,
        };
        Ok((user, attempt))
    }

    /// An attempt's end: a success's counts left to [`Issuer::settle`], a
    /// wrong one's locks, a fault's counts taken back.
    async fn finish_attempt(
        &self,
        Attempt {
            user_id,
            name,
            counted,
            passed_lock,
            now,
        }: Attempt,
        result: Result<User, Error>,
        origin: &Origin<'_>,
    ) -> Result<Authenticated, Error> {
        let logged = self.logged_name(&name, user_id.is_some());
        match result {
            Ok(user) => {
                if passed_lock {
                    audit::known_device_passed_lock(origin, &user);
                }
                Ok(Authenticated {
                    user,
                    settlement: Settlement(counted),
                })
            }
            Err(Error::Refused(Refusal::InvalidCredentials)) => {
                let [a, b, c] = [0, 1, 2].map(|i| counted.get(i));
                tokio::try_join!(
                    self.lock_if_due(a, &logged, origin, now),
                    self.lock_if_due(b, &logged, origin, now),
                    self.lock_if_due(c, &logged, origin, now),
                )?;
                audit::login_failed(origin, &logged, user_id, "invalid_credentials");
                Err(Refusal::InvalidCredentials.into())
            }
            Err(other) => {
                // A fault checked nothing: the attempt does not count.
                for c in &counted {
                    self.store.uncount_attempt(&c.key).await?;
                }
                Err(other)
            }
        }
    }

    /// After a success: the pair's and the username's counts are cleared;
    /// the address's budget only takes this attempt back, since its other
    /// failures were other usernames'. The scopes are settled at once.
    /// Its three calls' futures live on the heap: joined beside a caller's
    /// own writes, they would triple what that caller's future holds inline.
    pub(super) async fn settle(&self, settlement: Settlement) -> Result<(), Error> {
        Box::pin(async move {
            let [a, b, c] = [0, 1, 2].map(|i| settlement.0.get(i));
            tokio::try_join!(
                self.settle_success(a),
                self.settle_success(b),
                self.settle_success(c),
            )?;
            Ok(())
        })
        .await
    }

    async fn settle_success(&self, counted: Option<&Counted>) -> Result<(), Error> {
        match counted {
            None => Ok(()),
            Some(c) if c.scope == Scope::Address => Ok(self.store.uncount_attempt(&c.key).await?),
            Some(c) => Ok(self.store.clear_after_success(&c.key, &c.record).await?),
        }
    }

    /// Counts an attempt in one scope: `Ok` with the record after counting,
    /// or `Err` with the seconds to wait when the scope refuses it. A stale
    /// record (no failure for the policy's memory) starts over.
    async fn count_attempt(
        &self,
        scope: Scope,
        key: &str,
        (name, owner): (&LoginName, &str),
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<ScopeOutcome, Error> {
        let policy = &self.settings.throttle;
        let limit = policy.limit(scope);
        // The address's budget is a fixed window from its first failure;
        // the other scopes remember failures `memory` after the last one.
        let expires_at = match scope {
            Scope::Address => now + policy.address_window,
            Scope::Pair | Scope::Username => now + policy.memory,
        };
        // A restart lost to another attempt's restart counts again, on the new record.
        for _ in 0..3 {
            let reserved = match scope {
                Scope::Address => {
                    self.store
                        .reserve_in_window(key, owner, limit.first, now, expires_at)
                        .await?
                }
                Scope::Pair | Scope::Username => {
                    self.store
                        .reserve_attempt(key, owner, limit, now, expires_at)
                        .await?
                }
            };
            let record = match reserved {
                Reservation::Counted(record) => record,
                Reservation::Refused(old) if old.is_stale(now) => {
                    match self
                        .store
                        .restart_attempts(key, owner, &old, expires_at)
                        .await?
                    {
                        Some(fresh) => fresh,
                        None => continue,
                    }
                }
                Reservation::Refused(old) => {
                    if let Some(until) = policy.abandoned_lock(scope, &old, now) {
                        // Lock it as its last failure would have; a lock
                        // that is already over lets this attempt count.
                        let needed = policy.limit(scope).needed(old.lockouts);
                        let expires_at = until.max(now) + policy.memory;
                        if self
                            .store
                            .lock_throttle(key, needed, now, until, expires_at)
                            .await?
                        {
                            let wait = (until - now).whole_seconds().max(0);
                            // Whether the user exists is not read here.
                            let logged = self.logged_name(name, false);
                            audit::unfinished_attempt_locked(origin, &logged, scope, wait);
                        }
                        if until <= now {
                            continue;
                        }
                        return Ok(Err(Throttle {
                            locked_until: Some(until),
                            ..old
                        }
                        .retry_after(now)
                        .unwrap_or(1)));
                    }
                    if scope == Scope::Address {
                        // Spent: refused until the window passes.
                        let ms = (old.expires_at - now).whole_milliseconds().max(1);
                        return Ok(Err(((ms + 999) / 1000) as u64));
                    }
                    return Ok(Err(old
                        .retry_after(now)
                        .unwrap_or_else(|| policy.pending_wait(&old))));
                }
            };
            return Ok(Ok(Some(Counted {
                scope,
                key: key.to_string(),
                record,
            })));
        }
        Ok(Err(1))
    }

    /// How the log shows a typed username: as typed when such a user
    /// exists, else by a keyed hash (it may be a mistyped password).
    fn logged_name<'n>(&self, name: &'n LoginName, exists: bool) -> LoggedName<'n> {
        if exists {
            LoggedName::Known(name.as_str())
        } else {
            LoggedName::Unknown(self.keys.pseudonym(name.as_str().as_bytes()))
        }
    }

    /// Locks a scope whose counted failures reached its limit. An address
    /// whose budget this failure spent is refused by its record alone until
    /// the window passes: only the event is told.
    async fn lock_if_due(
        &self,
        counted: Option<&Counted>,
        name: &LoggedName<'_>,
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let Some(counted) = counted else {
            return Ok(());
        };
        let policy = &self.settings.throttle;
        let needed = policy.limit(counted.scope).needed(counted.record.lockouts);
        if counted.scope == Scope::Address {
            // Counts are serialised by the store: one failure is the last.
            if counted.record.failures == needed {
                let wait = (counted.record.expires_at - now).whole_seconds().max(1);
                audit::address_budget_spent(origin, name, wait);
            }
            return Ok(());
        }
        if counted.record.failures < needed {
            return Ok(());
        }
        let wait = policy.lock_for(counted.record.lockouts);
        let until = now + wait;
        let locked = self
            .store
            .lock_throttle(
                &counted.key,
                needed,
                now,
                until,
                until.max(now + policy.memory),
            )
            .await?;
        if locked {
            audit::lock_started(origin, name, counted.scope, wait.whole_seconds());
        }
        Ok(())
    }

    async fn check_password(
        &self,
        password: Password,
        auth_source: Option<String>,
        user: Option<User>,
        route: PasswordRoute,
    ) -> Result<User, Error> {
        let hasher = self.hasher.clone();
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        // Argon2 is CPU-bound for tens of milliseconds: keep it off the async workers.
        let (matches, password) = tokio::task::spawn_blocking(move || {
            let ok = hasher.verify(&password, phc.as_deref());
            (ok, password)
        })
        .await?;
        let Some(mut user) = user else {
            return Err(Refusal::InvalidCredentials.into());
        };
        let source_ok = auth_source
            .as_deref()
            .is_none_or(|s| user.has_auth_source(s));
        if !(matches && user.enabled && source_ok) {
            return Err(Refusal::InvalidCredentials.into());
        }
        // A right password is not enough here: refused, and counted, as a
        // wrong one, so nothing tells that the user has a second factor.
        if let PasswordRoute::PasswordOnly {
            client_requires_mfa,
        } = route
        {
            let needs = user.needs_more_than_a_password() || client_requires_mfa;
            if needs && !user.password_only {
                return Err(Refusal::InvalidCredentials.into());
            }
        }
        if self.hasher.needs_rehash(&user.password_hash) {
            // Upgrade a hash made with weaker parameters, now that the password is known.
            let hasher = self.hasher.clone();
            let new_hash = tokio::task::spawn_blocking(move || hasher.hash(&password)).await??;
            if self
                .store
                .replace_password_hash(&user.username, &user.password_hash, &new_hash)
                .await?
            {
                user.password_hash = new_hash;
            }
        }
        Ok(user)
    }

    /// Marks the log in; a user deleted while logging in is refused.
    pub(super) async fn record_login(
        &self,
        mut user: User,
        at: OffsetDateTime,
    ) -> Result<User, Error> {
        if !self.store.record_login(&user.username, at).await? {
            return Err(Refusal::InvalidCredentials.into());
        }
        user.last_login_at = Some(at);
        Ok(user)
    }

    /// Log in for the v2 and user dialects: an access token and a new refresh family.
    pub async fn login_with_tokens(
        &self,
        creds: Credentials,
        origin: &Origin<'_>,
        issuer_url: &str,
    ) -> Result<TokenGrant, Error> {
        let checked = self
            .authenticate(creds, PasswordRoute::VENDOR, origin)
            .await?;
        let now = self.now();
        self.start_family(checked, None, None, origin, now, |user, family, refresh| {
            self.grant(
                user.clone(),
                refresh,
                family.expires_at,
                &family.id.to_string(),
                issuer_url,
                now,
            )
        })
        .await
    }

    /// After a successful log in: records it and starts a refresh family
    /// (bound to `client` when an OAuth client asked, and to the browser
    /// `session` it starts), while its counts are settled. `mint` makes
    /// what the caller answers with from the user as logged in, the family
    /// and its first token. It runs while the writes are answered, so a
    /// signature costs the log in no time of its own, and what it made is
    /// returned only when every write succeeded.
    pub(super) async fn start_family<T>(
        &self,
        Authenticated { user, settlement }: Authenticated,
        client: Option<ClientBinding>,
        session: Option<SessionLink>,
        origin: &Origin<'_>,
        now: OffsetDateTime,
        mint: impl FnOnce(&User, &RefreshFamily, RefreshToken) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (family, refresh) = self.new_family(&user, client, session, origin, now)?;
        let mut logged_in = user.clone();
        logged_in.last_login_at = Some(now);
        // Independent writes: run them together to save round trips.
        let writes = async {
            tokio::try_join!(
                self.settle(settlement),
                self.record_login(user, now),
                async { Ok(self.store.put_refresh_family(&family).await?) }
            )
        };
        let minting = async {
            // Polled first, the writes go out before the signing starts.
            tokio::task::yield_now().await;
            mint(&logged_in, &family, refresh)
        };
        let (written, minted) = tokio::join!(writes, minting);
        written?;
        audit::login_succeeded(origin, &logged_in);
        minted
    }
}

impl<S, K: Signer + ?Sized> Issuer<S, K> {
    /// A new refresh family of `user`'s and its first token, made at `now`
    /// (bound to `client` when an OAuth client asked, and to the browser
    /// `session` it is issued in), not yet stored.
    pub(super) fn new_family(
        &self,
        user: &User,
        client: Option<ClientBinding>,
        session: Option<SessionLink>,
        origin: &Origin<'_>,
        now: OffsetDateTime,
    ) -> Result<(RefreshFamily, RefreshToken), Fault> {
        let id = FamilyId::generate()?;
        let refresh = RefreshToken::generate(id)?;
        let family = RefreshFamily {
            id,
            username: user.username.clone(),
            user_id: user.id,
            token_hash: refresh.hash(),
            token_version: Some(user.token_version),
            generation: 0,
            created_at: now,
            expires_at: now + self.settings.refresh_ttl,
            revoked_at: None,
            client,
            issued_via: Some(origin.dialect.to_string()),
            session: session.map(Box::new),
        };
        Ok((family, refresh))
    }
}
