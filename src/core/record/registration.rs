//! Clients that register themselves (RFC 7591, API §14): the operator's
//! policy, the initial access tokens it may require, and the rules a
//! client's metadata must meet. A registered client is made by the same
//! [`NewClient::parse`] as an operator's, so it meets the same rules.

use super::client::{
    ClientFields, GrantType, NewClient, NewClientError, Scopes, REGISTERED_ID_PREFIX,
};
use super::token::{random, token_hash, RandomError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// Who may register a client at `POST /oauth2/register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationPolicy {
    /// Nobody: the endpoint is not there.
    #[default]
    Off,
    /// Anyone, but only a public client of the code flow.
    Public,
    /// Whoever holds an initial access token from the admin tool.
    Token,
}

impl RegistrationPolicy {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "off" => Some(Self::Off),
            "public" => Some(Self::Public),
            "token" => Some(Self::Token),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Public => "public",
            Self::Token => "token",
        }
    }
}

/// Most redirect URIs one registration may name.
pub const MAX_REGISTERED_REDIRECT_URIS: usize = 10;

/// How a client authenticates at the token endpoint (RFC 7591 §2).
pub const AUTH_NONE: &str = "none";
pub const AUTH_BASIC: &str = "client_secret_basic";
pub const AUTH_POST: &str = "client_secret_post";

/// A client's metadata as it asked to be registered, unchecked. Absent
/// fields take RFC 7591's defaults, or the policy's.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientMetadata<'a> {
    pub redirect_uris: Option<&'a [String]>,
    pub token_endpoint_auth_method: Option<&'a str>,
    pub grant_types: Option<&'a [String]>,
    pub response_types: Option<&'a [String]>,
    pub client_name: Option<&'a str>,
    pub scope: Option<&'a str>,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
}

/// Why metadata cannot be registered: RFC 7591 §3.2.2's two errors, with a
/// description for the developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("{0}")]
    RedirectUri(String),
    #[error("{0}")]
    Metadata(String),
}

/// A registration that meets every rule: the client to store, whether it
/// gets a secret, and its authentication method.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRegistration {
    pub client: NewClient,
    pub auth_method: &'static str,
    pub response_types: Vec<&'static str>,
}

impl ClientMetadata<'_> {
    /// Checks the metadata against `policy` and the scopes self-registered
    /// clients may have, for a client to be called `id`.
    pub fn check(
        &self,
        policy: RegistrationPolicy,
        offered: &Scopes,
        id: &str,
    ) -> Result<CheckedRegistration, MetadataError> {
        let meta = |m: &str| Err(MetadataError::Metadata(m.to_string()));
        // A public policy makes public clients; RFC 7591 §3.2.1 lets the
        // server replace the default (client_secret_basic) it would refuse.
        let auth_method = match (self.token_endpoint_auth_method, policy) {
            (None, RegistrationPolicy::Public) | (Some(AUTH_NONE), _) => AUTH_NONE,
            (None, _) | (Some(AUTH_BASIC), _) => AUTH_BASIC,
            (Some(AUTH_POST), _) => AUTH_POST,
            (Some(_), _) => {
                return meta(
                    "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
                )
            }
        };
        let public = auth_method == AUTH_NONE;
        if !public && policy == RegistrationPolicy::Public {
            return meta(
                "only public clients may register here: token_endpoint_auth_method must be none",
            );
        }
        let default_grants = [GrantType::AuthorizationCode.as_str().to_string()];
        let grant_types = self.grant_types.unwrap_or(&default_grants);
        for g in grant_types {
            let allowed = match GrantType::parse(g) {
                Some(GrantType::AuthorizationCode | GrantType::RefreshToken) => true,
                Some(GrantType::ClientCredentials) => policy == RegistrationPolicy::Token,
                // A third party never sees a user's password; devices are
                // registered by an operator.
                Some(GrantType::Password | GrantType::DeviceCode) | None => false,
            };
            if !allowed {
                return meta(&format!("the grant type {g:?} cannot be registered"));
            }
        }
        let code = grant_types
            .iter()
            .any(|g| g == GrantType::AuthorizationCode.as_str());
        let response_types = match self.response_types {
            None => code.then_some(vec!["code"]).unwrap_or_default(),
            Some(list) => {
                if list.iter().any(|r| r != "code") {
                    return meta("the only response type is code");
                }
                if list.is_empty() == code {
                    return meta(
                        "response_types must be [\"code\"] exactly when grant_types has authorization_code",
                    );
                }
                vec!["code"]
            }
        };
        let redirect_uris = self.redirect_uris.unwrap_or(&[]);
        if redirect_uris.len() > MAX_REGISTERED_REDIRECT_URIS {
            return Err(MetadataError::RedirectUri(format!(
                "at most {MAX_REGISTERED_REDIRECT_URIS} redirect URIs"
            )));
        }
        let scopes = match self.scope {
            None => offered.clone(),
            Some(raw) => {
                let asked =
                    Scopes::parse(raw).map_err(|e| MetadataError::Metadata(e.to_string()))?;
                if let Some(s) = asked.iter().find(|s| !offered.contains(s)) {
                    return meta(&format!(
                        "the scope {s:?} is not offered to registered clients"
                    ));
                }
                asked
            }
        };
        let scopes = scopes.to_string();
        let client = NewClient::parse(ClientFields {
            id,
            public,
            grant_types,
            redirect_uris,
            name: self.client_name,
            scopes: &scopes,
            audience: None,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            require_mfa: false,
            require_dpop: self.dpop_bound_access_tokens,
        })
        .map_err(|e| match e {
            NewClientError::RedirectUri { .. } | NewClientError::NoRedirectUri => {
                MetadataError::RedirectUri(e.to_string())
            }
            other => MetadataError::Metadata(other.to_string()),
        })?;
        Ok(CheckedRegistration {
            client,
            auth_method,
            response_types,
        })
    }
}

/// A new self-registered client's id: the reserved prefix and 128 random
/// bits.
pub fn registered_client_id() -> Result<String, RandomError> {
    let bytes: [u8; 16] = random()?;
    Ok(format!(
        "{REGISTERED_ID_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// An initial access token as stored: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    pub hash: String,
    /// What the operator said it is for.
    pub note: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl InitialAccessToken {
    /// A new token (256 random bits) good until `expires_at`; the token
    /// goes back to be shown once.
    pub fn issue(
        note: Option<String>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(Self, SecretString), RandomError> {
        let bytes: [u8; 32] = random()?;
        let token = SecretString::from(URL_SAFE_NO_PAD.encode(bytes));
        let record = Self {
            hash: token_hash(token.expose_secret()),
            note,
            created_at: now,
            expires_at,
        };
        Ok((record, token))
    }

    /// How the admin tool names it: the start of its hash.
    pub fn id(&self) -> &str {
        &self.hash[..self.hash.len().min(12)]
    }

    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegistrationPolicy::{Public, Token};

    fn uris(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn offered() -> Scopes {
        Scopes::parse("openid profile mcp:tools").unwrap()
    }

    #[test]
    fn a_public_registration_gets_the_code_flow_and_every_offered_scope() {
        let redirect = uris(&["http://127.0.0.1:3000/cb"]);
        let m = ClientMetadata {
            redirect_uris: Some(&redirect),
            client_name: Some("Agent"),
            ..Default::default()
        };
        let r = m.check(Public, &offered(), "dyn-a").unwrap();
        assert_eq!(r.auth_method, AUTH_NONE);
        assert_eq!(r.response_types, ["code"]);
        let expected = NewClient::parse(ClientFields {
            id: "dyn-a",
            public: true,
            grant_types: &uris(&["authorization_code"]),
            redirect_uris: &redirect,
            name: Some("Agent"),
            scopes: "openid profile mcp:tools",
            audience: None,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            require_mfa: false,
            require_dpop: false,
        })
        .unwrap();
        assert_eq!(r.client, expected);
    }

    #[test]
    fn each_rule_has_its_error() {
        let https = uris(&["https://app.example/cb"]);
        let http = uris(&["http://app.example/cb"]);
        let many = uris(&["https://a.example/cb"; 11]);
        let password = uris(&["password"]);
        let cc = uris(&["client_credentials"]);
        let token = uris(&["token"]);
        let none: Vec<String> = Vec::new();
        let base = ClientMetadata {
            redirect_uris: Some(&https),
            ..Default::default()
        };
        let redirect = |m: ClientMetadata<'_>, p| {
            matches!(
                m.check(p, &offered(), "dyn-a"),
                Err(MetadataError::RedirectUri(_))
            )
        };
        let metadata = |m: ClientMetadata<'_>, p| {
            matches!(
                m.check(p, &offered(), "dyn-a"),
                Err(MetadataError::Metadata(_))
            )
        };
        assert!(redirect(
            ClientMetadata {
                redirect_uris: Some(&http),
                ..base
            },
            Public
        ));
        assert!(redirect(
            ClientMetadata {
                redirect_uris: None,
                ..base
            },
            Public
        ));
        assert!(redirect(
            ClientMetadata {
                redirect_uris: Some(&many),
                ..base
            },
            Public
        ));
        let secret = ClientMetadata {
            token_endpoint_auth_method: Some(AUTH_BASIC),
            ..base
        };
        assert!(metadata(secret, Public));
        assert!(secret.check(Token, &offered(), "dyn-a").is_ok());
        assert!(metadata(
            ClientMetadata {
                token_endpoint_auth_method: Some("private_key_jwt"),
                ..base
            },
            Token
        ));
        assert!(metadata(
            ClientMetadata {
                grant_types: Some(&password),
                ..base
            },
            Token
        ));
        assert!(metadata(
            ClientMetadata {
                grant_types: Some(&cc),
                redirect_uris: None,
                ..base
            },
            Public
        ));
        assert!(metadata(
            ClientMetadata {
                response_types: Some(&token),
                ..base
            },
            Public
        ));
        assert!(metadata(
            ClientMetadata {
                response_types: Some(&none),
                ..base
            },
            Public
        ));
        assert!(metadata(
            ClientMetadata {
                scope: Some("admin"),
                ..base
            },
            Public
        ));
        assert!(metadata(
            ClientMetadata {
                client_name: Some(" "),
                ..base
            },
            Public
        ));
        // A confidential machine client, with the token policy only.
        let machine = ClientMetadata {
            grant_types: Some(&cc),
            redirect_uris: None,
            token_endpoint_auth_method: Some(AUTH_POST),
            scope: Some("mcp:tools"),
            ..Default::default()
        };
        let r = machine.check(Token, &offered(), "dyn-b").unwrap();
        assert!(r.response_types.is_empty());
        assert_eq!(r.auth_method, AUTH_POST);
    }

    #[test]
    fn initial_access_tokens_are_stored_as_their_hash() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let (t, secret) =
            InitialAccessToken::issue(None, now, now + time::Duration::days(1)).unwrap();
        assert_eq!(t.hash, token_hash(secret.expose_secret()));
        assert!(t.is_live(now) && !t.is_live(now + time::Duration::days(1)));
        assert!(registered_client_id()
            .unwrap()
            .starts_with(REGISTERED_ID_PREFIX));
    }
}
