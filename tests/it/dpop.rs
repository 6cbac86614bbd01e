//! DPoP (RFC 9449) through the real handler against DynamoDB Local: proofs
//! at the token endpoint for every grant, tokens bound to the key (`cnf`,
//! `token_type`), public clients' refresh tokens bound too, userinfo and
//! introspection, nonces, and a proof accepted once however many copies
//! arrive at once.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;
use token_issuer::core::clock::Clock as _;
use token_issuer::core::record::client::{ClientId, GrantType};
use token_issuer::core::store::AdminStore as _;

const ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
pub(crate) const TOKEN_URL: &str =
    "https://abc123.execute-api.us-east-1.amazonaws.com/oauth2/token";
pub(crate) const USERINFO_URL: &str =
    "https://abc123.execute-api.us-east-1.amazonaws.com/oauth2/userinfo";

/// A client's DPoP key, and the proofs it makes.
pub(crate) struct Key(EcdsaKeyPair);

impl Key {
    pub(crate) fn new() -> Self {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Key(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap())
    }

    pub(crate) fn jwk(&self) -> Value {
        let point = self.0.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// RFC 7638's thumbprint of the key.
    pub(crate) fn jkt(&self) -> String {
        let j = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            j["x"].as_str().unwrap(),
            j["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
    }

    fn sign(&self, header: Value, claims: Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .0
            .sign(&SystemRandom::new(), signed.as_bytes())
            .unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// A proof for `method` `url` at `now`, changed by `change`.
    pub(crate) fn proof_with(
        &self,
        method: &str,
        url: &str,
        now: OffsetDateTime,
        change: impl FnOnce(&mut Value, &mut Value),
    ) -> String {
        let mut header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk() });
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": now.unix_timestamp(),
        });
        change(&mut header, &mut claims);
        self.sign(header, claims)
    }

    pub(crate) fn proof(&self, method: &str, url: &str, now: OffsetDateTime) -> String {
        self.proof_with(method, url, now, |_, _| {})
    }

    /// A proof for a resource, with `ath` of `token`.
    pub(crate) fn resource_proof(
        &self,
        method: &str,
        url: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> String {
        self.proof_with(method, url, now, |_, c| {
            c["ath"] = json!(URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())));
        })
    }
}

pub(crate) fn with_proof(ev: Value, proof: &str) -> Value {
    with_header(ev, "dpop", proof)
}

fn password_grant(client: (&str, &str)) -> Value {
    oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "password"),
            ("username", "Admin"),
            ("password", PASSWORD),
            ("scope", "openid profile"),
        ],
        Some(client),
    )
}

/// A public client's password grant (`client_id` in the body).
fn public_password_grant(client: &str) -> Value {
    oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "password"),
            ("username", "Admin"),
            ("password", PASSWORD),
            ("scope", "openid profile"),
            ("client_id", client),
        ],
        None,
    )
}

fn public_refresh(client: &str, token: &str) -> Value {
    oauth_event(
        "oauth-token-refresh",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", client),
        ],
        None,
    )
}

fn userinfo(scheme: &str, token: &str) -> Value {
    with_header(
        event("oauth-userinfo"),
        "authorization",
        &format!("{scheme} {token}"),
    )
}

fn error_of(r: &Reply) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

const PASSWORD_GRANTS: &[GrantType] = &[GrantType::Password, GrantType::RefreshToken];

async fn setup() -> (TestEnv, String) {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("app", false, PASSWORD_GRANTS, "openid profile")
        .await
        .unwrap();
    env.add_client("native", true, PASSWORD_GRANTS, "openid profile")
        .await;
    (env, secret)
}

#[tokio::test]
async fn a_proof_binds_the_access_token_and_introspection_and_userinfo_honour_it() {
    let (env, secret) = setup().await;
    let now = env.clock.now();
    let key = Key::new();

    // The metadata names the algorithms.
    let meta = env.call(&event("openid-configuration")).await.json();
    assert_eq!(
        meta["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );

    let r = env
        .call(&with_proof(
            password_grant(("app", &secret)),
            &key.proof("POST", TOKEN_URL, now),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_claims(&token)["cnf"], json!({ "jkt": key.jkt() }));

    // Without a proof the same client gets a bearer token, with no `cnf`.
    let plain = env.call(&password_grant(("app", &secret))).await.json();
    assert_eq!(plain["token_type"], "Bearer");
    let bearer = plain["access_token"].as_str().unwrap().to_string();
    assert!(jwt_claims(&bearer).get("cnf").is_none());

    // Introspection reports the binding.
    let i = env
        .call(&oauth_event(
            "oauth-introspect",
            &[("token", &token)],
            Some(("app", &secret)),
        ))
        .await
        .json();
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "DPoP");
    assert_eq!(i["cnf"]["jkt"], key.jkt());

    // Userinfo: with its proof, yes.
    let ok = env
        .call(&with_proof(
            userinfo("DPoP", &token),
            &key.resource_proof("GET", USERINFO_URL, &token, now),
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert!(ok.json()["sub"].is_string());
    // The bound token as a bearer token: refused, with a DPoP challenge.
    let as_bearer = env.call(&userinfo("Bearer", &token)).await;
    assert_eq!(as_bearer.status, 401);
    let challenge = as_bearer.header("www-authenticate").unwrap().to_string();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("algs=\"ES256 RS256\""), "{challenge}");
    // A proof by another key, without `ath`, for another URL or method, or
    // a proof used before: refused.
    let other = Key::new();
    let cases = [
        (
            other.resource_proof("GET", USERINFO_URL, &token, now),
            "invalid_token",
        ),
        (key.proof("GET", USERINFO_URL, now), "invalid_dpop_proof"),
        (
            key.resource_proof("GET", TOKEN_URL, &token, now),
            "invalid_dpop_proof",
        ),
        (
            key.resource_proof("POST", USERINFO_URL, &token, now),
            "invalid_dpop_proof",
        ),
        (
            key.resource_proof("GET", USERINFO_URL, &bearer, now),
            "invalid_dpop_proof",
        ),
    ];
    for (i, (proof, code)) in cases.into_iter().enumerate() {
        let r = env
            .call(&with_proof(userinfo("DPoP", &token), &proof))
            .await;
        assert_eq!(
            (r.status, error_of(&r)),
            (401, code.to_string()),
            "case {i}: {}",
            r.text()
        );
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains(&format!("error=\"{code}\"")),
            "case {i}: {challenge}"
        );
    }
    let once = key.resource_proof("GET", USERINFO_URL, &token, now);
    assert_eq!(
        env.call(&with_proof(userinfo("DPoP", &token), &once))
            .await
            .status,
        200
    );
    let again = env.call(&with_proof(userinfo("DPoP", &token), &once)).await;
    assert_eq!(
        (again.status, error_of(&again)),
        (401, "invalid_dpop_proof".into())
    );
    // The DPoP scheme without a proof.
    let bare = env.call(&userinfo("DPoP", &token)).await;
    assert_eq!(
        (bare.status, error_of(&bare)),
        (401, "invalid_dpop_proof".into())
    );
    // An unbound token with the DPoP scheme is not bound to the proof's key.
    let unbound = env
        .call(&with_proof(
            userinfo("DPoP", &bearer),
            &key.resource_proof("GET", USERINFO_URL, &bearer, now),
        ))
        .await;
    assert_eq!(
        (unbound.status, error_of(&unbound)),
        (401, "invalid_token".into())
    );
    // And the unbound token still works as a bearer token.
    assert_eq!(env.call(&userinfo("Bearer", &bearer)).await.status, 200);
}

#[tokio::test]
async fn every_invalid_proof_is_refused_at_the_token_endpoint_before_any_token() {
    let (env, secret) = setup().await;
    let now = env.clock.now();
    let key = Key::new();
    let grant = || password_grant(("app", &secret));
    let cases: Vec<(&str, String)> = vec![
        (
            "typ",
            key.proof_with("POST", TOKEN_URL, now, |h, _| h["typ"] = json!("JWT")),
        ),
        (
            "alg none",
            key.proof_with("POST", TOKEN_URL, now, |h, _| h["alg"] = json!("none")),
        ),
        (
            "private key",
            key.proof_with("POST", TOKEN_URL, now, |h, _| h["jwk"]["d"] = json!("AAAA")),
        ),
        (
            "another key's jwk",
            key.proof_with("POST", TOKEN_URL, now, |h, _| h["jwk"] = Key::new().jwk()),
        ),
        ("method", key.proof("GET", TOKEN_URL, now)),
        ("url", key.proof("POST", USERINFO_URL, now)),
        (
            "another host",
            key.proof("POST", "https://evil.example.com/oauth2/token", now),
        ),
        (
            "iat past",
            key.proof("POST", TOKEN_URL, now - time::Duration::seconds(61)),
        ),
        (
            "iat future",
            key.proof("POST", TOKEN_URL, now + time::Duration::seconds(61)),
        ),
        (
            "no jti",
            key.proof_with("POST", TOKEN_URL, now, |_, c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
        ),
        ("not a JWT", "not-a-jwt".to_string()),
    ];
    let families = |items: Vec<std::collections::HashMap<String, _>>| {
        items
            .iter()
            .filter(|i| {
                i.get("pk")
                    .and_then(|p: &aws_sdk_dynamodb::types::AttributeValue| p.as_s().ok())
                    .is_some_and(|p| p.starts_with("RF#"))
            })
            .count()
    };
    let before = families(env.token_items().await);
    for (what, proof) in cases {
        let r = env.call(&with_proof(grant(), &proof)).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert_eq!(error_of(&r), "invalid_dpop_proof", "{what}");
        r.assert_no_store();
    }
    // Two DPoP headers: refused too.
    let mut two = with_proof(grant(), &key.proof("POST", TOKEN_URL, now));
    two["headers"]["dpop"] = json!(format!(
        "{},{}",
        key.proof("POST", TOKEN_URL, now),
        key.proof("POST", TOKEN_URL, now)
    ));
    assert_eq!(error_of(&env.call(&two).await), "invalid_dpop_proof");
    // A proof used before.
    let proof = key.proof("POST", TOKEN_URL, now);
    assert_eq!(env.call(&with_proof(grant(), &proof)).await.status, 200);
    let replay = env.call(&with_proof(grant(), &proof)).await;
    assert_eq!(
        (replay.status, error_of(&replay)),
        (400, "invalid_dpop_proof".into())
    );
    // Only the one good request issued anything.
    assert_eq!(families(env.token_items().await), before + 1);
}

#[tokio::test]
async fn a_public_clients_refresh_token_works_only_with_its_key() {
    let (env, secret) = setup().await;
    let now = env.clock.now();
    let key = Key::new();
    let r = env
        .call(&with_proof(
            public_password_grant("native"),
            &key.proof("POST", TOKEN_URL, now),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_string();

    // A thief with the refresh token and a key of its own, or none: refused,
    // and the family lives on.
    let thief = Key::new();
    let stolen = env
        .call(&with_proof(
            public_refresh("native", &refresh),
            &thief.proof("POST", TOKEN_URL, now),
        ))
        .await;
    assert_eq!(
        (stolen.status, error_of(&stolen)),
        (400, "invalid_grant".into())
    );
    let bare = env.call(&public_refresh("native", &refresh)).await;
    assert_eq!(
        (bare.status, error_of(&bare)),
        (400, "invalid_grant".into())
    );

    // The client, with its key: a new pair, bound again.
    let ok = env
        .call(&with_proof(
            public_refresh("native", &refresh),
            &key.proof("POST", TOKEN_URL, now),
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let body = ok.json();
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
    let next = body["refresh_token"].as_str().unwrap().to_string();
    let ok = env
        .call(&with_proof(
            public_refresh("native", &next),
            &key.proof("POST", TOKEN_URL, now),
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    // A confidential client's refresh token is bound by its authentication
    // alone: it refreshes without a proof (and gets a bearer token then).
    let r = env
        .call(&with_proof(
            password_grant(("app", &secret)),
            &key.proof("POST", TOKEN_URL, now),
        ))
        .await;
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_string();
    let plain = env
        .call(&oauth_event(
            "oauth-token-refresh",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(("app", &secret)),
        ))
        .await;
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(plain.json()["token_type"], "Bearer");
}

#[tokio::test]
async fn a_client_may_be_required_to_use_dpop_and_client_credentials_are_bound_too() {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("strict", false, &[GrantType::ClientCredentials], "api:read")
        .await
        .unwrap();
    env.store
        .set_client_requirements(&ClientId::parse("strict").unwrap(), false, true)
        .await
        .unwrap();
    let grant = || {
        oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials")],
            Some(("strict", &secret)),
        )
    };
    let r = env.call(&grant()).await;
    assert_eq!((r.status, error_of(&r)), (400, "invalid_dpop_proof".into()));
    let key = Key::new();
    let r = env
        .call(&with_proof(
            grant(),
            &key.proof("POST", TOKEN_URL, env.clock.now()),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["token_type"], "DPoP");
    assert_eq!(
        jwt_claims(r.json()["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
}

#[tokio::test]
async fn with_nonces_on_a_proof_without_the_servers_nonce_gets_one_to_retry_with() {
    let env = TestEnv::with_config(|c| c.dpop_nonces = true).await;
    let secret = env
        .add_client("app", false, PASSWORD_GRANTS, "openid profile")
        .await
        .unwrap();
    let now = env.clock.now();
    let key = Key::new();
    let first = env
        .call(&with_proof(
            password_grant(("app", &secret)),
            &key.proof("POST", TOKEN_URL, now),
        ))
        .await;
    assert_eq!(
        (first.status, error_of(&first)),
        (400, "use_dpop_nonce".into())
    );
    let nonce = first.header("dpop-nonce").expect("a nonce").to_string();
    // A made-up nonce is no better.
    let made_up = key.proof_with("POST", TOKEN_URL, now, |_, c| c["nonce"] = json!("bm9uY2U"));
    let r = env
        .call(&with_proof(password_grant(("app", &secret)), &made_up))
        .await;
    assert_eq!(error_of(&r), "use_dpop_nonce");
    let retry = key.proof_with("POST", TOKEN_URL, now, |_, c| c["nonce"] = json!(nonce));
    let r = env
        .call(&with_proof(password_grant(("app", &secret)), &retry))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_string();

    // At userinfo the challenge is a 401 with the nonce.
    let r = env
        .call(&with_proof(
            userinfo("DPoP", &token),
            &key.resource_proof("GET", USERINFO_URL, &token, now),
        ))
        .await;
    assert_eq!((r.status, error_of(&r)), (401, "use_dpop_nonce".into()));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("use_dpop_nonce"));
    let nonce = r.header("dpop-nonce").expect("a nonce").to_string();
    let proof = key.proof_with("GET", USERINFO_URL, now, |_, c| {
        c["ath"] = json!(URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())));
        c["nonce"] = json!(nonce);
    });
    let r = env
        .call(&with_proof(userinfo("DPoP", &token), &proof))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // A nonce is good for its 5-minute window and the next, not longer.
    env.clock.set(now + time::Duration::minutes(11));
    let later = env.clock.now();
    let stale = key.proof_with("POST", TOKEN_URL, later, |_, c| c["nonce"] = json!(nonce));
    let r = env
        .call(&with_proof(password_grant(("app", &secret)), &stale))
        .await;
    assert_eq!(error_of(&r), "use_dpop_nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn ten_simultaneous_requests_with_one_proof_get_one_token() {
    let (env, secret) = setup().await;
    let env = Arc::new(env);
    let key = Key::new();
    let proof = key.proof("POST", TOKEN_URL, env.clock.now());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (env, ev) = (
                env.clone(),
                with_proof(password_grant(("app", &secret)), &proof),
            );
            tokio::spawn(async move { env.call(&ev).await })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => granted += 1,
            400 => assert_eq!(error_of(&r), "invalid_dpop_proof", "{}", r.text()),
            other => panic!("{other}: {}", r.text()),
        }
    }
    assert_eq!(granted, 1);
    let spent = env
        .token_items()
        .await
        .iter()
        .filter(|i| {
            i.get("pk")
                .and_then(|p| p.as_s().ok())
                .is_some_and(|p| p.starts_with("DP#"))
        })
        .count();
    assert_eq!(spent, 1);
}

#[tokio::test]
async fn the_issuer_url_decides_htu() {
    // Behind a stage the token endpoint's URL has the stage in it.
    let (env, secret) = setup().await;
    let key = Key::new();
    let staged = format!("{ISSUER}/prod/oauth2/token");
    let mut ev = with_proof(
        password_grant(("app", &secret)),
        &key.proof("POST", &staged, env.clock.now()),
    );
    ev["rawPath"] = json!("/prod/oauth2/token");
    ev["requestContext"]["http"]["path"] = json!("/prod/oauth2/token");
    ev["requestContext"]["stage"] = json!("prod");
    let r = env.call(&ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
}
