//! Signing keys from Secrets Manager (moto's server through the real SDK):
//! `token-admin keys rotate|list` and the function's cold-start load.

use crate::common::*;
use std::process::{Command, Output};
use token_issuer::keys::{self, KeyError};

async fn secrets() -> aws_sdk_secretsmanager::Client {
    std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect(
        "key tests need a Secrets Manager endpoint: run them with scripts/test.sh, \
         which starts moto's server",
    );
    aws_sdk_secretsmanager::Client::new(&token_issuer::aws::sdk_config().await)
}

/// A secret as template.yaml creates it: an empty ring.
async fn new_secret() -> String {
    let name = unique("signing-keys");
    secrets()
        .await
        .create_secret()
        .name(&name)
        .secret_string(r#"{"keys":[]}"#)
        .send()
        .await
        .expect("create the secret in moto");
    name
}

fn admin(args: &[&str], secret: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_token-admin"))
        .args(args)
        .env("SIGNING_KEY_SECRET_ID", secret)
        .env("AWS_ACCESS_KEY_ID", ADMIN_IDENTITY)
        .output()
        .expect("run token-admin")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the function does at cold start with SIGNING_KEY_SECRET_ID set.
async fn cold_start_keys(secret: &str) -> Result<keys::KeySet, KeyError> {
    let mut config = test_config();
    config.signing_key_secret = Some(secret.to_string());
    keys::load(
        &token_issuer::compose::key_source(&config),
        &sdk_as(ISSUER_IDENTITY).await,
    )
    .await
}

async fn login_token(env: &TestEnv) -> String {
    let r = env.call(&event("v2-login")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn jwks_kids(env_jwks: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(env_jwks).unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_empty_ring_stops_start_up_with_what_to_do() {
    let secret = new_secret().await;
    let err = cold_start_keys(&secret).await.unwrap_err();
    assert!(matches!(err, KeyError::NoActiveKey));
    assert!(err.to_string().contains("token-admin keys rotate"));

    let err = cold_start_keys("signing-keys-that-do-not-exist")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("signing-keys-that-do-not-exist"),
        "{err}"
    );
    let out = admin(&["keys", "list"], "signing-keys-that-do-not-exist");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("signing-keys-that-do-not-exist"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn rotation_publishes_before_signing_and_keeps_retired_keys() {
    let secret = new_secret().await;
    let listed = ok(admin(&["keys", "rotate"], &secret));
    assert!(
        listed.contains("active (signs)") && listed.contains("next"),
        "{listed}"
    );

    // Cold start 1: signs with the active key, publishes active and next.
    let env1 = TestEnv::with_keys(|_| {}, cold_start_keys(&secret).await.unwrap()).await;
    let token1 = login_token(&env1).await;
    let jwks1 = env1.call(&event("jwks")).await.text();
    assert_eq!(jwks_kids(&jwks1).len(), 2);
    assert_eq!(jwks_kids(&jwks1)[0], kid(&token1));
    let next_kid = jwks_kids(&jwks1)[1].clone();
    assert!(ok(admin(&["keys", "list"], &secret)).contains(&next_kid));

    // Rotate; cold start 2 signs with the key cold start 1 already published.
    ok(admin(&["keys", "rotate"], &secret));
    let env2 = TestEnv::with_keys(|_| {}, cold_start_keys(&secret).await.unwrap()).await;
    let token2 = login_token(&env2).await;
    assert_eq!(kid(&token2), next_kid);
    let issuer = format!("https://{API_DOMAIN}");
    // An old instance's JWKS verifies the new token...
    verify_access_token(&env1, &token2, &issuer).await;
    // ...and the new JWKS still verifies the old one (previous key kept).
    verify_access_token(&env2, &token1, &issuer).await;
    assert_eq!(jwks_kids(&env2.call(&event("jwks")).await.text()).len(), 3);

    // The retired key's private part is gone from the secret.
    let text = secrets()
        .await
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_string();
    let ring: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in ring["keys"].as_array().unwrap() {
        let has_private = k.get("private_key_pem").is_some();
        assert_eq!(has_private, k["status"] != "previous", "{}", k["status"]);
    }
    let list = ok(admin(&["keys", "list"], &secret));
    assert_eq!(
        list.lines().count(),
        4,
        "header + previous, active, next: {list}"
    );
}

/// What the function does at cold start, with the ring re-read every `every`.
async fn live_keys(secret: &str, every: std::time::Duration) -> keys::Keys {
    let mut config = test_config();
    config.signing_key_secret = Some(secret.to_string());
    config.key_refresh = every;
    token_issuer::compose::keys(&config, &sdk_as(ISSUER_IDENTITY).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_revoked_key_leaves_warm_instances_within_the_refresh_bound() {
    let secret = new_secret().await;
    ok(admin(&["keys", "rotate"], &secret));
    // Long enough for the admin tool to run well within it.
    let every = std::time::Duration::from_secs(6);
    let env = TestEnv::with_keys(|_| {}, live_keys(&secret, every).await).await;
    let leaked = kid(&login_token(&env).await);

    // Emergency: the signing key leaked. Withdraw it.
    let out = admin(&["keys", "revoke", &leaked], &secret);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("event=\"admin_key_revoked\"") && stderr.contains(&leaked),
        "{stderr}"
    );
    let listed = ok(out);
    assert!(!listed.contains(&leaked), "{listed}");
    // Within the bound the warm instance still has it...
    assert!(jwks_kids(&env.call(&event("jwks")).await.text()).contains(&leaked));
    // ...and after it, it neither signs with it nor publishes it.
    tokio::time::sleep(every + std::time::Duration::from_millis(200)).await;
    let jwks = env.call(&event("jwks")).await.text();
    assert!(!jwks_kids(&jwks).contains(&leaked), "{jwks}");
    let token = login_token(&env).await;
    assert_ne!(kid(&token), leaked);
    verify_access_token(&env, &token, &format!("https://{API_DOMAIN}")).await;

    // A ring that cannot be read keeps the keys in use (and says so in the log).
    secrets()
        .await
        .put_secret_value()
        .secret_id(&secret)
        .secret_string("not a key ring")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(every + std::time::Duration::from_millis(200)).await;
    assert_eq!(kid(&login_token(&env).await), kid(&token));
    let out = admin(&["keys", "revoke", "no-such-kid"], &secret);
    assert!(!out.status.success());
}

/// A secret as template.yaml creates it for the public keys: empty.
async fn new_public_secret() -> String {
    let name = unique("public-keys");
    secrets()
        .await
        .create_secret()
        .name(&name)
        .secret_string(r#"{"keys":[]}"#)
        .send()
        .await
        .expect("create the secret in moto");
    name
}

async fn secret_text(id: &str) -> String {
    secrets()
        .await
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_string()
}

/// The authorizer is given the ring's public keys alone (written by
/// `token-admin` beside the ring); it verifies the issuer's tokens with them,
/// across a rotation, and cannot sign. It reads them under its own identity,
/// whose role in template.yaml cannot read the ring (`iam.rs` holds the
/// recorded calls against that role).
#[tokio::test]
async fn the_authorizer_verifies_with_the_public_keys_alone() {
    let secret = new_secret().await;
    let public = new_public_secret().await;
    let rotate = || {
        Command::new(env!("CARGO_BIN_EXE_token-admin"))
            .args(["keys", "rotate"])
            .env("SIGNING_KEY_SECRET_ID", &secret)
            .env("PUBLIC_KEYS_SECRET_ID", &public)
            .env("AWS_ACCESS_KEY_ID", ADMIN_IDENTITY)
            .output()
            .expect("run token-admin")
    };
    ok(rotate());
    let published = secret_text(&public).await;
    assert!(
        !published.contains("PRIVATE") && !published.contains("private_key_pem"),
        "{published}"
    );
    let jwks: serde_json::Value = serde_json::from_str(&published).unwrap();
    let keys_json = jwks["keys"].as_array().unwrap();
    assert_eq!(keys_json.len(), 2, "active and next: {published}");
    for k in keys_json {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private part: {k}"
        );
    }

    let mut env = TestEnv::with_keys(|_| {}, cold_start_keys(&secret).await.unwrap()).await;
    let mut config = env.config.clone();
    config.issuer = Some(format!("https://{API_DOMAIN}"));
    config.public_keys_secret = Some(public.clone());
    let before = authorizer_from_public_keys(&config, &env).await;
    let token = login_token(&env).await;
    assert!(allows(&before, &token).await);
    assert!(!allows(&before, "not-a-token").await);

    // After a rotation the issuer signs with the key that was published as
    // next, so an authorizer that started before it still verifies.
    ok(rotate());
    env.app = token_issuer::compose::app(
        &env.config,
        token_issuer::compose::store(client_as(ISSUER_IDENTITY).await, &env.config.store),
        cold_start_keys(&secret).await.unwrap(),
        token_issuer::keys::seal::FactorKey::ephemeral().unwrap(),
        env.clock.clone(),
    );
    let token2 = login_token(&env).await;
    assert_ne!(kid(&token2), kid(&token));
    assert!(allows(&before, &token2).await);
    let after = authorizer_from_public_keys(&config, &env).await;
    assert!(allows(&after, &token).await && allows(&after, &token2).await);
}

async fn allows(
    a: &token_issuer::authorizer::Authorizer<token_issuer::store::DynamoStore, keys::Keys>,
    token: &str,
) -> bool {
    matches!(
        a.decide(Some(&format!("Bearer {token}"))).await,
        token_issuer::authorizer::Decision::Allow(_)
    )
}

/// The authorizer's cold start with `config`'s public keys, under its identity.
async fn authorizer_from_public_keys(
    config: &token_issuer::config::Config,
    env: &TestEnv,
) -> token_issuer::authorizer::Authorizer<token_issuer::store::DynamoStore, keys::Keys> {
    let keys = token_issuer::compose::authorizer_keys(config, &sdk_as(AUTHORIZER_IDENTITY).await)
        .await
        .expect("the authorizer's keys");
    assert!(matches!(
        keys.current().sign(&serde_json::json!({"sub": "x"})),
        Err(KeyError::NoSigningKey)
    ));
    token_issuer::compose::authorizer(
        config,
        env.authorizer_store.clone(),
        keys,
        env.clock.clone(),
    )
    .expect("an authorizer")
}

/// The factor key as template.yaml makes it (64 random letters and digits),
/// read at cold start as the function reads it: a secret sealed with it
/// opens after a restart, and only for its owner.
#[tokio::test]
async fn the_factor_key_is_read_from_its_own_secret_at_cold_start() {
    use token_issuer::core::seal::Sealer as _;
    let name = unique("factor-key");
    let material: String = (0..64)
        .map(|i| {
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + 3) % 62],
            )
        })
        .collect();
    secrets()
        .await
        .create_secret()
        .name(&name)
        .secret_string(&material)
        .send()
        .await
        .expect("create the secret in moto");
    let mut config = test_config();
    config.factor_key_secret = Some(name.clone());
    let sdk = sdk_as(ISSUER_IDENTITY).await;
    let first = token_issuer::compose::factor_key(&config, &sdk)
        .await
        .unwrap();
    let sealed = first.seal(b"0123456789abcdefghij", b"user").unwrap();
    let again = token_issuer::compose::factor_key(&config, &sdk)
        .await
        .unwrap();
    assert_eq!(
        again.open(&sealed, b"user").unwrap(),
        b"0123456789abcdefghij"
    );
    assert!(again.open(&sealed, b"another user").is_err());

    // A missing secret stops the cold start, naming it.
    config.factor_key_secret = Some(unique("factor-key"));
    let err = match token_issuer::compose::factor_key(&config, &sdk).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a missing secret is an error"),
    };
    assert!(err.contains("factor-key"), "{err}");
}
