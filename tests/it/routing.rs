//! 404, 405, stage prefixes and the `/.well-known/` documents.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn unknown_paths_are_404() {
    let env = TestEnv::new().await;
    for name in ["not-found", "trailing-slash"] {
        let r = env.call(&event(name)).await;
        assert_eq!(r.status, 404, "{name}");
        assert_eq!(r.text(), r#"{"message":"Not Found"}"#);
        r.assert_json();
        r.assert_no_store();
    }
    let mut ev = event("v2-login");
    ev["rawPath"] = json!("/api/v2/auth/TOKEN");
    assert_eq!(env.call(&ev).await.status, 404, "paths are case-sensitive");
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let env = TestEnv::new().await;
    let r = env.call(&event("method-not-allowed")).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.text(), r#"{"message":"Method Not Allowed"}"#);
    assert_eq!(r.header("allow"), Some("POST"));
    r.assert_no_store();

    for (path, method, allow) in [
        ("/api/auth/currentuser", "POST", "GET"),
        ("/api/auth/token/release", "GET", "POST"),
        ("/.well-known/jwks.json", "POST", "GET"),
        ("/api/user/authenticate", "DELETE", "POST"),
        ("/api/auth/token/acquire", "PUT", "POST"),
    ] {
        let mut ev = event("not-found");
        ev["rawPath"] = json!(path);
        ev["requestContext"]["http"]["method"] = json!(method);
        ev["requestContext"]["http"]["path"] = json!(path);
        let r = env.call(&ev).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow));
    }
}

#[tokio::test]
async fn openid_configuration_points_at_the_jwks() {
    let env = TestEnv::new().await;
    let r = env.call(&event("openid-configuration")).await;
    assert_eq!(r.status, 200);
    r.assert_json();
    let c = r.json();
    let issuer = format!("https://{API_DOMAIN}");
    assert_eq!(c["issuer"], issuer);
    assert_eq!(c["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(c["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert!(c["subject_types_supported"].is_array());
    assert!(c["response_types_supported"].is_array());
}

#[tokio::test]
async fn a_configured_issuer_wins() {
    let env = TestEnv::with_config(|c| c.issuer = Some("https://id.example.com".into())).await;
    let c = env.call(&event("openid-configuration")).await.json();
    assert_eq!(c["issuer"], "https://id.example.com");
    assert_eq!(
        c["jwks_uri"],
        "https://id.example.com/.well-known/jwks.json"
    );
    let token = env.call(&event("v2-login")).await.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    verify_access_token(&env, &token, "https://id.example.com").await;
}

#[tokio::test]
async fn jwks_publishes_the_signing_key() {
    let env = TestEnv::new().await;
    let r = env.call(&event("jwks")).await;
    assert_eq!(r.status, 200);
    r.assert_json();
    let keys = r.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["alg"], "RS256");
    assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        k["n"].as_str().is_some_and(|s| s.len() >= 342),
        "2048-bit modulus"
    );
    assert_eq!(k["e"], "AQAB");
    assert!(k.get("d").is_none(), "no private parts");
}

#[tokio::test]
async fn tokens_verify_with_wall_clock_validation() {
    // On the real clock, a standard library's full validation (exp, nbf) passes.
    let env = TestEnv::new().await;
    env.clock.set(time::OffsetDateTime::now_utc());
    let token = env.call(&event("v2-login")).await.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_slice(&env.call(&event("jwks")).await.body).unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["test-audience"]);
    v.set_issuer(&[format!("https://{API_DOMAIN}")]);
    v.validate_nbf = true;
    jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).expect("valid now");
}

/// Any stage name routes, in both event kinds: even one spelled like the
/// routes' first segment (`api`), where the request URI alone is ambiguous.
#[tokio::test]
async fn every_stage_name_routes_in_http_and_rest_events() {
    let env = TestEnv::new().await;
    for stage in ["api", "prod", "auth", "v2", "suite-api", "$default"] {
        // HTTP API: rawPath holds the stage once, in front (none for $default).
        let mut http = event("v2-login");
        let raw = if stage == "$default" {
            "/api/v2/auth/token".to_string()
        } else {
            format!("/{stage}/api/v2/auth/token")
        };
        http["rawPath"] = json!(raw);
        http["requestContext"]["http"]["path"] = json!(raw);
        http["requestContext"]["stage"] = json!(stage);
        let r = env.call(&http).await;
        assert_eq!(r.status, 200, "HTTP API, stage {stage}: {}", r.text());

        // REST API: `path` never holds the stage.
        let mut rest = event("v2-login-rest-v1");
        rest["requestContext"]["stage"] = json!(stage);
        rest["requestContext"]["path"] = json!(format!("/{stage}/api/v2/auth/token"));
        let r = env.call(&rest).await;
        assert_eq!(r.status, 200, "REST API, stage {stage}: {}", r.text());

        // And the stage is kept out of no route: /{stage} alone is nothing.
        let mut bare = event("v2-login-rest-v1");
        bare["path"] = json!("/v2/auth/token");
        bare["requestContext"]["stage"] = json!(stage);
        assert_eq!(env.call(&bare).await.status, 404, "stage {stage}");
    }
    // Issuer URLs still name the stage.
    let mut http = event("v2-login-stage-api");
    http["headers"]["host"] = json!("id.example.com");
    let r = env.call(&http).await;
    let token = r.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let claims = verify_access_token(&env, &token, &format!("https://{API_DOMAIN}/api")).await;
    assert_eq!(claims["iss"], format!("https://{API_DOMAIN}/api"));
}

/// RFC 8414 §3.1: an issuer with a path publishes its metadata with the
/// path inserted after the well-known segment, and also appended (where
/// OpenID Connect and API Gateway stages put it); any other path stays 404.
#[tokio::test]
async fn an_issuer_with_a_path_publishes_its_metadata_at_both_urls() {
    let issuer = "https://id.example.com/auth";
    let env = TestEnv::with_config(|c| c.issuer = Some(issuer.into())).await;
    let get = |name: &str, path: &str| {
        let mut ev = event(name);
        ev["rawPath"] = json!(path);
        ev["requestContext"]["http"]["path"] = json!(path);
        ev
    };
    for (name, path) in [
        (
            "oauth-authorization-server",
            "/.well-known/oauth-authorization-server/auth",
        ),
        (
            "oauth-authorization-server",
            "/.well-known/oauth-authorization-server",
        ),
        (
            "openid-configuration",
            "/.well-known/openid-configuration/auth",
        ),
        ("openid-configuration", "/.well-known/openid-configuration"),
    ] {
        let r = env.call(&get(name, path)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["issuer"], issuer, "{path}");
        assert_eq!(r.json()["token_endpoint"], format!("{issuer}/oauth2/token"));
    }
    for path in [
        "/.well-known/oauth-authorization-server/other",
        "/.well-known/jwks.json/auth",
        "/oauth2/token/auth",
    ] {
        let r = env.call(&get("oauth-authorization-server", path)).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
    // A stage is the issuer's path when none is configured.
    let staged = TestEnv::new().await;
    let mut ev = get(
        "oauth-authorization-server",
        "/.well-known/oauth-authorization-server/prod",
    );
    ev["requestContext"]["stage"] = json!("prod");
    let r = staged.call(&ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["issuer"].as_str().unwrap().ends_with("/prod"));
}
