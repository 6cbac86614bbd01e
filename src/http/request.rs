//! Decoding of request bodies and headers shared by the dialects.
//!
//! Bodies are decoded by hand into each dialect's typed request rather than
//! derived with serde: every rule (missing, null, empty, wrong type, too long)
//! gets its own error that names the field and never echoes its value, so an
//! error message in the log cannot carry a password.

use crate::core::password::{Password, PasswordError};
use crate::core::Credentials;
use crate::scheme::ops_token_value;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::Request;
use serde_json::{Map, Value};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Why a request is malformed. Messages name fields, never values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("Content-Type is not application/json")]
    ContentType,
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the body is not valid UTF-8")]
    NotUtf8,
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not a JSON object")]
    NotObject,
    #[error("`{0}` is missing or null")]
    Missing(&'static str),
    #[error("`{0}` is not a string")]
    WrongType(&'static str),
    #[error("`{0}` is empty")]
    Empty(&'static str),
    #[error("`{0}` is longer than allowed")]
    TooLong(&'static str),
    #[error("Content-Type is not application/x-www-form-urlencoded")]
    FormContentType,
    #[error("`{0}` is given more than once")]
    Repeated(&'static str),
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    #[error("the client authenticated in more than one way")]
    TwoClientAuthentications,
    #[error("no bearer token")]
    NoBearerToken,
}

/// A JSON object body, checked against every rule bodies share.
#[derive(Debug)]
pub struct JsonBody(Map<String, Value>);

impl JsonBody {
    pub fn from_request(req: &Request) -> Result<Self, RequestError> {
        if !is_json_content_type(req) {
            return Err(RequestError::ContentType);
        }
        // API Gateway's base64 bodies arrive here already decoded by lambda_http.
        let bytes: &[u8] = req.body().as_ref();
        Self::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RequestError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(RequestError::TooLarge);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| RequestError::NotUtf8)?;
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(RequestError::NotObject),
            Err(_) => Err(RequestError::NotJson),
        }
    }

    /// A mandatory, non-empty string.
    pub fn required_str(&self, key: &'static str) -> Result<&str, RequestError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Err(RequestError::Missing(key)),
            Some(Value::String(s)) if s.is_empty() => Err(RequestError::Empty(key)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(RequestError::WrongType(key)),
        }
    }

    /// An optional string: absent, `null` and `""` are all `None`.
    pub fn optional_str(&self, key: &'static str) -> Result<Option<&str>, RequestError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(RequestError::WrongType(key)),
        }
    }

    /// An optional boolean: absent and `null` are `None`.
    pub fn optional_bool(&self, key: &'static str) -> Result<Option<bool>, RequestError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(RequestError::WrongType(key)),
        }
    }

    /// An optional array of strings: absent and `null` are `None`.
    pub fn optional_str_list(
        &self,
        key: &'static str,
    ) -> Result<Option<Vec<String>>, RequestError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(RequestError::WrongType(key)),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(RequestError::WrongType(key)),
        }
    }

    /// A mandatory password: over 1024 bytes as received is refused unhashed.
    pub fn password(&self, key: &'static str) -> Result<Password, RequestError> {
        Password::parse(self.required_str(key)?).map_err(|e| match e {
            PasswordError::TooLong => RequestError::TooLong(key),
            _ => RequestError::Empty(key),
        })
    }
}

/// A log-in body: the username under the dialect's key, and `password`.
#[derive(Debug)]
pub struct LoginRequest {
    pub username: String,
    pub password: Password,
}

impl LoginRequest {
    pub fn decode(body: &JsonBody, user_key: &'static str) -> Result<Self, RequestError> {
        Ok(Self {
            username: body.required_str(user_key)?.to_string(),
            password: body.password("password")?,
        })
    }
}

impl From<LoginRequest> for Credentials {
    fn from(req: LoginRequest) -> Self {
        Credentials {
            username: req.username,
            password: req.password,
            auth_source: None,
            device: None,
        }
    }
}

/// The body of a refresh, revoke or logout: `{"refreshToken": "..."}` (other
/// fields, such as the user dialect's `accessToken`, are ignored).
#[derive(Debug)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl RefreshRequest {
    pub fn decode(req: &Request) -> Result<Self, RequestError> {
        Ok(Self {
            refresh_token: JsonBody::from_request(req)?
                .required_str("refreshToken")?
                .to_string(),
        })
    }
}

/// The `refreshToken` of a refresh, revoke or logout body.
pub fn refresh_token(req: &Request) -> Result<String, RequestError> {
    RefreshRequest::decode(req).map(|r| r.refresh_token)
}

fn is_json_content_type(req: &Request) -> bool {
    has_media_type(req, "application/json")
}

/// Whether `Content-Type` is `media`, parameters such as `charset` allowed.
fn has_media_type(req: &Request, media: &str) -> bool {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let found = value.split(';').next().unwrap_or("").trim();
    found.eq_ignore_ascii_case(media)
}

/// An `application/x-www-form-urlencoded` body (the oauth dialect), checked
/// against the same size and UTF-8 rules as JSON bodies.
#[derive(Debug, Default)]
pub struct FormBody(Vec<(String, String)>);

impl FormBody {
    pub fn from_request(req: &Request) -> Result<Self, RequestError> {
        if !has_media_type(req, "application/x-www-form-urlencoded") {
            return Err(RequestError::FormContentType);
        }
        Self::from_bytes(req.body().as_ref())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RequestError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(RequestError::TooLarge);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| RequestError::NotUtf8)?;
        let mut pairs = Vec::new();
        for piece in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            pairs.push((form_decode(k)?, form_decode(v)?));
        }
        Ok(Self(pairs))
    }

    /// A parameter given at most once; empty counts as absent (RFC 6749 §3.1).
    pub fn optional(&self, key: &'static str) -> Result<Option<&str>, RequestError> {
        let mut found = self.0.iter().filter(|(k, _)| k == key);
        let first = found.next();
        if found.next().is_some() {
            return Err(RequestError::Repeated(key));
        }
        Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
    }

    pub fn required(&self, key: &'static str) -> Result<&str, RequestError> {
        self.optional(key)?.ok_or(RequestError::Missing(key))
    }

    /// A mandatory password, with the same limit as in JSON bodies.
    pub fn password(&self, key: &'static str) -> Result<Password, RequestError> {
        Password::parse(self.required(key)?).map_err(|e| match e {
            PasswordError::TooLong => RequestError::TooLong(key),
            _ => RequestError::Empty(key),
        })
    }
}

/// The credentials of an `Authorization: Basic` header (RFC 6749 §2.3.1:
/// both parts form-encoded before base64). `None` without such a header,
/// `Some(Err(()))` when it is malformed.
pub fn basic_credentials(req: &Request) -> Option<Result<(String, String), ()>> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| ());
    Some(decoded.and_then(|raw| {
        let text = String::from_utf8(raw).map_err(|_| ())?;
        let (id, secret) = text.split_once(':').ok_or(())?;
        let id = form_decode(id).map_err(|_| ())?;
        let secret = form_decode(secret).map_err(|_| ())?;
        Ok((id, secret))
    }))
}

/// One form-encoded component: `+` is a space, `%XX` a byte; the bytes must
/// be UTF-8 (decoding never replaces what it cannot read).
fn form_decode(raw: &str) -> Result<String, RequestError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| RequestError::NotUtf8)
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// The token of an `Authorization: OpsToken <token>` (or `vRealizeOpsToken`) header.
pub fn ops_token(req: &Request) -> Option<&str> {
    ops_token_value(req.headers().get(AUTHORIZATION)?.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Result<JsonBody, RequestError> {
        JsonBody::from_bytes(s.as_bytes())
    }

    #[test]
    fn json_shapes() {
        assert_eq!(body("not json").unwrap_err(), RequestError::NotJson);
        assert_eq!(body("").unwrap_err(), RequestError::NotJson);
        assert_eq!(body("[1]").unwrap_err(), RequestError::NotObject);
        assert_eq!(body("\"x\"").unwrap_err(), RequestError::NotObject);
        assert_eq!(
            JsonBody::from_bytes(b"{\"a\":\"\xff\"}").unwrap_err(),
            RequestError::NotUtf8
        );
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(body(&big).unwrap_err(), RequestError::TooLarge);
    }

    #[test]
    fn fields() {
        let b = body(r#"{"s":"v","e":"","n":null,"i":1,"o":{},"extra":true}"#).unwrap();
        assert_eq!(b.required_str("s"), Ok("v"));
        assert_eq!(b.required_str("e"), Err(RequestError::Empty("e")));
        assert_eq!(b.required_str("n"), Err(RequestError::Missing("n")));
        assert_eq!(b.required_str("x"), Err(RequestError::Missing("x")));
        assert_eq!(b.required_str("i"), Err(RequestError::WrongType("i")));
        assert_eq!(b.required_str("o"), Err(RequestError::WrongType("o")));
        assert_eq!(b.optional_str("e"), Ok(None));
        assert_eq!(b.optional_str("n"), Ok(None));
        assert_eq!(b.optional_str("x"), Ok(None));
        assert_eq!(b.optional_str("i"), Err(RequestError::WrongType("i")));
    }

    #[test]
    fn form_bodies() {
        let f =
            FormBody::from_bytes(b"grant_type=password&username=a%20b+c&scope=&x=1&x=2").unwrap();
        assert_eq!(f.required("grant_type"), Ok("password"));
        assert_eq!(f.required("username"), Ok("a b c"));
        assert_eq!(f.optional("scope"), Ok(None));
        assert_eq!(f.required("scope"), Err(RequestError::Missing("scope")));
        assert_eq!(f.optional("x"), Err(RequestError::Repeated("x")));
        assert_eq!(
            FormBody::from_bytes(b"a=%ff").unwrap_err(),
            RequestError::NotUtf8
        );
        assert_eq!(
            FormBody::from_bytes(b"a=\xff").unwrap_err(),
            RequestError::NotUtf8
        );
        let big = format!("a={}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            FormBody::from_bytes(big.as_bytes()).unwrap_err(),
            RequestError::TooLarge
        );
    }

    #[test]
    fn password_limit_is_in_bytes_as_received() {
        let ok = format!(r#"{{"p":"{}"}}"#, "a".repeat(1024));
        assert!(body(&ok).unwrap().password("p").is_ok());
        let long = format!(r#"{{"p":"{}"}}"#, "é".repeat(513));
        assert_eq!(
            body(&long).unwrap().password("p").unwrap_err(),
            RequestError::TooLong("p")
        );
    }
}
