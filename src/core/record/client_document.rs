//! Client ID metadata documents (API §14): a client whose id is an https
//! URL describes itself in the JSON document at that URL. The document is
//! held to the rules of a public self-registration, and must name itself.

use super::client::{Client, ClientId, Scopes};
use super::registration::{CheckedRegistration, ClientMetadata, MetadataError, RegistrationPolicy};
use super::token::RandomError;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

/// Largest document read, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// How long a fetched document is used before it is fetched again.
pub const DOCUMENT_MAX_AGE: Duration = Duration::minutes(5);

/// Why a document makes no client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the document is not a JSON object")]
    NotObject,
    #[error("the document's `{0}` has the wrong type")]
    Field(&'static str),
    #[error("the document's client_id is not its own URL")]
    OtherClientId,
    #[error("a client of a metadata document has no secret")]
    Secret,
    #[error("{0}")]
    Metadata(#[from] MetadataError),
}

/// The client that the document `body`, fetched from `id`, describes, as
/// of `now`: public, of the code flow, with scopes among `offered`,
/// lapsing when unused for `unused`. The outer error is a fault (no
/// randomness), the inner one the document's.
pub fn document_client(
    id: &ClientId,
    body: &[u8],
    offered: &Scopes,
    now: OffsetDateTime,
    unused: Duration,
) -> Result<Result<Client, DocumentError>, RandomError> {
    let checked = match checked_document(id, body, offered) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let (mut client, _) = Client::new(checked.client, now)?;
    client.third_party = true;
    client.expires_at = Some(now + unused);
    Ok(Ok(client))
}

fn checked_document(
    id: &ClientId,
    body: &[u8],
    offered: &Scopes,
) -> Result<CheckedRegistration, DocumentError> {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return Err(DocumentError::NotObject);
    };
    let text = |k: &'static str| match doc.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(DocumentError::Field(k)),
    };
    let list = |k: &'static str| match doc.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or(DocumentError::Field(k)),
        Some(_) => Err(DocumentError::Field(k)),
    };
    if text("client_id")? != Some(id.as_str()) {
        return Err(DocumentError::OtherClientId);
    }
    // The document is public: a secret in it would be anyone's.
    if doc.contains_key("client_secret") || doc.contains_key("client_secret_expires_at") {
        return Err(DocumentError::Secret);
    }
    let redirect_uris = list("redirect_uris")?;
    let grant_types = list("grant_types")?;
    let response_types = list("response_types")?;
    let metadata = ClientMetadata {
        redirect_uris: redirect_uris.as_deref(),
        token_endpoint_auth_method: text("token_endpoint_auth_method")?,
        grant_types: grant_types.as_deref(),
        response_types: response_types.as_deref(),
        client_name: text("client_name")?,
        scope: text("scope")?,
        dpop_bound_access_tokens: match doc.get("dpop_bound_access_tokens") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(DocumentError::Field("dpop_bound_access_tokens")),
        },
    };
    Ok(metadata.check(RegistrationPolicy::Public, offered, id.as_str())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const URL: &str = "https://app.example.com/oauth/client.json";
    const NOW: OffsetDateTime = datetime!(2037-01-01 0:00 UTC);

    fn client(doc: Value) -> Result<Client, DocumentError> {
        let offered = Scopes::parse("openid profile mcp:tools").unwrap();
        let body = serde_json::to_vec(&doc).unwrap();
        document_client(
            &ClientId::parse(URL).unwrap(),
            &body,
            &offered,
            NOW,
            Duration::days(30),
        )
        .unwrap()
    }

    #[test]
    fn a_document_makes_a_public_third_party_client_of_the_code_flow() {
        let c = client(json!({
            "client_id": URL,
            "client_name": "Agent",
            "redirect_uris": ["http://127.0.0.1:3000/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": "mcp:tools",
            "logo_uri": "https://app.example.com/logo.png"
        }))
        .unwrap();
        assert_eq!(c.id.as_str(), URL);
        assert!(c.is_public() && c.third_party && c.enabled);
        assert_eq!(c.scopes.to_string(), "mcp:tools");
        assert_eq!(c.name.as_deref(), Some("Agent"));
        assert_eq!(c.expires_at, Some(NOW + Duration::days(30)));
        assert!(c.redirect_uri("http://127.0.0.1:3000/cb").is_some());
    }

    #[test]
    fn a_document_must_name_itself_and_meet_the_public_rules() {
        let base = || {
            json!({
                "client_id": URL,
                "redirect_uris": ["https://app.example.com/cb"],
            })
        };
        assert!(client(base()).is_ok());
        let with = |k: &str, v: Value| {
            let mut d = base();
            d[k] = v;
            client(d)
        };
        assert_eq!(
            with("client_id", json!("https://evil.example/c.json")),
            Err(DocumentError::OtherClientId)
        );
        assert_eq!(
            with("client_id", Value::Null),
            Err(DocumentError::OtherClientId)
        );
        assert_eq!(
            with("client_secret", json!("s")),
            Err(DocumentError::Secret)
        );
        assert_eq!(
            with("redirect_uris", json!("https://app.example.com/cb")),
            Err(DocumentError::Field("redirect_uris"))
        );
        assert_eq!(
            with("client_name", json!(7)),
            Err(DocumentError::Field("client_name"))
        );
        for (k, v) in [
            ("token_endpoint_auth_method", json!("client_secret_basic")),
            ("token_endpoint_auth_method", json!("private_key_jwt")),
            ("grant_types", json!(["client_credentials"])),
            ("grant_types", json!(["password"])),
            ("scope", json!("admin")),
        ] {
            assert!(
                matches!(
                    with(k, v.clone()),
                    Err(DocumentError::Metadata(MetadataError::Metadata(_)))
                ),
                "{k} {v}"
            );
        }
        assert!(matches!(
            with("redirect_uris", json!(["javascript:alert(1)"])),
            Err(DocumentError::Metadata(MetadataError::RedirectUri(_)))
        ));
        assert!(matches!(
            with("redirect_uris", json!([])),
            Err(DocumentError::Metadata(MetadataError::RedirectUri(_)))
        ));
        for body in [&b"[]"[..], b"not json", b"\"x\""] {
            assert_eq!(
                document_client(
                    &ClientId::parse(URL).unwrap(),
                    body,
                    &Scopes::default(),
                    NOW,
                    Duration::days(1)
                )
                .unwrap(),
                Err(DocumentError::NotObject)
            );
        }
    }
}
