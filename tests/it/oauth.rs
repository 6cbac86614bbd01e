//! The oauth dialect through the real handler against DynamoDB Local: every
//! grant, client authentication, scope, refresh binding, revocation,
//! introspection (logout seen at once, whatever the dialect) and userinfo.

use crate::common::*;
use serde_json::{json, Value};
use std::sync::Arc;
use time::Duration;
use token_issuer::core::record::client::{ClientId, GrantType};
use token_issuer::core::store::AdminStore as _;

const ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
const ALL: &[GrantType] = &GrantType::ALL;
const SCOPES: &str = "openid profile email api:read api:write";

struct OAuthEnv {
    env: TestEnv,
    /// A confidential client with every grant and [`SCOPES`].
    secret: String,
}

impl std::ops::Deref for OAuthEnv {
    type Target = TestEnv;
    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

async fn setup() -> OAuthEnv {
    let env = TestEnv::new().await;
    let secret = env.add_client("app", false, ALL, SCOPES).await.unwrap();
    OAuthEnv { env, secret }
}

impl OAuthEnv {
    async fn token(&self, pairs: &[(&str, &str)]) -> Reply {
        self.call(&oauth_event(
            "oauth-token-password",
            pairs,
            Some(("app", &self.secret)),
        ))
        .await
    }

    async fn password(&self, scope: Option<&str>) -> Reply {
        let mut pairs = vec![
            ("grant_type", "password"),
            ("username", "Admin"),
            ("password", PASSWORD),
        ];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        self.token(&pairs).await
    }

    async fn granted(&self, scope: Option<&str>) -> Value {
        let r = self.password(scope).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    async fn refresh(&self, token: &str) -> Reply {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .call(&oauth_event(
                "oauth-introspect",
                &[("token", token)],
                Some(("app", &self.secret)),
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.assert_no_store();
        r.json()
    }

    async fn active(&self, token: &str) -> bool {
        let body = self.introspect(token).await;
        match body["active"] {
            Value::Bool(b) => b,
            _ => panic!("{body}"),
        }
    }

    async fn revoke(&self, token: &str) -> Reply {
        self.call(&oauth_event(
            "oauth-revoke",
            &[("token", token)],
            Some(("app", &self.secret)),
        ))
        .await
    }
}

fn assert_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    r.assert_json();
    r.assert_no_store();
    let body = r.json();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "error_description"]);
}

fn jwt_part(token: &str, i: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(i).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn password_grant_gives_rfc_9068_tokens_and_an_id_token() {
    let env = setup().await;
    let r = env.password(None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.assert_json();
    r.assert_no_store();
    let body = r.json();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], SCOPES, "no scope asked: all allowed");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(at, 0)["typ"], "at+jwt");
    let claims = verify_access_token(&env, at, ISSUER).await;
    assert_eq!(claims["sub"], env.admin.id.to_string());
    assert_eq!(claims["client_id"], "app");
    assert_eq!(claims["scope"], SCOPES);
    assert_eq!(claims["username"], "admin");
    assert_eq!(claims["roles"], json!(["Administrator", "Auditor"]));
    assert_eq!(claims["aud"], "test-audience");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["jti"].is_string() && claims["sid"].is_string());

    let id = body["id_token"].as_str().unwrap();
    assert_eq!(jwt_part(id, 0)["typ"], "JWT");
    let id_claims = jwt_part(id, 1);
    assert_eq!(id_claims["aud"], "app");
    assert_eq!(id_claims["iss"], ISSUER);
    assert_eq!(id_claims["sub"], env.admin.id.to_string());
    assert_eq!(id_claims["preferred_username"], "admin");
    assert_eq!(id_claims["email"], "admin@admin");
    assert_eq!(id_claims["auth_time"], START.unix_timestamp());

    // A narrower scope without openid: no ID token.
    let body = env.granted(Some("api:read")).await;
    assert_eq!(body["scope"], "api:read");
    assert!(body.get("id_token").is_none());
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["scope"], "api:read");
}

#[tokio::test]
async fn client_secret_post_and_public_clients_authenticate_too() {
    let env = setup().await;
    // client_secret_post
    let ev = oauth_event(
        "oauth-token-no-client",
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", PASSWORD),
            ("client_id", "app"),
            ("client_secret", &env.secret),
        ],
        None,
    );
    let r = env.call(&ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A public client sends its id alone.
    assert!(env
        .add_client(
            "native",
            true,
            &[GrantType::Password, GrantType::RefreshToken],
            "openid"
        )
        .await
        .is_none());
    let pairs = [
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", PASSWORD),
        ("client_id", "native"),
    ];
    let r = env
        .call(&oauth_event("oauth-token-no-client", &pairs, None))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_string();
    let r = env
        .call(&oauth_event(
            "oauth-token-no-client",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "native"),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A public client cannot use client_credentials, even if allowed.
    let r = env
        .call(&oauth_event(
            "oauth-token-no-client",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "native"),
            ],
            None,
        ))
        .await;
    assert_error(&r, 400, "unauthorized_client");
}

#[tokio::test]
async fn bad_client_authentication_is_one_invalid_client() {
    let env = setup().await;
    env.add_client("native", true, ALL, "openid").await;
    let grant = [
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", PASSWORD),
    ];
    let with =
        |id: &str, secret: &str| oauth_event("oauth-token-password", &grant, Some((id, secret)));
    let unknown = env.call(&with("nobody", &env.secret)).await;
    let wrong = env.call(&with("app", "wrong secret")).await;
    // A secret for a public client is no authentication either.
    let surplus = env.call(&with("native", "anything")).await;
    let none = env
        .call(&oauth_event("oauth-token-password", &grant, None))
        .await;
    for r in [&unknown, &wrong, &surplus, &none] {
        assert_error(r, 401, "invalid_client");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"token-issuer\"")
        );
    }
    // Unknown client and wrong secret cannot be told apart.
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(unknown.body, surplus.body);

    // A confidential client without its secret.
    let no_secret = env
        .call(&oauth_event(
            "oauth-token-no-client",
            &[("grant_type", "client_credentials"), ("client_id", "app")],
            None,
        ))
        .await;
    assert_error(&no_secret, 401, "invalid_client");
    // A malformed Basic header.
    let ev = with_header(
        oauth_event("oauth-token-password", &grant, None),
        "authorization",
        "Basic !!!",
    );
    assert_error(&env.call(&ev).await, 401, "invalid_client");
    // Two methods at once.
    let mut both = grant.to_vec();
    both.push(("client_secret", &env.secret));
    let ev = oauth_event("oauth-token-password", &both, Some(("app", &env.secret)));
    assert_error(&env.call(&ev).await, 400, "invalid_request");
    // A disabled client.
    let app = ClientId::parse("app").unwrap();
    assert!(env.store.set_client_enabled(&app, false).await.unwrap());
    assert_error(&env.password(None).await, 401, "invalid_client");
    assert!(env.store.set_client_enabled(&app, true).await.unwrap());
    assert_eq!(env.password(None).await.status, 200);
}

#[tokio::test]
async fn a_client_gets_only_its_grants_and_scopes() {
    let env = setup().await;
    let cc_only = env
        .add_client(
            "service",
            false,
            &[GrantType::ClientCredentials],
            "api:read",
        )
        .await
        .unwrap();
    let ev = oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", PASSWORD),
        ],
        Some(("service", &cc_only)),
    );
    assert_error(&env.call(&ev).await, 400, "unauthorized_client");
    // Scope escalation.
    assert_error(
        &env.password(Some("api:read admin")).await,
        400,
        "invalid_scope",
    );
    assert_error(
        &env.password(Some("bad\\scope")).await,
        400,
        "invalid_scope",
    );
    // Nothing was counted or locked by those: the password was never checked.
    assert_eq!(env.password(Some("openid api:read")).await.status, 200);
}

#[tokio::test]
async fn malformed_token_requests_are_invalid_request() {
    let env = setup().await;
    let auth = Some(("app", env.secret.as_str()));
    let cases: Vec<(Value, &str)> = vec![
        (
            oauth_event("oauth-token-password", &[("username", "admin")], auth),
            "invalid_request",
        ),
        (
            oauth_event(
                "oauth-token-password",
                &[("grant_type", "password"), ("password", PASSWORD)],
                auth,
            ),
            "invalid_request",
        ),
        (
            oauth_event(
                "oauth-token-password",
                &[("grant_type", "password"), ("username", "admin")],
                auth,
            ),
            "invalid_request",
        ),
        (
            oauth_event(
                "oauth-token-password",
                &[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", &"p".repeat(1025)),
                ],
                auth,
            ),
            "invalid_request",
        ),
        (
            oauth_event(
                "oauth-token-password",
                &[("grant_type", "refresh_token")],
                auth,
            ),
            "invalid_request",
        ),
        (
            oauth_event("oauth-token-password", &[("grant_type", "implicit")], auth),
            "unsupported_grant_type",
        ),
        (
            oauth_event(
                "oauth-token-password",
                &[
                    ("grant_type", "password"),
                    ("grant_type", "client_credentials"),
                ],
                auth,
            ),
            "invalid_request",
        ),
        (
            with_header(
                oauth_event(
                    "oauth-token-password",
                    &[("grant_type", "client_credentials")],
                    auth,
                ),
                "content-type",
                "application/json",
            ),
            "invalid_request",
        ),
        (
            with_bytes(
                with_header(
                    event("oauth-token-password"),
                    "authorization",
                    &basic("app", &env.secret),
                ),
                b"grant_type=password&username=\xff&password=x",
            ),
            "invalid_request",
        ),
    ];
    for (ev, error) in cases {
        let r = env.call(&ev).await;
        assert_error(&r, 400, error);
    }
}

#[tokio::test]
async fn a_wrong_password_is_invalid_grant_and_locks_like_every_log_in() {
    let env = setup().await;
    let wrong = [
        ("grant_type", "password"),
        ("username", "ADMIN"),
        ("password", "wrong password"),
    ];
    let unknown = [
        ("grant_type", "password"),
        ("username", "nobody"),
        ("password", "wrong password"),
    ];
    let a = env.token(&wrong).await;
    let b = env.token(&unknown).await;
    assert_error(&a, 400, "invalid_grant");
    assert_eq!(a.body, b.body, "unknown user and wrong password look alike");
    for _ in 0..9 {
        assert_eq!(env.token(&wrong).await.status, 400);
    }
    let locked = env.password(None).await;
    assert_error(&locked, 400, "invalid_grant");
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The same lock holds at the vendor dialects: one user, one lockout.
    let v2 = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(v2.status, 429);
    env.clock.advance(Duration::seconds(61));
    assert_eq!(env.password(None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_wrong_passwords_get_no_more_checks_than_the_limit() {
    let env = Arc::new(setup().await);
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let env = env.clone();
            tokio::spawn(async move {
                env.token(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", "wrong password"),
                ])
                .await
            })
        })
        .collect();
    let (mut checked, mut locked) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 400, "{}", r.text());
        match r.header("retry-after") {
            Some(_) => locked += 1,
            None => checked += 1,
        }
    }
    assert!(checked <= 10, "{checked} password checks for a limit of 10");
    assert_eq!(checked + locked, 30);
}

#[tokio::test]
async fn refresh_rotates_detects_reuse_and_may_narrow_the_scope() {
    let env = setup().await;
    let first = env.granted(None).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    // Wider than granted at log in: refused, and the token is not consumed.
    env.add_client("other", false, ALL, "openid").await;
    let r = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", r1),
            ("scope", "api:read admin"),
        ])
        .await;
    assert_error(&r, 400, "invalid_scope");
    let r = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", r1),
            ("scope", "api:read"),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let second = r.json();
    assert_eq!(second["scope"], "api:read");
    assert!(second.get("id_token").is_none());
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    // The family keeps the scope of its log in.
    let third = env.refresh(r2).await;
    assert_eq!(third.status, 200);
    let third = third.json();
    assert_eq!(third["scope"], SCOPES);
    let id = jwt_part(third["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["auth_time"], START.unix_timestamp(), "the log in's time");
    let r3 = third["refresh_token"].as_str().unwrap();
    let at3 = third["access_token"].as_str().unwrap();
    assert!(env.active(at3).await);
    // Reuse of a consumed token revokes the family, newest token included.
    assert_error(&env.refresh(r1).await, 400, "invalid_grant");
    assert_error(&env.refresh(r3).await, 400, "invalid_grant");
    assert!(
        !env.active(at3).await,
        "reuse ends the family's access tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_refreshes_of_one_token_give_one_success() {
    let env = Arc::new(setup().await);
    let token = env.granted(None).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (env, token) = (env.clone(), token.clone());
            tokio::spawn(async move { env.refresh(&token).await })
        })
        .collect();
    let mut ok = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok.push(r.json()),
            400 => assert_eq!(r.json()["error"], "invalid_grant"),
            other => panic!("{other}: {}", r.text()),
        }
    }
    assert_eq!(ok.len(), 1, "strict rotation: one winner");
    // The losers were reuse: the winner's family is revoked too.
    let winner = ok[0]["refresh_token"].as_str().unwrap();
    assert_eq!(env.refresh(winner).await.status, 400);
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_own_client_and_dialect() {
    let env = setup().await;
    let other = env.add_client("other", false, ALL, SCOPES).await.unwrap();
    let mine = env.granted(None).await;
    let token = mine["refresh_token"].as_str().unwrap();
    let ev = oauth_event(
        "oauth-token-refresh",
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
        Some(("other", &other)),
    );
    assert_error(&env.call(&ev).await, 400, "invalid_grant");
    // Not consumed, not revoked: its own client still refreshes it.
    assert_eq!(env.refresh(token).await.status, 200);

    // A vendor dialect's refresh token is invalid_grant here, untouched.
    let v2 = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await;
    let v2_refresh = v2.json()["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(&env.refresh(&v2_refresh).await, 400, "invalid_grant");
    let ev = with_body(
        event("v2-refresh"),
        &json!({"refreshToken": v2_refresh}).to_string(),
    );
    assert_eq!(
        env.call(&ev).await.status,
        200,
        "still good at its own route"
    );

    // And an OAuth refresh token is refused at the vendor routes.
    let oauth_refresh = env.granted(None).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let ev = with_body(
        event("user-refresh"),
        &json!({"refreshToken": oauth_refresh}).to_string(),
    );
    assert_eq!(env.call(&ev).await.status, 401);
    assert_eq!(env.refresh(&oauth_refresh).await.status, 200);
    // Garbage.
    assert_error(&env.refresh("garbage").await, 400, "invalid_grant");
}

#[tokio::test]
async fn client_credentials_give_a_token_for_the_client_alone() {
    let env = setup().await;
    let r = env.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_none());
    assert_eq!(
        body["scope"], "profile email api:read api:write",
        "openid needs a user"
    );
    let at = body["access_token"].as_str().unwrap();
    let claims = verify_access_token(&env, at, ISSUER).await;
    assert_eq!(claims["sub"], "app");
    assert_eq!(claims["client_id"], "app");
    assert!(claims.get("sid").is_none() && claims.get("username").is_none());
    let r = env
        .token(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .await;
    assert_error(&r, 400, "invalid_scope");

    let seen = env.introspect(at).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], "app");
    assert_eq!(seen["client_id"], "app");
    // Revoked one by one; and a disabled client's tokens are inactive.
    let second = env
        .token(&[("grant_type", "client_credentials")])
        .await
        .json();
    let at2 = second["access_token"].as_str().unwrap().to_string();
    assert_eq!(env.revoke(at).await.status, 200);
    assert!(!env.active(at).await);
    assert!(env.active(&at2).await);
    let service = env
        .add_client(
            "service",
            false,
            &[GrantType::ClientCredentials],
            "api:read",
        )
        .await
        .unwrap();
    let ev = oauth_event(
        "oauth-token-client-credentials",
        &[("grant_type", "client_credentials")],
        Some(("service", &service)),
    );
    let svc_token = env.call(&ev).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(env.active(&svc_token).await);
    let id = ClientId::parse("service").unwrap();
    env.store.set_client_enabled(&id, false).await.unwrap();
    assert!(!env.active(&svc_token).await);
}

#[tokio::test]
async fn introspection_describes_active_tokens_and_nothing_else() {
    let env = setup().await;
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap();
    let seen = env.introspect(at).await;
    let mut keys: Vec<&str> = seen
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "active",
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "nbf",
            "scope",
            "sub",
            "token_type",
            "username"
        ]
    );
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], env.admin.id.to_string());
    assert_eq!(seen["username"], "admin");
    assert_eq!(seen["client_id"], "app");
    assert_eq!(seen["scope"], SCOPES);
    assert_eq!(seen["token_type"], "Bearer");
    assert_eq!(seen["iss"], ISSUER);
    assert_eq!(seen["aud"], "test-audience");
    // The live refresh token is active; a consumed one is not.
    let refresh = body["refresh_token"].as_str().unwrap();
    let seen = env.introspect(refresh).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["token_type"], "refresh_token");
    assert_eq!(seen["client_id"], "app");
    assert_eq!(seen["sub"], env.admin.id.to_string());
    assert_eq!(env.refresh(refresh).await.status, 200);
    assert_eq!(env.introspect(refresh).await, json!({"active": false}));
    // Garbage, a tampered token, an expired one.
    assert_eq!(env.introspect("garbage").await, json!({"active": false}));
    let mut tampered = at.to_string();
    tampered.pop();
    tampered.push(if at.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(env.introspect(&tampered).await, json!({"active": false}));
    env.clock.advance(Duration::seconds(3601));
    assert_eq!(env.introspect(at).await, json!({"active": false}));

    // Introspection needs a confidential client.
    env.add_client("native", true, ALL, "openid").await;
    let ev = oauth_event(
        "oauth-token-no-client",
        &[("token", at), ("client_id", "native")],
        None,
    );
    let mut ev = ev;
    ev["rawPath"] = json!("/oauth2/introspect");
    ev["requestContext"]["http"]["path"] = json!("/oauth2/introspect");
    assert_error(&env.call(&ev).await, 401, "invalid_client");
    let ev = oauth_event("oauth-introspect", &[("token", at)], Some(("app", "wrong")));
    assert_error(&env.call(&ev).await, 401, "invalid_client");
    let ev = oauth_event("oauth-introspect", &[], Some(("app", &env.secret)));
    assert_error(&env.call(&ev).await, 400, "invalid_request");
}

/// A token of any dialect stops being active at once when its family ends.
#[tokio::test]
async fn introspection_sees_every_revocation_of_every_dialect_at_once() {
    let env = setup().await;
    // v2 revoke.
    let v2 = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await
        .json();
    let (at, rt) = (
        v2["content"][0]["token"].as_str().unwrap().to_string(),
        v2["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let seen = env.introspect(&at).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["username"], "admin");
    assert!(
        seen.get("client_id").is_none(),
        "a vendor token has no client"
    );
    let ev = with_body(event("v2-revoke"), &json!({"refreshToken": rt}).to_string());
    assert_eq!(env.call(&ev).await.status, 200);
    assert!(!env.active(&at).await, "v2 revoke");

    // user logout.
    let user = env
        .call(&login(
            "user-authenticate",
            json!({"userName": "admin", "password": PASSWORD}),
        ))
        .await
        .json();
    let at = user["accessToken"].as_str().unwrap().to_string();
    assert!(env.active(&at).await);
    let ev = with_body(
        event("user-logout"),
        &json!({"refreshToken": user["refreshToken"]}).to_string(),
    );
    assert_eq!(env.call(&ev).await.status, 200);
    assert!(!env.active(&at).await, "user logout");

    // OAuth revoke of the refresh token, and of the access token.
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(
        env.revoke(body["refresh_token"].as_str().unwrap())
            .await
            .status,
        200
    );
    assert!(!env.active(at).await, "oauth revoke of the refresh token");
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap();
    let r = env.revoke(at).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(!env.active(at).await, "oauth revoke of the access token");
    assert_eq!(
        env.refresh(body["refresh_token"].as_str().unwrap())
            .await
            .status,
        400,
        "the family is gone"
    );

    // User disabled, then enabled: the old tokens stay dead.
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap();
    env.set_admin_enabled(false).await;
    assert!(!env.active(at).await, "user disabled");
    env.set_admin_enabled(true).await;
    assert!(!env.active(at).await, "enabling revives nothing");

    // Password changed (through the ops dialect's own route).
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap();
    let ops = env
        .call(&login(
            "ops-acquire",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await
        .json();
    let ev = with_header(
        with_body(
            event("ops-passwordchange"),
            &json!({"currentPassword": PASSWORD, "newPassword": "a fresh and long pass phrase 2037"})
                .to_string(),
        ),
        "authorization",
        &format!("OpsToken {}", ops["token"].as_str().unwrap()),
    );
    assert_eq!(env.call(&ev).await.status, 204);
    assert!(!env.active(at).await, "password changed");
}

#[tokio::test]
async fn revocation_is_idempotent_and_never_touches_another_clients_tokens() {
    let env = setup().await;
    let other = env.add_client("other", false, ALL, SCOPES).await.unwrap();
    let body = env.granted(None).await;
    let (at, rt) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    for token in [at, rt] {
        let ev = oauth_event("oauth-revoke", &[("token", token)], Some(("other", &other)));
        let r = env.call(&ev).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.assert_no_store();
    }
    assert!(env.active(at).await, "another client cannot revoke it");
    for token in ["garbage", &"A".repeat(64), at, at] {
        assert_eq!(env.revoke(token).await.status, 200);
    }
    assert!(!env.active(at).await);
    let ev = oauth_event("oauth-revoke", &[("token", at)], Some(("app", "wrong")));
    assert_error(&env.call(&ev).await, 401, "invalid_client");
    let ev = oauth_event(
        "oauth-revoke",
        &[("token_type_hint", "access_token")],
        Some(("app", &env.secret)),
    );
    assert_error(&env.call(&ev).await, 400, "invalid_request");
}

#[tokio::test]
async fn userinfo_answers_for_an_active_openid_token_only() {
    let env = setup().await;
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap().to_string();
    let get = |token: &str| {
        with_header(
            event("oauth-userinfo"),
            "authorization",
            &format!("Bearer {token}"),
        )
    };
    let r = env.call(&get(&at)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.assert_no_store();
    assert_eq!(
        r.json(),
        json!({"sub": env.admin.id.to_string(), "preferred_username": "admin", "name": "Admin", "email": "admin@admin"})
    );
    // The scope decides the claims (OpenID Connect Core §5.4): `openid`
    // alone releases the subject, `profile` the names, `email` the address.
    for (scope, expected) in [
        ("openid", json!({"sub": env.admin.id.to_string()})),
        (
            "openid profile",
            json!({"sub": env.admin.id.to_string(), "preferred_username": "admin", "name": "Admin"}),
        ),
        (
            "openid email",
            json!({"sub": env.admin.id.to_string(), "email": "admin@admin"}),
        ),
    ] {
        let body = env.granted(Some(scope)).await;
        let r = env.call(&get(body["access_token"].as_str().unwrap())).await;
        assert_eq!(r.json(), expected, "{scope}");
        let id = jwt_claims(body["id_token"].as_str().unwrap());
        for claim in ["preferred_username", "name", "email"] {
            assert_eq!(id.get(claim), expected.get(claim), "{scope}: {claim}");
        }
    }
    // POST with the token in the form body (RFC 6750 §2.2).
    let mut ev = oauth_event("oauth-token-no-client", &[("access_token", &at)], None);
    ev["rawPath"] = json!("/oauth2/userinfo");
    ev["requestContext"]["http"]["path"] = json!("/oauth2/userinfo");
    assert_eq!(env.call(&ev).await.status, 200);

    // No token: a challenge without an error code.
    let r = env
        .call(&without_header(event("oauth-userinfo"), "authorization"))
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"token-issuer\"")
    );
    assert!(r.body.is_empty(), "no error information: {}", r.text());
    assert_eq!(r.header("content-type"), None);
    r.assert_no_store();
    // Without openid, or a vendor token: insufficient scope.
    let narrow = env.granted(Some("api:read")).await;
    let r = env
        .call(&get(narrow["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    let v2 = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await
        .json();
    let r = env
        .call(&get(v2["content"][0]["token"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 403);
    // Revoked: invalid_token.
    env.revoke(&at).await;
    let r = env.call(&get(&at)).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"token-issuer\", error=\"invalid_token\"")
    );
    assert_eq!(r.json()["error"], "invalid_token");
    assert_eq!(env.call(&get("garbage")).await.status, 401);
}

#[tokio::test]
async fn metadata_lists_the_endpoints_and_capabilities() {
    let env = setup().await;
    for (name, openid) in [
        ("oauth-authorization-server", false),
        ("openid-configuration", true),
    ] {
        let r = env.call(&event(name)).await;
        assert_eq!(r.status, 200);
        let doc = r.json();
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(doc["token_endpoint"], format!("{ISSUER}/oauth2/token"));
        assert_eq!(
            doc["device_authorization_endpoint"],
            format!("{ISSUER}/oauth2/device_authorization")
        );
        assert_eq!(
            doc["revocation_endpoint"],
            format!("{ISSUER}/oauth2/revoke")
        );
        assert_eq!(
            doc["introspection_endpoint"],
            format!("{ISSUER}/oauth2/introspect")
        );
        assert_eq!(doc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "password",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        for key in [
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
        ] {
            assert_eq!(
                doc[key],
                json!(["client_secret_basic", "client_secret_post", "none"]),
                "{key}"
            );
        }
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        assert!(doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid")));
        assert_eq!(
            doc.get("userinfo_endpoint").is_some(),
            openid,
            "{name}: {doc}"
        );
        // Every endpoint named is one the function serves.
        for key in [
            "token_endpoint",
            "revocation_endpoint",
            "introspection_endpoint",
            "userinfo_endpoint",
        ] {
            if let Some(url) = doc[key].as_str() {
                let path = url.strip_prefix(ISSUER).unwrap();
                assert!(
                    token_issuer::http::routes::ROUTES
                        .iter()
                        .any(|r| r.path == path),
                    "{path}"
                );
            }
        }
    }
}

/// Signs `token`'s claims, changed by `change`, under JWS type `typ` with the
/// issuer's own key: what a token these keys signed for another purpose
/// looks like.
fn resign(env: &TestEnv, token: &str, typ: &str, change: impl FnOnce(&mut Value)) -> String {
    let pem = env.key_pem.as_deref().expect("a test-made key");
    let kid = token_issuer::keys::KeySet::from_pem(pem.as_bytes())
        .unwrap()
        .kid()
        .to_string();
    let mut claims = jwt_claims(token);
    change(&mut claims);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid);
    header.typ = Some(typ.into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Only an access token is one: verification checks the JWS type and the
/// audience explicitly, so a JWT these keys signed as something else (an ID
/// token, a vendor token made out to a client, an OAuth token under another
/// type or for another audience) is active nowhere, whatever claims it has.
#[tokio::test]
async fn only_access_tokens_by_type_and_audience_are_active() {
    let env = setup().await;
    let body = env.granted(None).await;
    let at = body["access_token"].as_str().unwrap().to_string();
    let id_token = body["id_token"].as_str().unwrap().to_string();
    let v2 = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await
        .json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let a = env.authorizer(|c| {
        c.accepted_audiences = vec!["test-audience".into(), "app".into(), "another-api".into()]
    });
    let allowed = |t: String| {
        let a = &a;
        async move {
            matches!(
                a.decide(Some(&format!("Bearer {t}"))).await,
                token_issuer::authorizer::Decision::Allow(_)
            )
        }
    };
    let userinfo = |t: &str| {
        with_header(
            event("oauth-userinfo"),
            "authorization",
            &format!("Bearer {t}"),
        )
    };
    // Re-signed as they are, both kinds stay active: the checks below are
    // about type and audience alone.
    for t in [
        resign(&env, &at, "at+jwt", |_| {}),
        resign(&env, &v2, "JWT", |_| {}),
    ] {
        assert!(env.active(&t).await);
        assert!(allowed(t.clone()).await);
    }
    assert_eq!(
        env.call(&userinfo(&resign(&env, &at, "at+jwt", |_| {})))
            .await
            .status,
        200
    );
    let not_access_tokens = [
        ("an ID token", id_token),
        (
            "a vendor token made out to a client, as an ID token is",
            resign(&env, &v2, "JWT", |c| c["aud"] = json!("app")),
        ),
        ("an OAuth token typed JWT", resign(&env, &at, "JWT", |_| {})),
        (
            "an OAuth token for another audience",
            resign(&env, &at, "at+jwt", |c| c["aud"] = json!("another-api")),
        ),
        (
            "a vendor token typed at+jwt",
            resign(&env, &v2, "at+jwt", |_| {}),
        ),
        ("another type", resign(&env, &at, "dpop+jwt", |_| {})),
    ];
    for (what, token) in not_access_tokens {
        assert!(!env.active(&token).await, "introspection: {what}");
        assert!(!allowed(token.clone()).await, "authorizer: {what}");
        let r = env.call(&userinfo(&token)).await;
        assert_eq!(r.status, 401, "userinfo: {what}");
        assert_eq!(r.json()["error"], "invalid_token", "userinfo: {what}");
    }
}

/// A client learns only of the tokens it was issued and of access tokens for
/// the audience it serves (README: introspection): one client cannot test
/// another's tokens.
#[tokio::test]
async fn a_client_introspects_only_its_own_tokens_and_its_audiences() {
    let env = setup().await;
    let mine = env.granted(None).await;
    let (my_at, my_rt) = (
        mine["access_token"].as_str().unwrap().to_string(),
        mine["refresh_token"].as_str().unwrap().to_string(),
    );
    // A client of another API, and a peer of the same API as `app`.
    let other_secret = token_issuer::core::record::client::ClientSecret::generate().unwrap();
    env.store
        .create_client(&token_issuer::core::record::client::Client {
            id: ClientId::parse("other-api").unwrap(),
            secret_hash: Some(other_secret.hash()),
            grant_types: ALL.to_vec(),
            scopes: token_issuer::core::record::client::Scopes::parse("api:read").unwrap(),
            audience: Some("another-api".into()),
            redirect_uris: Vec::new(),
            name: None,
            enabled: true,
            created_at: START,
            logout: Default::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        })
        .await
        .unwrap();
    let peer_secret = env.add_client("peer", false, ALL, SCOPES).await.unwrap();
    let seen = |client: &'static str, secret: String, token: String| {
        let env = &env;
        async move {
            let r = env
                .call(&oauth_event(
                    "oauth-introspect",
                    &[("token", &token)],
                    Some((client, &secret)),
                ))
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["active"] == json!(true)
        }
    };
    let theirs = env
        .call(&oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            Some(("other-api", other_secret.expose())),
        ))
        .await
        .json();
    let (their_at, their_rt) = (
        theirs["access_token"].as_str().unwrap().to_string(),
        theirs["refresh_token"].as_str().unwrap().to_string(),
    );
    let v2 = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await
        .json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let other = || other_secret.expose().to_string();
    // Its own tokens: yes.
    assert!(seen("other-api", other(), their_at.clone()).await);
    assert!(seen("other-api", other(), their_rt.clone()).await);
    // Another API's access token, another client's refresh token, a vendor
    // token (for the issuer's audience): no.
    assert!(!seen("other-api", other(), my_at.clone()).await);
    assert!(!seen("other-api", other(), my_rt.clone()).await);
    assert!(!seen("other-api", other(), v2.clone()).await);
    assert!(!seen("app", env.secret.clone(), their_at.clone()).await);
    assert!(!seen("app", env.secret.clone(), their_rt.clone()).await);
    // A peer serving the same audience sees its access tokens, not its
    // refresh tokens; vendor tokens are for that audience too.
    assert!(seen("peer", peer_secret.clone(), my_at.clone()).await);
    assert!(!seen("peer", peer_secret.clone(), my_rt.clone()).await);
    assert!(seen("peer", peer_secret.clone(), v2.clone()).await);
}
