//! What the commands print: tab-separated tables and `field<TAB>value`
//! lines, for people and for `cut`. Never a secret but the client secret
//! made at that moment.

use crate::core::record::browser::BrowserSession;
use crate::core::record::client::{Client, ClientSecret};
use crate::core::record::registration::InitialAccessToken;
use crate::core::record::throttle::Throttle;
use crate::core::record::user::User;
use crate::keys::ring::KeyRing;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339, or `-` for no time (or one that cannot be written).
pub(super) fn time(t: OffsetDateTime) -> String {
    when(Some(t))
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

pub(super) fn ring(ring: &KeyRing) {
    // Unix seconds; one out of range is shown as the number it is.
    let at = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| t.to_string())
    };
    println!("kid\tstatus\tcreated\tretired");
    for k in &ring.keys {
        println!(
            "{}\t{}\t{}\t{}",
            k.kid,
            k.status,
            at(k.created_at),
            k.retired_at.map(at).unwrap_or_else(|| "-".into())
        );
    }
}

/// Printed before the users are read, so a failed read still shows what
/// was asked for.
pub(super) fn user_header() {
    println!("username\tid\tenabled\trole\troles\tauth_source\tcustomer_id\tlast_login");
}

pub(super) fn user_row(u: &User) {
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        u.username,
        u.id,
        u.enabled,
        u.role,
        u.roles.join(","),
        u.auth_source,
        u.customer_id,
        when(u.last_login_at)
    );
}

/// Everything but the password hash.
pub(super) fn user(user: &User) {
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
}

/// The throttle records of a username, by key: `own` is the username's
/// own; the others are its pairs with source addresses.
pub(super) fn locks(own: &str, records: &[(String, Throttle)], now: OffsetDateTime) {
    if records.is_empty() {
        println!("lock\tnone (no failed attempts remembered)");
    }
    for (key, t) in records {
        let scope = if key == own { "username" } else { "address" };
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
}

fn client_type(c: &Client) -> &'static str {
    if c.is_public() {
        "public"
    } else {
        "confidential"
    }
}

fn grant_list(c: &Client) -> String {
    c.grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Printed before the clients are read, as [`user_header`].
pub(super) fn client_header() {
    println!("client_id\ttype\tenabled\tgrant_types\tscopes\taudience\tregistered_by\tlapses");
}

/// Who registered the client: an operator, or the client itself (a third
/// party, API §14).
fn registered_by(c: &Client) -> &'static str {
    if c.id.is_document() {
        "metadata document (third party)"
    } else if c.third_party {
        "self (third party)"
    } else {
        "operator"
    }
}

pub(super) fn client_row(c: &Client) {
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        c.id,
        client_type(c),
        c.enabled,
        grant_list(c),
        c.scopes,
        c.audience.as_deref().unwrap_or("-"),
        registered_by(c),
        when(c.expires_at)
    );
}

/// Everything but the secret's hash.
pub(super) fn client(c: &Client) {
    println!("client_id\t{}", c.id);
    println!("type\t{}", client_type(c));
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
    for uri in &c.logout.post_logout_redirect_uris {
        println!("post_logout_redirect_uri\t{uri}");
    }
    if c.require_mfa {
        println!("require_mfa\ttrue");
    }
    if c.require_dpop {
        println!("require_dpop\ttrue");
    }
    if let Some(uri) = &c.logout.backchannel {
        println!("backchannel_logout_uri\t{uri}");
    }
    println!(
        "audience\t{}",
        c.audience.as_deref().unwrap_or("- (AUDIENCE)")
    );
    println!("created\t{}", when(Some(c.created_at)));
    println!("registered_by\t{}", registered_by(c));
    if c.expires_at.is_some() {
        println!("lapses_unless_used_by\t{}", when(c.expires_at));
    }
}

/// The initial access tokens for registration (API §14), never the tokens.
pub(super) fn initial_access_tokens(tokens: &[InitialAccessToken], now: OffsetDateTime) {
    println!("id\tcreated\texpires\tstate\tnote");
    for t in tokens {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            t.id(),
            when(Some(t.created_at)),
            when(Some(t.expires_at)),
            if t.is_live(now) { "live" } else { "expired" },
            t.note.as_deref().unwrap_or("-")
        );
    }
}

/// A secret just made: the one time it is shown. `note` (on standard
/// error, so a script reading the secret does not get it) says so.
pub(super) fn new_secret(secret: &ClientSecret, note: &str) {
    println!("client_secret\t{}", secret.expose());
    eprintln!("{note}");
}

/// A user's browser sessions: one row each, with the state it is in at
/// `now` (`live`, `ended`, `revoked` by a later token version or a disable,
/// `idle`, `expired`).
pub(super) fn browser_sessions(sessions: &[BrowserSession], user: &User, now: OffsetDateTime) {
    println!("session\tstate\tsigned_in\tidle_until\texpires\tamr\tclients");
    for s in sessions {
        let state = if s.ended_at.is_some() {
            "ended"
        } else if !user.accepts_tokens_from(s.user_id, Some(s.token_version), s.created_at) {
            "revoked"
        } else if s.expires_at <= now {
            "expired"
        } else if s.idle_until <= now {
            "idle"
        } else {
            "live"
        };
        let clients: Vec<&str> = s.clients.iter().map(|c| c.as_str()).collect();
        println!(
            "{}\t{state}\t{}\t{}\t{}\t{}\t{}",
            s.id,
            when(Some(s.auth_time)),
            when(Some(s.idle_until)),
            when(Some(s.expires_at)),
            s.amr.join(","),
            if clients.is_empty() {
                "-".to_string()
            } else {
                clients.join(",")
            },
        );
    }
}

/// A user's second factors and policy, one `name<TAB>value` line each;
/// never a secret or a code.
pub(super) fn factors(user: &User) {
    let f = &user.factors;
    println!("username\t{}", user.username);
    println!(
        "one_time_codes\t{}",
        if f.totp_sealed.is_some() {
            "enrolled"
        } else {
            "none"
        }
    );
    println!("enrolled_at\t{}", when(f.enrolled_at));
    println!("recovery_codes_left\t{}", f.recovery.len());
    println!("passkeys\t{}", f.passkeys.len());
    let mut keys: Vec<_> = f.passkeys.iter().collect();
    keys.sort_by_key(|p| p.created_at);
    for p in keys {
        // The credential id (public), and what an operator asks of a lost
        // device: when it was made and last used, and whether it syncs.
        println!(
            "passkey\t{}\talg={}\tcreated={}\tlast_used={}\tsynced={}",
            p.id_text(),
            p.alg,
            when(Some(p.created_at)),
            when(p.last_used_at),
            if p.backed_up {
                "yes"
            } else if p.backup_eligible {
                "eligible"
            } else {
                "no"
            }
        );
    }
    println!("mfa_required\t{}", user.mfa_required);
    println!("password_only_allowed\t{}", user.password_only);
}
