//! Resource indicators (RFC 8707, API §14) through the real handler against
//! DynamoDB Local: `resource` at authorize and at the token endpoint, the
//! access token's `aud` and scopes, a refresh that may narrow and never
//! widen, `invalid_target`, and the resource's withdrawal.

use crate::common::*;
use serde_json::Value;
use token_issuer::core::record::client::{GrantType, Scopes};
use token_issuer::core::record::resource::{Resource, ResourceUri};
use token_issuer::core::store::{AdminStore, ClientStore};

const MCP: &str = "https://mcp.example.com/mcp";
const OTHER: &str = "https://api.example.com/v1";

async fn env_with_resources() -> (TestEnv, String) {
    let env = TestEnv::new().await;
    for (uri, scopes) in [(MCP, "mcp:tools mcp:read"), (OTHER, "api:read")] {
        env.store
            .create_resource(&Resource {
                uri: ResourceUri::parse(uri).unwrap(),
                scopes: Scopes::parse(scopes).unwrap(),
                created_at: START,
            })
            .await
            .unwrap();
    }
    let mut grants = CODE_FLOW.to_vec();
    grants.push(GrantType::ClientCredentials);
    let secret = env
        .add_client("web", false, &grants, "openid profile mcp:tools api:read")
        .await
        .unwrap();
    (env, secret)
}

/// A code for `web` from the login page, for `pairs` (an authorization).
async fn code(env: &TestEnv, pairs: &Params) -> String {
    let page = env.call(&authorize_get(pairs)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let r = env
        .call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await;
    let q = redirect_query(&r);
    query_param(&q, "code").expect("a code").to_string()
}

async fn token(env: &TestEnv, secret: &str, pairs: &[(&str, &str)]) -> Reply {
    env.call(&oauth_event(
        "oauth-token-authorization-code",
        pairs,
        Some(("web", secret)),
    ))
    .await
}

async fn redeem(env: &TestEnv, secret: &str, code: &str, resource: Option<&str>) -> Reply {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    if let Some(r) = resource {
        pairs.push(("resource", r));
    }
    token(env, secret, &pairs).await
}

async fn refresh(env: &TestEnv, secret: &str, rt: &str, resource: Option<&str>) -> Reply {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(r) = resource {
        pairs.push(("resource", r));
    }
    token(env, secret, &pairs).await
}

fn target_refused(r: &Reply) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_target", "{}", r.text());
}

fn mcp_authorization() -> Params {
    set(
        set(authorization("web"), "resource", Some(MCP)),
        "scope",
        Some("openid profile mcp:tools"),
    )
}

#[tokio::test]
async fn a_token_for_a_resource_has_it_as_audience_and_only_its_scopes() {
    let (env, secret) = env_with_resources().await;
    let page = env.call(&authorize_get(&mcp_authorization())).await;
    assert_eq!(hidden_field(&page.text(), "resource").as_deref(), Some(MCP));
    let c = code(&env, &mcp_authorization()).await;
    let r = redeem(&env, &secret, &c, Some(MCP)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let grant = r.json();
    assert_eq!(grant["scope"], "mcp:tools");
    let claims = jwt_claims(grant["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], MCP);
    assert_eq!(claims["scope"], "mcp:tools");
    // The ID token is the client's, with the scope the user granted.
    let id = jwt_claims(grant["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], "web");
    assert!(id["preferred_username"].is_string());

    // Its refresh keeps the resource, named or not; another one is refused
    // before the token is spent.
    let rt = grant["refresh_token"].as_str().unwrap().to_string();
    target_refused(&refresh(&env, &secret, &rt, Some(OTHER)).await);
    target_refused(&refresh(&env, &secret, &rt, Some("not a uri")).await);
    let r = refresh(&env, &secret, &rt, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let again = r.json();
    assert_eq!(
        jwt_claims(again["access_token"].as_str().unwrap())["aud"],
        MCP
    );
    let rt = again["refresh_token"].as_str().unwrap();
    let r = refresh(&env, &secret, rt, Some(MCP)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let access = r.json()["access_token"].as_str().unwrap().to_string();
    let rt = r.json()["refresh_token"].as_str().unwrap().to_string();

    // Introspection: active for the client, and for a resource server
    // whose audience is the resource; inactive once it is withdrawn.
    let rs = env
        .add_client("mcp-server", false, &[GrantType::ClientCredentials], "")
        .await
        .unwrap();
    let mut server = env
        .store
        .get_client(&token_issuer::core::record::client::ClientId::parse("mcp-server").unwrap())
        .await
        .unwrap()
        .unwrap();
    server.audience = Some(MCP.into());
    env.store.delete_client(&server.id).await.unwrap();
    env.store.create_client(&server).await.unwrap();
    let introspect = |id: &'static str, secret: &str| {
        oauth_event(
            "oauth-introspect",
            &[("token", &access)],
            Some((id, secret)),
        )
    };
    let seen = env.call(&introspect("mcp-server", &rs)).await.json();
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["aud"], MCP);
    let seen = env.call(&introspect("web", &secret)).await.json();
    assert_eq!(seen["active"], true, "{seen}");
    assert!(env
        .store
        .delete_resource(&ResourceUri::parse(MCP).unwrap())
        .await
        .unwrap());
    let seen = env.call(&introspect("mcp-server", &rs)).await.json();
    assert_eq!(seen["active"], false, "{seen}");
    target_refused(&refresh(&env, &secret, &rt, None).await);
}

#[tokio::test]
async fn the_resource_of_the_authorization_holds_at_the_token_endpoint() {
    let (env, secret) = env_with_resources().await;
    // Named at authorize only: the token is for it.
    let c = code(&env, &mcp_authorization()).await;
    let r = redeem(&env, &secret, &c, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        jwt_claims(r.json()["access_token"].as_str().unwrap())["aud"],
        MCP
    );
    // Another resource at the token endpoint than at authorize.
    let c = code(&env, &mcp_authorization()).await;
    target_refused(&redeem(&env, &secret, &c, Some(OTHER)).await);
    // None at authorize: the family is the client's audience's, and a
    // refresh cannot widen it to a resource.
    let c = code(&env, &authorization("web")).await;
    let r = redeem(&env, &secret, &c, None).await;
    let grant: Value = r.json();
    assert_eq!(
        jwt_claims(grant["access_token"].as_str().unwrap())["aud"],
        "test-audience"
    );
    let rt = grant["refresh_token"].as_str().unwrap();
    target_refused(&refresh(&env, &secret, rt, Some(MCP)).await);
    assert_eq!(
        refresh(&env, &secret, rt, None).await.status,
        200,
        "not spent"
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_resource_is_invalid_target_on_the_redirect() {
    let (env, _) = env_with_resources().await;
    for bad in [
        "https://unknown.example.com/mcp",
        "mcp.example.com",
        "https://mcp.example.com/mcp#x",
    ] {
        let r = env
            .call(&authorize_get(&set(
                authorization("web"),
                "resource",
                Some(bad),
            )))
            .await;
        let q = redirect_query(&r);
        assert_eq!(query_param(&q, "error"), Some("invalid_target"), "{bad}");
        assert_eq!(query_param(&q, "state"), Some("af0ifjsldkj"));
    }
    // One resource per request.
    let r = env
        .call(&authorize_get(&again(
            set(authorization("web"), "resource", Some(MCP)),
            "resource",
            OTHER,
        )))
        .await;
    assert_eq!(
        query_param(&redirect_query(&r), "error"),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn a_machine_token_for_a_resource() {
    let (env, secret) = env_with_resources().await;
    let cc = |resource: &'static str| {
        oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials"), ("resource", resource)],
            Some(("web", &secret)),
        )
    };
    let r = env.call(&cc(OTHER)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["scope"], "api:read");
    let access = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_claims(&access)["aud"], OTHER);
    target_refused(&env.call(&cc("https://unknown.example.com/")).await);

    // The authorizer accepts it where the resource is an accepted audience,
    // while the resource is registered.
    let path = format!(
        "{}/events/authorizer/bearer-valid.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let ev: Value = serde_json::from_str(
        &std::fs::read_to_string(path)
            .unwrap()
            .replace("REPLACE_WITH_ACCESS_TOKEN", &access),
    )
    .unwrap();
    let a = env.authorizer(|c| c.accepted_audiences = vec![OTHER.into()]);
    assert_eq!(a.handle(ev.clone()).await["isAuthorized"], true);
    let b = env.authorizer(|_| {});
    assert_eq!(b.handle(ev.clone()).await["isAuthorized"], false);
    env.store
        .delete_resource(&ResourceUri::parse(OTHER).unwrap())
        .await
        .unwrap();
    assert_eq!(a.handle(ev).await["isAuthorized"], false);
}
