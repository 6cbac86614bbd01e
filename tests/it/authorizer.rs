//! The authorizer through its real handler against DynamoDB Local: every
//! event in `events/authorizer/`, and for each dialect a token that is
//! authorized and then refused once its logout, revoke, release, reuse
//! detection, user disable or password change happened.

use crate::common::*;
use serde_json::{json, Value};
use time::Duration;
use token_issuer::authorizer::{Authorizer, Decision};
use token_issuer::core::record::client::{Client, ClientId, GrantType, Scopes};
use token_issuer::core::store::AdminStore as _;
use token_issuer::keys::Keys;
use token_issuer::store::DynamoStore;

fn authorizer_event(name: &str, token: Option<&str>) -> Value {
    let path = format!(
        "{}/events/authorizer/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if let Some(token) = token {
        match text.find("REPLACE_WITH_") {
            Some(start) => {
                let end = start
                    + text[start..]
                        .find('"')
                        .expect("the placeholder ends the string");
                let placeholder = text[start..end].to_string();
                text = text.replace(&placeholder, token);
            }
            // No placeholder (the tampered event): the token after the scheme.
            None => {
                let mut ev: Value = serde_json::from_str(&text).unwrap();
                let header = ev["headers"]["authorization"].as_str().unwrap().to_string();
                let scheme = header.split(' ').next().unwrap().to_string();
                ev["headers"]["authorization"] = json!(format!("{scheme} {token}"));
                return ev;
            }
        }
    }
    serde_json::from_str(&text).unwrap()
}

async fn decide(a: &Authorizer<DynamoStore, Keys>, ev: Value) -> Value {
    let answer = a.handle(ev).await;
    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["context", "isAuthorized"], "{answer}");
    answer
}

async fn allowed(a: &Authorizer<DynamoStore, Keys>, name: &str, token: &str) -> bool {
    let answer = decide(a, authorizer_event(name, Some(token))).await;
    answer["isAuthorized"].as_bool().unwrap()
}

/// Why the authorizer refuses `token` sent as in event `name`; `None` where
/// it allows it.
async fn refusal(
    a: &Authorizer<DynamoStore, Keys>,
    name: &str,
    token: &str,
) -> Option<&'static str> {
    let ev = authorizer_event(name, Some(token));
    let header = ev["headers"]["authorization"].as_str().map(str::to_string);
    match a.decide(header.as_deref()).await {
        Decision::Allow(_) => None,
        Decision::Deny(reason) => Some(reason),
    }
}

async fn v2_login(env: &TestEnv) -> (String, String) {
    let r = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await;
    let c = r.assert_v2_grant(&env.admin);
    (
        c["token"].as_str().unwrap().into(),
        c["refreshToken"].as_str().unwrap().into(),
    )
}

async fn user_login(env: &TestEnv) -> (String, String) {
    let r = env
        .call(&login(
            "user-authenticate",
            json!({"userName": "admin", "password": PASSWORD}),
        ))
        .await;
    let b = r.assert_user_grant();
    (
        b["accessToken"].as_str().unwrap().into(),
        b["refreshToken"].as_str().unwrap().into(),
    )
}

async fn ops_login(env: &TestEnv) -> String {
    let r = env
        .call(&login(
            "ops-acquire",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().into()
}

async fn oauth_login(env: &TestEnv, client: &str, secret: &str) -> Value {
    let r = env
        .call(&oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            Some((client, secret)),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn every_authorizer_event_answers_as_its_name_says() {
    let env = TestEnv::new().await;
    let a = env.authorizer(|_| {});
    let secret = env
        .add_client("app", false, &GrantType::ALL, "openid api:read")
        .await
        .unwrap();

    // Valid: allowed, with the context downstream routes read.
    let (at, _) = user_login(&env).await;
    let answer = decide(&a, authorizer_event("bearer-valid", Some(&at))).await;
    assert_eq!(answer["isAuthorized"], true);
    assert_eq!(
        answer["context"],
        json!({"sub": env.admin.id.to_string(), "username": "admin",
               "roles": "Administrator,Auditor", "dialect": "user"})
    );
    // An OAuth token carries its client and scope too.
    let oauth = oauth_login(&env, "app", &secret).await;
    let answer = decide(
        &a,
        authorizer_event("bearer-valid", oauth["access_token"].as_str()),
    )
    .await;
    assert_eq!(answer["isAuthorized"], true);
    assert_eq!(answer["context"]["dialect"], "oauth");
    assert_eq!(answer["context"]["client_id"], "app");
    assert_eq!(answer["context"]["scope"], "openid api:read");

    // As committed, every event is refused (placeholders are no tokens).
    let mut names: Vec<String> =
        std::fs::read_dir(format!("{}/events/authorizer", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .into_string()
                    .ok()?
                    .strip_suffix(".json")
                    .map(str::to_string)
            })
            .collect();
    names.sort();
    assert_eq!(names.len(), 9);
    for name in &names {
        let answer = decide(&a, authorizer_event(name, None)).await;
        assert_eq!(answer["isAuthorized"], false, "{name}");
        assert_eq!(answer["context"], json!({}), "{name}");
    }

    // Tampered: a real token with its payload changed.
    let (v2_at, v2_rt) = v2_login(&env).await;
    let parts: Vec<&str> = v2_at.split('.').collect();
    let forged = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["roles"] = json!(["Administrator", "Root"]);
        let payload = b64.encode(serde_json::to_vec(&claims).unwrap());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    assert!(allowed(&a, "bearer-valid", &v2_at).await);
    assert!(!allowed(&a, "bearer-tampered", &forged).await);
    assert_eq!(
        refusal(&a, "bearer-tampered", &forged).await,
        Some("invalid_token")
    );

    // Wrong audience: a client whose tokens are for another API.
    let mut other = Client {
        id: ClientId::parse("other-api-client").unwrap(),
        secret_hash: None,
        grant_types: vec![GrantType::Password],
        scopes: Scopes::parse("api:read").unwrap(),
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
    };
    let other_secret = token_issuer::core::record::client::ClientSecret::generate().unwrap();
    other.secret_hash = Some(other_secret.hash());
    env.store.create_client(&other).await.unwrap();
    let foreign = oauth_login(&env, "other-api-client", other_secret.expose()).await;
    let foreign = foreign["access_token"].as_str().unwrap();
    assert!(!allowed(&a, "bearer-wrong-audience", foreign).await);
    assert_eq!(
        refusal(&a, "bearer-wrong-audience", foreign).await,
        Some("wrong_audience")
    );
    // ... accepted where that audience is.
    let b = env.authorizer(|c| c.accepted_audiences = vec!["another-api".into()]);
    assert!(allowed(&b, "bearer-valid", foreign).await);

    // Revoked family.
    let ev = with_body(
        event("v2-revoke"),
        &json!({"refreshToken": v2_rt}).to_string(),
    );
    assert_eq!(env.call(&ev).await.status, 200);
    assert!(!allowed(&a, "bearer-revoked-family", &v2_at).await);
    assert_eq!(
        refusal(&a, "bearer-revoked-family", &v2_at).await,
        Some("revoked")
    );

    // Ops: live (and slid), then released.
    let ops = ops_login(&env).await;
    assert!(allowed(&a, "ops-live", &ops).await);
    let answer = decide(&a, authorizer_event("ops-live", Some(&ops))).await;
    assert_eq!(answer["context"]["dialect"], "ops");
    assert_eq!(answer["context"]["username"], "admin");
    // Each authorization slides the session, as currentuser does.
    for _ in 0..3 {
        env.clock.advance(Duration::hours(5));
        assert!(allowed(&a, "ops-live", &ops).await, "slid to now + 6 h");
    }
    let ev = with_header(
        event("ops-release"),
        "authorization",
        &format!("OpsToken {ops}"),
    );
    assert_eq!(env.call(&ev).await.status, 200);
    assert!(!allowed(&a, "ops-released", &ops).await);
    assert_eq!(
        refusal(&a, "ops-released", &ops).await,
        Some("invalid_session")
    );

    // Expired.
    let (at, _) = user_login(&env).await;
    assert!(allowed(&a, "bearer-valid", &at).await);
    env.clock.advance(Duration::seconds(3601));
    assert!(!allowed(&a, "bearer-expired", &at).await);
    assert_eq!(
        refusal(&a, "bearer-expired", &at).await,
        Some("invalid_token")
    );

    // Disabled user.
    let (at, _) = user_login(&env).await;
    assert!(allowed(&a, "bearer-valid", &at).await);
    env.set_admin_enabled(false).await;
    assert!(!allowed(&a, "bearer-disabled-user", &at).await);
    assert_eq!(
        refusal(&a, "bearer-disabled-user", &at).await,
        Some("revoked")
    );
}

/// For each dialect: authorized, then refused after the event that ends it.
#[tokio::test]
async fn logout_ends_access_downstream_in_every_dialect() {
    let env = TestEnv::new().await;
    let a = env.authorizer(|_| {});
    let secret = env
        .add_client("app", false, &GrantType::ALL, "openid")
        .await
        .unwrap();

    // v2: revoke.
    let (at, rt) = v2_login(&env).await;
    assert!(allowed(&a, "bearer-valid", &at).await);
    let ev = with_body(event("v2-revoke"), &json!({"refreshToken": rt}).to_string());
    env.call(&ev).await;
    assert!(!allowed(&a, "bearer-valid", &at).await, "v2 revoke");

    // v2: reuse detection.
    let (at, rt) = v2_login(&env).await;
    let refresh = |rt: &str| {
        with_body(
            event("v2-refresh"),
            &json!({"refreshToken": rt}).to_string(),
        )
    };
    assert_eq!(env.call(&refresh(&rt)).await.status, 200);
    assert!(allowed(&a, "bearer-valid", &at).await);
    assert_eq!(env.call(&refresh(&rt)).await.status, 401, "reuse");
    assert!(
        !allowed(&a, "bearer-valid", &at).await,
        "v2 reuse detection"
    );

    // user: logout.
    let (at, rt) = user_login(&env).await;
    assert!(allowed(&a, "bearer-valid", &at).await);
    let ev = with_body(
        event("user-logout"),
        &json!({"refreshToken": rt}).to_string(),
    );
    env.call(&ev).await;
    assert!(!allowed(&a, "bearer-valid", &at).await, "user logout");

    // oauth: revoke, and reuse.
    let body = oauth_login(&env, "app", &secret).await;
    let at = body["access_token"].as_str().unwrap();
    assert!(allowed(&a, "bearer-valid", at).await);
    let ev = oauth_event(
        "oauth-revoke",
        &[("token", body["refresh_token"].as_str().unwrap())],
        Some(("app", &secret)),
    );
    assert_eq!(env.call(&ev).await.status, 200);
    assert!(!allowed(&a, "bearer-valid", at).await, "oauth revoke");
    let body = oauth_login(&env, "app", &secret).await;
    let at = body["access_token"].as_str().unwrap();
    let rt = body["refresh_token"].as_str().unwrap();
    let ev = |rt: &str| {
        oauth_event(
            "oauth-token-refresh",
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            Some(("app", &secret)),
        )
    };
    assert_eq!(env.call(&ev(rt)).await.status, 200);
    assert_eq!(env.call(&ev(rt)).await.status, 400);
    assert!(
        !allowed(&a, "bearer-valid", at).await,
        "oauth reuse detection"
    );

    // oauth client credentials: a token of no family, revoked by itself.
    let ev = oauth_event(
        "oauth-token-client-credentials",
        &[("grant_type", "client_credentials")],
        Some(("app", &secret)),
    );
    let r = env.call(&ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let at = r.json()["access_token"].as_str().unwrap().to_string();
    let answer = decide(&a, authorizer_event("bearer-valid", Some(&at))).await;
    assert_eq!(answer["isAuthorized"], true, "{answer}");
    assert_eq!(answer["context"]["client_id"], "app");
    let ev = oauth_event("oauth-revoke", &[("token", &at)], Some(("app", &secret)));
    assert_eq!(env.call(&ev).await.status, 200);
    assert!(
        !allowed(&a, "bearer-valid", &at).await,
        "client credentials revoke"
    );

    // ops: release is covered by the events test; password change here ends
    // every other session and every family, of every dialect.
    let (v2_at, _) = v2_login(&env).await;
    let (user_at, _) = user_login(&env).await;
    let other_session = ops_login(&env).await;
    let changer = ops_login(&env).await;
    for (name, token) in [
        ("bearer-valid", v2_at.as_str()),
        ("bearer-valid", user_at.as_str()),
        ("ops-live", other_session.as_str()),
        ("ops-live", changer.as_str()),
    ] {
        assert!(allowed(&a, name, token).await);
    }
    let ev = with_header(
        with_body(
            event("ops-passwordchange"),
            &json!({"currentPassword": PASSWORD, "newPassword": "a fresh and long pass phrase 2037"})
                .to_string(),
        ),
        "authorization",
        &format!("OpsToken {changer}"),
    );
    assert_eq!(env.call(&ev).await.status, 204);
    assert!(
        !allowed(&a, "bearer-valid", &v2_at).await,
        "password change (v2)"
    );
    assert!(
        !allowed(&a, "bearer-valid", &user_at).await,
        "password change (user)"
    );
    assert!(
        !allowed(&a, "ops-live", &other_session).await,
        "password change (ops)"
    );
    assert!(
        allowed(&a, "ops-live", &changer).await,
        "the changing session stays"
    );

    // Disable: the last way to end everything.
    env.set_admin_enabled(false).await;
    assert!(
        !allowed(&a, "ops-live", &changer).await,
        "user disabled (ops)"
    );
}

#[tokio::test]
async fn revocation_takes_effect_within_the_cache_bound() {
    let env = TestEnv::new().await;
    let a = env.authorizer(|c| c.revocation_cache = std::time::Duration::from_secs(2));
    let (at, rt) = user_login(&env).await;
    assert!(allowed(&a, "bearer-valid", &at).await);
    let ev = with_body(
        event("user-logout"),
        &json!({"refreshToken": rt}).to_string(),
    );
    env.call(&ev).await;
    // Remembered as live for at most the bound...
    assert!(allowed(&a, "bearer-valid", &at).await, "within the bound");
    env.clock.advance(Duration::seconds(2));
    // ... and refused from then on.
    assert!(!allowed(&a, "bearer-valid", &at).await, "past the bound");
    // Without a cache, at once.
    let b = env.authorizer(|c| c.revocation_cache = std::time::Duration::ZERO);
    let (at, rt) = user_login(&env).await;
    assert!(allowed(&b, "bearer-valid", &at).await);
    let ev = with_body(
        event("user-logout"),
        &json!({"refreshToken": rt}).to_string(),
    );
    env.call(&ev).await;
    assert!(!allowed(&b, "bearer-valid", &at).await);
}

#[tokio::test]
async fn faults_and_garbage_are_denials_never_errors() {
    let env = TestEnv::new().await;
    let a = env.authorizer(|_| {});
    for garbage in [
        json!(42),
        json!({}),
        json!({"version": "2.0", "headers": 7}),
        Value::Null,
    ] {
        let answer = a.handle(garbage).await;
        assert_eq!(answer, json!({"isAuthorized": false, "context": {}}));
    }
    for (header, reason) in [
        ("", "no_token"),
        ("Bearer", "malformed_header"),
        ("Bearer ", "malformed_header"),
        ("Basic YTpi", "unsupported_scheme"),
        ("OpsToken short", "invalid_session"),
        ("Bearer a.b.c", "invalid_token"),
    ] {
        let mut ev = authorizer_event("bearer-valid", None);
        ev["headers"]["authorization"] = json!(header);
        assert_eq!(decide(&a, ev).await["isAuthorized"], false, "{header:?}");
        let header = (!header.is_empty()).then_some(header);
        assert_eq!(a.decide(header).await, Decision::Deny(reason), "{header:?}");
    }
    // Storage gone: a valid token is refused, and the handler still answers.
    let (at, _) = user_login(&env).await;
    assert!(allowed(&a, "bearer-valid", &at).await);
    let ops = ops_login(&env).await;
    env.store
        .client()
        .delete_table()
        .table_name(&env.config.store.tokens_table)
        .send()
        .await
        .unwrap();
    assert!(!allowed(&a, "bearer-valid", &at).await);
    assert!(!allowed(&a, "ops-live", &ops).await);
    assert_eq!(
        refusal(&a, "bearer-valid", &at).await,
        Some("storage_fault")
    );
    assert_eq!(refusal(&a, "ops-live", &ops).await, Some("storage_fault"));
    // As the example route, a fault is 503 without a challenge: the token
    // is not the problem, so the client must not throw it away.
    let mut ev = example_event("whoami");
    ev["headers"]["authorization"] = json!(format!("Bearer {at}"));
    let answer = a.handle(ev).await;
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert!(answer["headers"].get("www-authenticate").is_none());
}

#[test]
fn the_authorizer_will_not_start_without_an_issuer_url() {
    let mut config = test_config();
    config.issuer = None;
    let keys = token_issuer::keys::KeySet::ephemeral().unwrap();
    let store = token_issuer::compose::store(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        ),
        &config.store,
    );
    let clock = std::sync::Arc::new(token_issuer::core::clock::ManualClock::new(START));
    let err = token_issuer::compose::authorizer(&config, store, keys, clock)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("ISSUER is not set"), "{err}");
}

fn example_event(name: &str) -> Value {
    let path = format!(
        "{}/events/example-route/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The template's example protected route, served by the authorizer as the
/// routes' integration (RFC 9728): the decision's context for a good token;
/// otherwise `401` with the challenge that points at the metadata, which
/// it serves too.
#[tokio::test]
async fn the_example_route_challenges_with_its_resource_metadata() {
    let env = TestEnv::new().await;
    let a = env.authorizer(|_| {});
    let metadata_url =
        "https://xyz789.execute-api.us-east-1.amazonaws.com/.well-known/oauth-protected-resource/whoami";
    let answer = a.handle(example_event("whoami-metadata")).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert!(answer["headers"]["cache-control"]
        .as_str()
        .unwrap()
        .starts_with("public"));
    let doc: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        doc["resource"],
        "https://xyz789.execute-api.us-east-1.amazonaws.com/whoami"
    );
    assert_eq!(
        doc["authorization_servers"],
        json!([format!("https://{API_DOMAIN}")])
    );
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));

    // No token: the challenge alone (RFC 6750 §3: no error code).
    let mut ev = example_event("whoami");
    ev["headers"]
        .as_object_mut()
        .unwrap()
        .remove("authorization");
    let answer = a.handle(ev).await;
    assert_eq!(answer["statusCode"], 401, "{answer}");
    assert_eq!(
        answer["headers"]["www-authenticate"],
        format!("Bearer resource_metadata=\"{metadata_url}\"")
    );
    // As committed (a placeholder, no token): invalid_token too.
    let answer = a.handle(example_event("whoami")).await;
    assert_eq!(answer["statusCode"], 401, "{answer}");
    assert_eq!(
        answer["headers"]["www-authenticate"],
        format!("Bearer resource_metadata=\"{metadata_url}\", error=\"invalid_token\"")
    );
    // A live token: the decision's context.
    let (at, _) = user_login(&env).await;
    let mut ev = example_event("whoami");
    ev["headers"]["authorization"] = json!(format!("Bearer {at}"));
    let answer = a.handle(ev.clone()).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["headers"]["cache-control"], "no-store");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["authorizer"]["sub"], env.admin.id.to_string());
    assert_eq!(body["authorizer"]["dialect"], "user");
    // Another path of the integration is not the resource.
    ev["rawPath"] = json!("/whoami/other");
    assert_eq!(a.handle(ev).await["statusCode"], 404);
    // An authorizer request is still answered as one.
    let answer = decide(&a, authorizer_event("bearer-valid", Some(&at))).await;
    assert_eq!(answer["isAuthorized"], true);
}

/// DPoP at the authorizer (RFC 9449 §7): a bound token is allowed with a
/// proof for the request API Gateway describes (`https://<domain><rawPath>`,
/// its method, `ath` of the token), used once, made with the token's key;
/// refused as a bearer token; and the example route answers those refusals
/// with a DPoP challenge.
#[tokio::test]
async fn a_dpop_bound_token_needs_its_proof_for_the_request() {
    use crate::dpop::{with_proof, Key, TOKEN_URL};
    use token_issuer::core::clock::Clock as _;
    let env = TestEnv::new().await;
    let a = env.authorizer(|_| {});
    let secret = env
        .add_client("app", false, &GrantType::ALL, "openid api:read")
        .await
        .unwrap();
    let now = env.clock.now();
    let key = Key::new();
    let grant = with_proof(
        oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            Some(("app", &secret)),
        ),
        &key.proof("POST", TOKEN_URL, now),
    );
    let r = env.call(&grant).await;
    assert_eq!(r.json()["token_type"], "DPoP", "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    let url = "https://xyz789.execute-api.us-east-1.amazonaws.com/whoami";
    let request = |proof: Option<&str>, scheme: &str| {
        let mut ev = authorizer_event("bearer-valid", Some(&token));
        ev["headers"]["authorization"] = json!(format!("{scheme} {token}"));
        match proof {
            Some(p) => with_header(ev, "dpop", p),
            None => ev,
        }
    };
    let reason = |answer: Value| answer["isAuthorized"].as_bool().unwrap();

    let proof = key.resource_proof("GET", url, &token, now);
    let answer = decide(&a, request(Some(&proof), "DPoP")).await;
    assert!(reason(answer.clone()), "{answer}");
    assert_eq!(answer["context"]["client_id"], "app");
    // Each refusal, by its reason.
    let a = &a;
    let why = |ev: Value| async move {
        let header = ev["headers"]["authorization"].as_str().map(str::to_string);
        let target = token_issuer::authorizer::RequestTarget::of(&ev);
        match a.decide_for(header.as_deref(), &target).await {
            Decision::Allow(_) => None,
            Decision::Deny(r) => Some(r),
        }
    };
    let other = Key::new();
    for (what, ev, expected) in [
        (
            "the same proof again",
            request(Some(&proof), "DPoP"),
            "invalid_dpop_proof",
        ),
        (
            "as a bearer token",
            request(None, "Bearer"),
            "dpop_bound_token_as_bearer",
        ),
        ("no proof", request(None, "DPoP"), "invalid_dpop_proof"),
        (
            "a proof for another URL",
            request(
                Some(&key.resource_proof(
                    "GET",
                    "https://xyz789.execute-api.us-east-1.amazonaws.com/other",
                    &token,
                    now,
                )),
                "DPoP",
            ),
            "invalid_dpop_proof",
        ),
        (
            "a proof for another method",
            request(Some(&key.resource_proof("POST", url, &token, now)), "DPoP"),
            "invalid_dpop_proof",
        ),
        (
            "a proof by another key",
            request(Some(&other.resource_proof("GET", url, &token, now)), "DPoP"),
            "dpop_key_mismatch",
        ),
    ] {
        assert_eq!(why(ev).await, Some(expected), "{what}");
    }
    // A bearer token with the DPoP scheme is bound to no key.
    let (bearer, _) = user_login(&env).await;
    let mut ev = request(Some(&key.resource_proof("GET", url, &bearer, now)), "DPoP");
    ev["headers"]["authorization"] = json!(format!("DPoP {bearer}"));
    assert_eq!(why(ev).await, Some("dpop_key_mismatch"));

    // The example route: the DPoP challenge, and the context with a proof.
    let mut ev = example_event("whoami");
    ev["headers"]["authorization"] = json!(format!("Bearer {token}"));
    let answer = a.handle(ev.clone()).await;
    assert_eq!(answer["statusCode"], 401, "{answer}");
    let challenge = answer["headers"]["www-authenticate"].as_str().unwrap();
    assert!(
        challenge.starts_with("DPoP resource_metadata="),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("algs=\"ES256 RS256\""), "{challenge}");
    ev["headers"]["authorization"] = json!(format!("DPoP {token}"));
    let answer = a.handle(ev.clone()).await;
    assert!(answer["headers"]["www-authenticate"]
        .as_str()
        .unwrap()
        .contains("error=\"invalid_dpop_proof\""));
    let ev = with_header(ev, "dpop", &key.resource_proof("GET", url, &token, now));
    let answer = a.handle(ev).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");
}

/// The authorizer's warm-up (on by default at its 256 MB) reads as the
/// authorizer's role may. It runs here under the authorizer's own identity,
/// so the IAM check that runs last holds its call to the template's policy,
/// which grants the authorizer named attributes of a user, never a whole one.
#[tokio::test]
async fn the_authorizers_warm_up_reads_only_what_its_role_may() {
    let env = TestEnv::new().await;
    let a = env.authorizer(|_| {});
    let warmed = a
        .issuer()
        .warm_storage(token_issuer::authorizer::STORAGE_CONNECTIONS)
        .await;
    assert!(warmed.is_some(), "the warm-up's reads answered");
}
