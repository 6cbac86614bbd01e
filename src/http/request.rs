//! Decoding of request bodies and headers shared by the dialects.
//!
//! Bodies are decoded by hand into each dialect's typed request rather than
//! derived with serde: every rule (missing, null, empty, wrong type, too long)
//! gets its own error that names the field and never echoes its value, so an
//! error message in the log cannot carry a password.

use crate::core::password::{Password, PasswordError};
use crate::core::Credentials;
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
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json")
}

/// The token of an `Authorization: OpsToken <token>` (or `vRealizeOpsToken`) header.
pub fn ops_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let known =
        scheme.eq_ignore_ascii_case("OpsToken") || scheme.eq_ignore_ascii_case("vRealizeOpsToken");
    let token = token.trim();
    (known && !token.is_empty()).then_some(token)
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
