//! The one route table: every path, method, dialect and name the function
//! serves. The router, the fuzz target, the hostile-input test and the
//! template check all read it.

use lambda_http::http::Method;

/// The wire dialect a route speaks, which decides its error shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialectName {
    V2,
    User,
    Ops,
    /// Standard OAuth 2.0 and OpenID Connect.
    OAuth,
    /// The same dialect's authorization endpoint, which a person's browser
    /// calls: its errors are HTML pages or redirects, never JSON.
    OAuthPage,
    /// `/.well-known/` documents.
    Discovery,
}

impl DialectName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::User => "user",
            Self::Ops => "ops",
            Self::OAuth | Self::OAuthPage => "oauth",
            Self::Discovery => "discovery",
        }
    }
}

/// What the dispatcher runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    V2Login,
    V2Refresh,
    V2Revoke,
    UserAuthenticate,
    UserRefresh,
    UserLogout,
    OpsAcquire,
    OpsCurrentUser,
    OpsRelease,
    OpsPasswordChange,
    OAuthAuthorize,
    OAuthAuthorizeSubmit,
    OAuthLogout,
    OAuthToken,
    OAuthRevoke,
    OAuthIntrospect,
    OAuthUserInfo,
    OAuthRegister,
    OAuthDeviceAuthorization,
    OAuthDevice,
    OAuthDeviceSubmit,
    OAuthDeviceCallback,
    AuthorizationServerMetadata,
    OpenIdConfiguration,
    Jwks,
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// Exact, after the stage prefix is removed.
    pub path: &'static str,
    pub dialect: DialectName,
    /// For logs and metrics.
    pub name: &'static str,
    pub route: Route,
}

const fn spec(
    method: Method,
    path: &'static str,
    dialect: DialectName,
    name: &'static str,
    route: Route,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        dialect,
        name,
        route,
    }
}

use DialectName::{Discovery, OAuth, OAuthPage, Ops, User, V2};

pub const ROUTES: &[RouteSpec] = &[
    spec(
        Method::POST,
        "/api/v2/auth/token",
        V2,
        "v2.login",
        Route::V2Login,
    ),
    spec(
        Method::POST,
        "/api/v2/auth/token/refresh",
        V2,
        "v2.refresh",
        Route::V2Refresh,
    ),
    spec(
        Method::POST,
        "/api/v2/auth/token/revoke",
        V2,
        "v2.revoke",
        Route::V2Revoke,
    ),
    spec(
        Method::POST,
        "/api/user/authenticate",
        User,
        "user.authenticate",
        Route::UserAuthenticate,
    ),
    spec(
        Method::POST,
        "/api/user/refresh",
        User,
        "user.refresh",
        Route::UserRefresh,
    ),
    spec(
        Method::POST,
        "/api/user/logout",
        User,
        "user.logout",
        Route::UserLogout,
    ),
    spec(
        Method::POST,
        "/api/auth/token/acquire",
        Ops,
        "ops.acquire",
        Route::OpsAcquire,
    ),
    spec(
        Method::GET,
        "/api/auth/currentuser",
        Ops,
        "ops.currentuser",
        Route::OpsCurrentUser,
    ),
    spec(
        Method::POST,
        "/api/auth/token/release",
        Ops,
        "ops.release",
        Route::OpsRelease,
    ),
    spec(
        Method::PUT,
        "/api/auth/users/passwordchange",
        Ops,
        "ops.passwordchange",
        Route::OpsPasswordChange,
    ),
    // The ops vendor's clients address its API under /suite-api: the same
    // routes, with identical behaviour.
    spec(
        Method::POST,
        "/suite-api/api/auth/token/acquire",
        Ops,
        "ops.acquire",
        Route::OpsAcquire,
    ),
    spec(
        Method::GET,
        "/suite-api/api/auth/currentuser",
        Ops,
        "ops.currentuser",
        Route::OpsCurrentUser,
    ),
    spec(
        Method::POST,
        "/suite-api/api/auth/token/release",
        Ops,
        "ops.release",
        Route::OpsRelease,
    ),
    spec(
        Method::PUT,
        "/suite-api/api/auth/users/passwordchange",
        Ops,
        "ops.passwordchange",
        Route::OpsPasswordChange,
    ),
    spec(
        Method::GET,
        "/oauth2/authorize",
        OAuthPage,
        "oauth.authorize",
        Route::OAuthAuthorize,
    ),
    spec(
        Method::POST,
        "/oauth2/authorize",
        OAuthPage,
        "oauth.authorize-submit",
        Route::OAuthAuthorizeSubmit,
    ),
    spec(
        Method::GET,
        "/oauth2/logout",
        OAuthPage,
        "oauth.logout",
        Route::OAuthLogout,
    ),
    spec(
        Method::POST,
        "/oauth2/logout",
        OAuthPage,
        "oauth.logout",
        Route::OAuthLogout,
    ),
    spec(
        Method::POST,
        "/oauth2/token",
        OAuth,
        "oauth.token",
        Route::OAuthToken,
    ),
    spec(
        Method::POST,
        "/oauth2/revoke",
        OAuth,
        "oauth.revoke",
        Route::OAuthRevoke,
    ),
    spec(
        Method::POST,
        "/oauth2/introspect",
        OAuth,
        "oauth.introspect",
        Route::OAuthIntrospect,
    ),
    spec(
        Method::GET,
        "/oauth2/userinfo",
        OAuth,
        "oauth.userinfo",
        Route::OAuthUserInfo,
    ),
    spec(
        Method::POST,
        "/oauth2/userinfo",
        OAuth,
        "oauth.userinfo",
        Route::OAuthUserInfo,
    ),
    spec(
        Method::POST,
        "/oauth2/register",
        OAuth,
        "oauth.register",
        Route::OAuthRegister,
    ),
    spec(
        Method::POST,
        "/oauth2/device_authorization",
        OAuth,
        "oauth.device-authorization",
        Route::OAuthDeviceAuthorization,
    ),
    spec(
        Method::GET,
        "/oauth2/device",
        OAuthPage,
        "oauth.device",
        Route::OAuthDevice,
    ),
    spec(
        Method::POST,
        "/oauth2/device",
        OAuthPage,
        "oauth.device-submit",
        Route::OAuthDeviceSubmit,
    ),
    spec(
        Method::GET,
        "/oauth2/device/callback",
        OAuthPage,
        "oauth.device-callback",
        Route::OAuthDeviceCallback,
    ),
    spec(
        Method::GET,
        "/.well-known/oauth-authorization-server",
        Discovery,
        "discovery.oauth-authorization-server",
        Route::AuthorizationServerMetadata,
    ),
    spec(
        Method::GET,
        "/.well-known/openid-configuration",
        Discovery,
        "discovery.openid-configuration",
        Route::OpenIdConfiguration,
    ),
    spec(
        Method::GET,
        "/.well-known/jwks.json",
        Discovery,
        "discovery.jwks",
        Route::Jwks,
    ),
];

/// What the table says of a path and method.
#[derive(Debug)]
pub enum Lookup {
    Found(&'static RouteSpec),
    /// The path exists with other methods, listed for the `Allow` header.
    MethodNotAllowed(Vec<&'static Method>),
    NotFound,
}

/// The metadata routes that RFC 8414 §3.1 also serves with the issuer's
/// path inserted after the well-known segment: an issuer
/// `https://host/stage` publishes at `https://host/.well-known/…/stage` as
/// well as at the appended `https://host/stage/.well-known/…`.
const PATH_INSERTED: [Route; 2] = [
    Route::AuthorizationServerMetadata,
    Route::OpenIdConfiguration,
];

/// As [`lookup`], for an issuer whose URL has the path `issuer_path`
/// (empty, or `/` and segments): its path-inserted metadata is found too.
pub fn lookup_for_issuer(path: &str, method: &Method, issuer_path: &str) -> Lookup {
    let found = lookup(path, method);
    if !matches!(found, Lookup::NotFound) || issuer_path.len() < 2 {
        return found;
    }
    let Some(base) = path.strip_suffix(issuer_path) else {
        return found;
    };
    match lookup(base, method) {
        Lookup::Found(spec) if PATH_INSERTED.contains(&spec.route) => Lookup::Found(spec),
        Lookup::MethodNotAllowed(m)
            if ROUTES
                .iter()
                .any(|r| r.path == base && PATH_INSERTED.contains(&r.route)) =>
        {
            Lookup::MethodNotAllowed(m)
        }
        _ => found,
    }
}

/// The path of an issuer URL: `https://host/stage` → `/stage`; none → ``.
pub fn issuer_path(issuer_url: &str) -> &str {
    let after_scheme = issuer_url.split_once("://").map_or(issuer_url, |(_, r)| r);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

pub fn lookup(path: &str, method: &Method) -> Lookup {
    let mut allowed = Vec::new();
    for spec in ROUTES {
        if spec.path == path {
            if spec.method == *method {
                return Lookup::Found(spec);
            }
            allowed.push(&spec.method);
        }
    }
    if allowed.is_empty() {
        Lookup::NotFound
    } else {
        Lookup::MethodNotAllowed(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_matches_exact_paths_and_methods() {
        assert!(matches!(
            lookup("/api/v2/auth/token", &Method::POST),
            Lookup::Found(s) if s.route == Route::V2Login
        ));
        assert!(matches!(
            lookup("/api/v2/auth/token", &Method::GET),
            Lookup::MethodNotAllowed(m) if m == [&Method::POST]
        ));
        assert!(matches!(
            lookup("/api/v2/auth/token/", &Method::POST),
            Lookup::NotFound
        ));
        assert!(matches!(
            lookup("/API/v2/auth/token", &Method::POST),
            Lookup::NotFound
        ));
    }

    #[test]
    fn metadata_is_also_found_with_the_issuers_path_inserted() {
        assert_eq!(issuer_path("https://id.example.com/prod"), "/prod");
        assert_eq!(issuer_path("https://id.example.com/a/b"), "/a/b");
        assert_eq!(issuer_path("https://id.example.com"), "");
        assert_eq!(issuer_path("http://localhost:3000"), "");
        let found = |path, issuer| match lookup_for_issuer(path, &Method::GET, issuer) {
            Lookup::Found(s) => Some(s.route),
            _ => None,
        };
        assert_eq!(
            found("/.well-known/oauth-authorization-server/prod", "/prod"),
            Some(Route::AuthorizationServerMetadata)
        );
        assert_eq!(
            found("/.well-known/openid-configuration/a/b", "/a/b"),
            Some(Route::OpenIdConfiguration)
        );
        assert_eq!(
            found("/.well-known/oauth-authorization-server", "/prod"),
            Some(Route::AuthorizationServerMetadata)
        );
        // Only the issuer's own path, only the metadata, only whole.
        assert_eq!(
            found("/.well-known/oauth-authorization-server/dev", "/prod"),
            None
        );
        assert_eq!(found("/.well-known/jwks.json/prod", "/prod"), None);
        assert_eq!(found("/oauth2/token/prod", "/prod"), None);
        assert_eq!(
            found("/.well-known/oauth-authorization-server/prod", ""),
            None
        );
        assert_eq!(found("/.well-known/oauth-authorization-server/", "/"), None);
        assert!(matches!(
            lookup_for_issuer(
                "/.well-known/openid-configuration/prod",
                &Method::POST,
                "/prod"
            ),
            Lookup::MethodNotAllowed(_)
        ));
    }

    #[test]
    fn one_entry_per_path_and_method_and_one_name_per_route() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(a.path != b.path || a.method != b.method, "{}", a.path);
                assert_eq!(
                    a.name == b.name,
                    a.route == b.route,
                    "{} {}",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn every_ops_route_is_also_under_suite_api() {
        for r in ROUTES.iter().filter(|r| r.dialect == Ops) {
            let (twin, base) = match r.path.strip_prefix("/suite-api") {
                Some(bare) => (bare.to_string(), "bare"),
                None => (format!("/suite-api{}", r.path), "/suite-api"),
            };
            assert!(
                ROUTES
                    .iter()
                    .any(|t| t.path == twin && t.method == r.method && t.route == r.route),
                "{} has no {base} twin",
                r.path
            );
        }
    }
}
