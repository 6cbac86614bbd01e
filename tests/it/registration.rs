//! Dynamic client registration (RFC 7591, API §14) through the real
//! handler against DynamoDB Local: each policy, each error, the address
//! budget under simultaneous registrations, and the lapse of unused clients.

use crate::common::*;
use serde_json::{json, Value};
use time::Duration;
use token_issuer::core::record::client::ClientId;
use token_issuer::core::record::registration::RegistrationPolicy;
use token_issuer::core::store::ClientStore;

async fn env_with(policy: RegistrationPolicy) -> TestEnv {
    TestEnv::with_config(|c| {
        c.registration.policy = policy;
        c.registration.scopes = "openid profile mcp:tools".into();
        c.registration.unused_days = 2;
        c.registration.per_address_hourly = 5;
    })
    .await
}

/// `POST /oauth2/register` with `body` from `ip`, with a bearer token if given.
fn register(body: &Value, ip: &str, token: Option<&str>) -> Value {
    let mut ev = with_body(event("oauth-register"), &body.to_string());
    ev["requestContext"]["http"]["sourceIp"] = json!(ip);
    ev["headers"]["x-forwarded-for"] = json!(ip);
    match token {
        Some(t) => with_header(ev, "authorization", &format!("Bearer {t}")),
        None => ev,
    }
}

fn agent() -> Value {
    json!({
        "client_name": "Agent",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile",
        "software_id": "ignored",
    })
}

fn metadata_error(r: &Reply, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    r.assert_no_store();
    assert_eq!(r.json()["error"], code, "{}", r.text());
    assert!(r.json()["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

async fn discovery_has_registration(env: &TestEnv) -> Option<String> {
    let r = env.call(&event("oauth-authorization-server")).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    let r = env.call(&event("openid-configuration")).await;
    assert_eq!(
        r.json()["registration_endpoint"],
        doc["registration_endpoint"]
    );
    doc["registration_endpoint"].as_str().map(str::to_string)
}

/// A code flow of the client `id` (public) through the login page and the
/// consent page, to its tokens.
async fn code_flow(env: &TestEnv, id: &str) -> Reply {
    let page = env.call(&authorize_get(&authorization(id))).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let consent = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    // A self-registered client is a third party: the user allows it first
    // (once: the allowance is remembered).
    let r = if consent.status == 200 {
        let cookie = consent.cookie("__Host-session").expect("a session");
        let mut fields = hidden_fields(&consent.text());
        fields.push(("consent", "allow".into()));
        let mut ev = authorize_post(&fields);
        ev["cookies"] = json!([format!("__Host-session={cookie}")]);
        env.call(&ev).await
    } else {
        consent
    };
    let q = redirect_query(&r);
    let code = query_param(&q, "code").expect("a code");
    env.call(&oauth_event(
        "oauth-token-authorization-code",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", id),
        ],
        None,
    ))
    .await
}

#[tokio::test]
async fn with_the_policy_off_there_is_no_endpoint() {
    let env = TestEnv::new().await;
    assert_eq!(discovery_has_registration(&env).await, None);
    let r = env.call(&register(&agent(), "203.0.113.1", None)).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json(), json!({"message": "Not Found"}));
}

#[tokio::test]
async fn a_public_agent_registers_and_signs_a_user_in() {
    let env = env_with(RegistrationPolicy::Public).await;
    assert_eq!(
        discovery_has_registration(&env).await.as_deref(),
        Some(format!("https://{API_DOMAIN}/oauth2/register").as_str())
    );
    let r = env.call(&register(&agent(), "203.0.113.1", None)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.assert_no_store();
    let reg = r.json();
    let id = reg["client_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dyn-") && id.len() == 26, "{id}");
    assert_eq!(reg["client_id_issued_at"], START.unix_timestamp());
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["response_types"], json!(["code"]));
    assert_eq!(reg["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(reg["scope"], "openid profile");
    assert_eq!(reg["client_name"], "Agent");
    assert!(reg.get("client_secret").is_none() && reg.get("software_id").is_none());

    let stored = env
        .store
        .get_client(&ClientId::parse(&id).unwrap())
        .await
        .unwrap()
        .expect("stored");
    assert!(stored.third_party && stored.is_public());
    assert_eq!(
        stored.expires_at,
        Some(env.app.issuer().now() + Duration::days(2))
    );

    // The client works as a hand-registered one would.
    let r = code_flow(&env, &id).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["refresh_token"].is_string());

    // Asking for no scope gets every offered one; the RFC's default method
    // (a secret) is replaced with none under this policy.
    let r = env
        .call(&register(
            &json!({"redirect_uris": [REDIRECT_URI]}),
            "203.0.113.1",
            None,
        ))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["scope"], "openid profile mcp:tools");
    assert_eq!(r.json()["token_endpoint_auth_method"], "none");
}

#[tokio::test]
async fn each_metadata_rule_has_its_rfc_7591_error() {
    let env = env_with(RegistrationPolicy::Public).await;
    let with = |k: &str, v: Value| {
        let mut b = agent();
        b[k] = v;
        b
    };
    let redirect_cases = [
        with("redirect_uris", json!(["http://app.example/cb"])),
        with("redirect_uris", json!(["https://app.example/cb#frag"])),
        with("redirect_uris", json!(["app.example/cb"])),
        with("redirect_uris", json!([])),
    ];
    for (i, body) in redirect_cases.iter().enumerate() {
        let r = env
            .call(&register(body, &format!("198.51.100.{i}"), None))
            .await;
        metadata_error(&r, "invalid_redirect_uri");
    }
    let metadata_cases = [
        with("token_endpoint_auth_method", json!("client_secret_basic")),
        with("token_endpoint_auth_method", json!("private_key_jwt")),
        with("grant_types", json!(["password"])),
        with("grant_types", json!(["client_credentials"])),
        with("grant_types", json!(["implicit"])),
        with("response_types", json!(["token"])),
        with("scope", json!("openid admin")),
        with("client_name", json!("   ")),
        with("redirect_uris", json!("https://app.example/cb")),
        with("grant_types", json!([1])),
        json!(["not", "an", "object"]),
    ];
    for (i, body) in metadata_cases.iter().enumerate() {
        let r = env
            .call(&register(body, &format!("192.0.2.{i}"), None))
            .await;
        metadata_error(&r, "invalid_client_metadata");
    }
    let not_json = with_header(
        with_body(event("oauth-register"), "client_name=x"),
        "content-type",
        "application/x-www-form-urlencoded",
    );
    metadata_error(&env.call(&not_json).await, "invalid_client_metadata");
    // Nothing refused was stored.
    let clients = env
        .token_items()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|k| k.starts_with("CL#")))
        .count();
    assert_eq!(clients, 0);
}

#[tokio::test]
async fn the_token_policy_needs_a_live_initial_access_token() {
    use token_issuer::core::record::registration::InitialAccessToken;
    use token_issuer::core::store::AdminStore;
    let env = env_with(RegistrationPolicy::Token).await;
    let now = env.app.issuer().now();
    let (record, token) = InitialAccessToken::issue(None, now, now + Duration::hours(1)).unwrap();
    env.store
        .create_initial_access_token(&record)
        .await
        .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&token).to_string();

    for presented in [None, Some("not-a-token")] {
        let r = env
            .call(&register(&agent(), "203.0.113.7", presented))
            .await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.json()["error"], "invalid_token");
        assert!(r
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer ")));
    }
    // A confidential machine client: its secret is shown once.
    let machine = json!({
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "mcp:tools",
    });
    let r = env
        .call(&register(&machine, "203.0.113.7", Some(&token)))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let reg = r.json();
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert_eq!(reg["response_types"], json!([]));
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let r = env
        .call(&oauth_event(
            "oauth-token-client-credentials",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["scope"], "mcp:tools");

    // Past its expiry, or withdrawn, the token registers nothing.
    env.clock.advance(Duration::hours(1));
    let r = env
        .call(&register(&agent(), "203.0.113.7", Some(&token)))
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(env
        .store
        .delete_initial_access_token(&record.hash)
        .await
        .unwrap());
}

#[tokio::test]
async fn simultaneous_registrations_from_one_address_get_exactly_its_budget() {
    let env = env_with(RegistrationPolicy::Public).await;
    let ev = register(&agent(), "203.0.113.9", None);
    let replies = futures_util::future::join_all((0..8).map(|_| env.call(&ev))).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!((created, limited.len()), (5, 3));
    for r in limited {
        assert_eq!(r.json()["error"], "too_many_requests");
        let wait: i64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&wait), "{wait}");
    }
    // Another address has its own budget; this one's comes back in an hour.
    let r = env.call(&register(&agent(), "203.0.113.10", None)).await;
    assert_eq!(r.status, 201);
    env.clock.advance(Duration::hours(1));
    assert_eq!(env.call(&ev).await.status, 201);
}

#[tokio::test]
async fn a_registered_client_lapses_unless_used() {
    let env = env_with(RegistrationPolicy::Public).await;
    let reg = |ip: &str| register(&agent(), ip, None);
    let used = env.call(&reg("203.0.113.20")).await.json();
    let unused = env.call(&reg("203.0.113.21")).await.json();
    let (used, unused) = (
        used["client_id"].as_str().unwrap().to_string(),
        unused["client_id"].as_str().unwrap().to_string(),
    );
    // Each use past a day moves the lapse; storage is asked at most daily.
    for _ in 0..3 {
        env.clock.advance(Duration::hours(36));
        let r = code_flow(&env, &used).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let stored = env
            .store
            .get_client(&ClientId::parse(&used).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.expires_at,
            Some(env.app.issuer().now() + Duration::days(2))
        );
    }
    // The unused one lapsed: storage deletes it only later (TTL), so the
    // issuer itself refuses it from its expiry on.
    assert!(env
        .store
        .get_client(&ClientId::parse(&unused).unwrap())
        .await
        .unwrap()
        .is_some());
    let page = env.call(&authorize_get(&authorization(&unused))).await;
    assert_eq!(page.status, 400, "{}", page.text());
    assert!(page.text().contains("not registered"), "{}", page.text());
    let r = env
        .call(&oauth_event(
            "oauth-token-refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", &unused),
            ],
            None,
        ))
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");
}

/// RFC 9449 §5.2: a client that registers with `dpop_bound_access_tokens`
/// must send a DPoP proof with every token request, and is told so back; a
/// value that is not a boolean is refused.
#[tokio::test]
async fn a_client_may_register_as_always_using_dpop() {
    let env = env_with(RegistrationPolicy::Public).await;
    let mut body = agent();
    body["dpop_bound_access_tokens"] = json!(true);
    let r = env.call(&register(&body, "203.0.113.7", None)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let reg = r.json();
    assert_eq!(reg["dpop_bound_access_tokens"], true);
    let id = ClientId::parse(reg["client_id"].as_str().unwrap()).unwrap();
    let stored = env.store.get_client(&id).await.unwrap().unwrap();
    assert!(stored.require_dpop);
    // Without it, nothing changes, and the answer does not mention it.
    let r = env.call(&register(&agent(), "203.0.113.7", None)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json().get("dpop_bound_access_tokens").is_none());
    let id = ClientId::parse(r.json()["client_id"].as_str().unwrap()).unwrap();
    assert!(
        !env.store
            .get_client(&id)
            .await
            .unwrap()
            .unwrap()
            .require_dpop
    );
    body["dpop_bound_access_tokens"] = json!("yes");
    let r = env.call(&register(&body, "203.0.113.7", None)).await;
    metadata_error(&r, "invalid_client_metadata");
}
