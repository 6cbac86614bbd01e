//! A user's consent to a third-party client (API §14): the scopes they
//! allowed it, remembered until withdrawn.

use super::client::{ClientId, Scopes};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a user allowed a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub user_id: Uuid,
    pub client_id: ClientId,
    pub scopes: Scopes,
    pub granted_at: OffsetDateTime,
}

impl Consent {
    /// Whether the consent covers a request for `scope`.
    pub fn covers(&self, scope: &Scopes) -> bool {
        scope.is_subset_of(&self.scopes)
    }

    /// The consent after the user also allows `scope`: what was allowed
    /// before stays allowed.
    pub fn widened(
        previous: Option<&Consent>,
        user_id: Uuid,
        client_id: &ClientId,
        scope: &Scopes,
        at: OffsetDateTime,
    ) -> Consent {
        let mut all = previous.map(|c| c.scopes.to_string()).unwrap_or_default();
        all.push(' ');
        all.push_str(&scope.to_string());
        Consent {
            user_id,
            client_id: client_id.clone(),
            // Both parts are scopes already, so the union parses.
            scopes: Scopes::parse(&all).unwrap_or_else(|_| scope.clone()),
            granted_at: at,
        }
    }
}

/// How the consent page words a scope.
pub fn scope_in_words(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are on this site (your account id)".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        other => format!("Use the permission \u{201c}{other}\u{201d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_covers_what_was_allowed_and_widening_keeps_it() {
        let id = ClientId::parse("dyn-a").unwrap();
        let s = |raw| Scopes::parse(raw).unwrap();
        let at = OffsetDateTime::UNIX_EPOCH;
        let first = Consent::widened(None, Uuid::nil(), &id, &s("openid profile"), at);
        assert!(first.covers(&s("openid")) && first.covers(&s("profile openid")));
        assert!(!first.covers(&s("openid email")));
        let both = Consent::widened(Some(&first), Uuid::nil(), &id, &s("email"), at);
        assert_eq!(both.scopes.to_string(), "openid profile email");
        assert!(scope_in_words("mcp:tools").contains("mcp:tools"));
    }
}
