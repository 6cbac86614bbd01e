//! A standard OAuth client library (the `oauth2` crate), configured only
//! from the RFC 8414 metadata and a registered client, obtains, refreshes,
//! introspects and revokes tokens. Its HTTP hook sends each request through
//! the real handler as the API Gateway event it would arrive as.

use crate::common::*;
use oauth2::basic::{BasicClient, BasicTokenType};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, IntrospectionUrl, RefreshToken,
    ResourceOwnerPassword, ResourceOwnerUsername, RevocationUrl, Scope, StandardRevocableToken,
    TokenIntrospectionResponse, TokenResponse, TokenUrl,
};
use serde_json::Value;
use token_issuer::core::record::client::GrantType;

/// What a transport failure would be; the handler itself never fails.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HookError(String);

/// The request as API Gateway (HTTP API, payload 2.0) would deliver it.
fn to_event(req: &oauth2::HttpRequest) -> Value {
    use base64::Engine;
    let mut ev = event("oauth-token-password");
    let path = req.uri().path().to_string();
    ev["rawPath"] = Value::String(path.clone());
    ev["rawQueryString"] = Value::String(req.uri().query().unwrap_or("").to_string());
    ev["requestContext"]["http"]["path"] = Value::String(path);
    ev["requestContext"]["http"]["method"] = Value::String(req.method().to_string());
    let mut headers = serde_json::Map::new();
    headers.insert("host".into(), Value::String(API_DOMAIN.into()));
    for (name, value) in req.headers() {
        headers.insert(
            name.as_str().to_string(),
            Value::String(value.to_str().unwrap_or("").to_string()),
        );
    }
    ev["headers"] = Value::Object(headers);
    ev["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(req.body()));
    ev["isBase64Encoded"] = Value::Bool(true);
    ev
}

async fn send(env: &TestEnv, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HookError> {
    let reply = env.call(&to_event(&req)).await;
    let mut resp = oauth2::http::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        resp = resp.header(name.as_str(), value.as_bytes());
    }
    resp.body(reply.body).map_err(|e| HookError(e.to_string()))
}

/// The endpoints, read from the metadata document as a client would.
async fn metadata(env: &TestEnv) -> Value {
    let r = env.call(&event("oauth-authorization-server")).await;
    assert_eq!(r.status, 200);
    r.json()
}

#[tokio::test]
async fn a_standard_client_library_obtains_refreshes_introspects_and_revokes() {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("library", false, &GrantType::ALL, "openid api:read")
        .await
        .unwrap();
    let meta = metadata(&env).await;
    let url = |k: &str| meta[k].as_str().unwrap().to_string();
    let http = |req| send(&env, req);
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new("library".into()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_auth_type(auth)
            .set_token_uri(TokenUrl::new(url("token_endpoint")).unwrap())
            .set_introspection_url(IntrospectionUrl::new(url("introspection_endpoint")).unwrap())
            .set_revocation_url(RevocationUrl::new(url("revocation_endpoint")).unwrap());

        // Password grant.
        let token = client
            .exchange_password(
                &ResourceOwnerUsername::new("Admin".into()),
                &ResourceOwnerPassword::new(PASSWORD.into()),
            )
            .add_scope(Scope::new("api:read".into()))
            .request_async(&http)
            .await
            .expect("password grant");
        assert_eq!(*token.token_type(), BasicTokenType::Bearer);
        assert_eq!(
            token.expires_in(),
            Some(std::time::Duration::from_secs(3600))
        );
        assert_eq!(token.scopes(), Some(&vec![Scope::new("api:read".into())]));
        let refresh = token.refresh_token().expect("a refresh token").clone();

        // Refresh grant: a new pair.
        let next = client
            .exchange_refresh_token(&refresh)
            .request_async(&http)
            .await
            .expect("refresh grant");
        let next_refresh = next.refresh_token().expect("rotated").clone();
        assert_ne!(next_refresh.secret(), refresh.secret());
        // The consumed token is refused, and its reuse ends the family.
        let reused = client
            .exchange_refresh_token(&refresh)
            .request_async(&http)
            .await;
        match reused {
            Err(oauth2::RequestTokenError::ServerResponse(e)) => {
                assert_eq!(e.error().as_ref(), "invalid_grant")
            }
            other => panic!("{other:?}"),
        }
        let dead = client
            .introspect(next.access_token())
            .request_async(&http)
            .await
            .expect("introspection");
        assert!(!dead.active(), "reuse revoked the family");

        // Introspection of a live token, then revocation.
        let live = client
            .exchange_password(
                &ResourceOwnerUsername::new("admin".into()),
                &ResourceOwnerPassword::new(PASSWORD.into()),
            )
            .request_async(&http)
            .await
            .expect("password grant");
        let seen = client
            .introspect(live.access_token())
            .request_async(&http)
            .await
            .expect("introspection");
        assert!(seen.active());
        assert_eq!(seen.username(), Some("admin"));
        assert_eq!(seen.client_id().map(|c| c.as_str()), Some("library"));
        assert_eq!(seen.sub(), Some(env.admin.id.to_string().as_str()));
        assert!(seen.exp().is_some() && seen.iat().is_some());
        client
            .revoke_token(StandardRevocableToken::RefreshToken(RefreshToken::new(
                live.refresh_token().unwrap().secret().clone(),
            )))
            .expect("an https revocation endpoint")
            .request_async(&http)
            .await
            .expect("revocation");
        let after = client
            .introspect(live.access_token())
            .request_async(&http)
            .await
            .expect("introspection");
        assert!(!after.active(), "revoked at once");

        // Client credentials, then revoking its access token.
        let service = client
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .expect("client credentials grant");
        assert!(service.refresh_token().is_none());
        let at = AccessToken::new(service.access_token().secret().clone());
        assert!(client
            .introspect(&at)
            .request_async(&http)
            .await
            .unwrap()
            .active());
        client
            .revoke_token(StandardRevocableToken::AccessToken(at.clone()))
            .unwrap()
            .request_async(&http)
            .await
            .expect("revocation");
        assert!(!client
            .introspect(&at)
            .request_async(&http)
            .await
            .unwrap()
            .active());
    }

    // A wrong secret is the library's invalid_client.
    let client = BasicClient::new(ClientId::new("library".into()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(TokenUrl::new(url("token_endpoint")).unwrap());
    match client
        .exchange_client_credentials()
        .request_async(&http)
        .await
    {
        Err(oauth2::RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error().as_ref(), "invalid_client")
        }
        other => panic!("{other:?}"),
    }
}
