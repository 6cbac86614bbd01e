//! `Authorization` header schemes read alike by the edge and the authorizer,
//! so neither imports the other's internals.

/// The token of an `OpsToken <token>` (or `vRealizeOpsToken`) header value.
pub fn ops_token_value(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    let known =
        scheme.eq_ignore_ascii_case("OpsToken") || scheme.eq_ignore_ascii_case("vRealizeOpsToken");
    let token = token.trim();
    (known && !token.is_empty()).then_some(token)
}
