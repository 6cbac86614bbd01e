//! Protected resources (RFC 8707, API §14): the APIs a token may be for,
//! each registered by an operator with the scopes it accepts. A token for a
//! resource has it as its `aud` and only its scopes.

use super::client::Scopes;
use std::fmt;
use time::OffsetDateTime;

/// Longest resource URI accepted, in bytes.
pub const MAX_RESOURCE_BYTES: usize = 512;

/// A resource indicator: an absolute `https://` (or, on a loopback host,
/// `http://`) URI without a fragment (RFC 8707 §2), compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceUri(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResourceUriError {
    #[error("a resource is an absolute https:// URI (http:// on localhost or 127.0.0.1) of at most {MAX_RESOURCE_BYTES} bytes")]
    NotAbsolute,
    #[error("a resource URI has no fragment (#...)")]
    Fragment,
    #[error("a resource URI holds only printable ASCII characters other than space")]
    Character,
}

impl ResourceUri {
    pub fn parse(raw: &str) -> Result<Self, ResourceUriError> {
        if raw.is_empty() || raw.len() > MAX_RESOURCE_BYTES {
            return Err(ResourceUriError::NotAbsolute);
        }
        if !raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ResourceUriError::Character);
        }
        if raw.contains('#') {
            return Err(ResourceUriError::Fragment);
        }
        let rest = if let Some(rest) = raw.strip_prefix("https://") {
            rest
        } else if let Some(rest) = raw.strip_prefix("http://") {
            let host = rest.split(['/', '?', ':']).next().unwrap_or("");
            if !matches!(host, "localhost" | "127.0.0.1") && !rest.starts_with("[::1]") {
                return Err(ResourceUriError::NotAbsolute);
            }
            rest
        } else {
            return Err(ResourceUriError::NotAbsolute);
        };
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if authority.is_empty() || authority.contains('@') {
            return Err(ResourceUriError::NotAbsolute);
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub uri: ResourceUri,
    /// The scopes its tokens may carry; a token for it carries no other.
    pub scopes: Scopes,
    pub created_at: OffsetDateTime,
}

impl Resource {
    /// What of `granted` a token for this resource carries.
    pub fn narrow(&self, granted: &Scopes) -> Scopes {
        granted.filtered(|s| self.scopes.contains(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_are_absolute_https_or_loopback_without_fragment() {
        for ok in [
            "https://mcp.example.com/mcp",
            "https://api.example.com",
            "https://api.example.com:8443/v1?tenant=a",
            "http://127.0.0.1:3000/mcp",
            "http://localhost/mcp",
            "http://[::1]:9/x",
        ] {
            assert_eq!(ResourceUri::parse(ok).unwrap().as_str(), ok);
        }
        use ResourceUriError::*;
        for (bad, why) in [
            ("", NotAbsolute),
            ("api.example.com", NotAbsolute),
            ("urn:example:api", NotAbsolute),
            ("http://api.example.com/", NotAbsolute),
            ("https:///path", NotAbsolute),
            ("https://user@api.example.com", NotAbsolute),
            ("https://api.example.com/#x", Fragment),
            ("https://api.example.com/a b", Character),
        ] {
            assert_eq!(ResourceUri::parse(bad), Err(why), "{bad}");
        }
        assert!(ResourceUri::parse(&format!("https://a.example/{}", "x".repeat(512))).is_err());
    }

    #[test]
    fn a_token_for_a_resource_carries_only_its_scopes() {
        let r = Resource {
            uri: ResourceUri::parse("https://mcp.example.com/mcp").unwrap(),
            scopes: Scopes::parse("mcp:tools mcp:read").unwrap(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let granted = Scopes::parse("openid mcp:tools profile").unwrap();
        assert_eq!(r.narrow(&granted).to_string(), "mcp:tools");
    }
}
