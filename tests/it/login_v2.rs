//! Dialect v2 log in (`POST /api/v2/auth/token`) against DynamoDB Local.

use crate::common::*;
use base64::Engine;
use serde_json::json;

const INVALID_CREDENTIALS: &str =
    r#"{"errorCode":"AUTH_1001","errorMessage":"Invalid credentials","content":"","pageable":""}"#;

#[tokio::test]
async fn success_has_the_exact_shape() {
    let env = TestEnv::new().await;
    let r = env.call(&event("v2-login")).await;
    let c = &r.assert_v2_grant(&env.admin);
    let refresh = c["refreshToken"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(refresh)
        .unwrap();
    assert!(raw.len() * 8 >= 256 + 128, "family id and 256 secret bits");
    assert_eq!(c["token"].as_str().unwrap().split('.').count(), 3);
    // The key order the vendor's document shows.
    assert!(r
        .text()
        .starts_with(r#"{"errorCode":"","errorMessage":"","content":[{"customerId":"#));
}

#[tokio::test]
async fn access_token_verifies_with_the_jwks_and_carries_the_claims() {
    let env = TestEnv::new().await;
    let r = env.call(&event("v2-login")).await;
    let token = r.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let issuer = format!("https://{API_DOMAIN}");
    let claims = verify_access_token(&env, &token, &issuer).await;
    let now = START.unix_timestamp();
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["sub"], env.admin.id.to_string());
    assert_eq!(claims["aud"], "test-audience");
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["nbf"], now);
    assert_eq!(claims["exp"], now + 3600);
    assert_eq!(claims["username"], "admin");
    assert_eq!(claims["name"], "Admin");
    assert_eq!(claims["email"], "admin@admin");
    assert_eq!(claims["roles"], json!(["Administrator", "Auditor"]));
    assert_eq!(claims["role"], 2);
    assert_eq!(claims["customer_id"], env.admin.customer_id.to_string());
    assert_eq!(claims["auth_source"], "local");
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));

    // jti is unique per token.
    let again = env.call(&event("v2-login")).await.json();
    let other = verify_access_token(
        &env,
        again["content"][0]["token"].as_str().unwrap(),
        &issuer,
    )
    .await;
    assert_ne!(claims["jti"], other["jti"]);
    assert_ne!(claims["sid"], other["sid"]);
}

#[tokio::test]
async fn the_issuer_matches_discovery_and_honours_the_stage() {
    let env = TestEnv::new().await;
    let conf = env.call(&event("openid-configuration")).await.json();
    let token = env.call(&event("v2-login")).await.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let claims = verify_access_token(&env, &token, conf["issuer"].as_str().unwrap()).await;
    assert_eq!(claims["iss"], conf["issuer"]);

    // A named stage is part of the issuer and is stripped from the path.
    let staged = env.call(&event("v2-login-staged")).await;
    assert_eq!(staged.status, 200, "{}", staged.text());
    let token = staged.json()["content"][0]["token"]
        .as_str()
        .unwrap()
        .to_string();
    verify_access_token(&env, &token, &format!("https://{API_DOMAIN}/prod")).await;
}

#[tokio::test]
async fn rest_api_and_base64_events_work() {
    let env = TestEnv::new().await;
    for name in ["v2-login-rest-v1", "v2-login-base64"] {
        let r = env.call(&event(name)).await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.json()["errorCode"], "");
    }
}

#[tokio::test]
async fn refresh_token_is_stored_hashed_with_family_and_expiry() {
    let env = TestEnv::new().await;
    let body = env.call(&event("v2-login")).await.json();
    let refresh = body["content"][0]["refreshToken"].as_str().unwrap();
    let items = env.issued_items().await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    let dump = format!("{item:?}");
    assert!(
        !dump.contains(refresh),
        "the raw refresh token must not be stored"
    );
    let s = |k: &str| item[k].as_s().unwrap().clone();
    let n = |k: &str| item[k].as_n().unwrap().parse::<i64>().unwrap();
    assert!(s("pk").starts_with("RF#"));
    assert_eq!(s("username"), "admin");
    assert_eq!(s("user_id"), env.admin.id.to_string());
    let digest = ring::digest::digest(&ring::digest::SHA256, refresh.as_bytes());
    assert_eq!(
        s("token_hash"),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    );
    let expires = START + time::Duration::days(30);
    assert_eq!(
        n("expires_at"),
        (expires.unix_timestamp_nanos() / 1_000_000) as i64
    );
    assert_eq!(n("ttl"), expires.unix_timestamp());
}

#[tokio::test]
async fn usernames_match_case_insensitively() {
    let env = TestEnv::new().await;
    for name in ["ADMIN", "admin", "aDmIn"] {
        let r = env
            .call(&login(
                "v2-login",
                json!({"username": name, "password": PASSWORD}),
            ))
            .await;
        assert_eq!(r.status, 200, "{name}");
    }
    // The password is exact: case matters there.
    let r = env
        .call(&login(
            "v2-login",
            json!({"username": "admin", "password": PASSWORD.to_uppercase()}),
        ))
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn every_credential_failure_is_byte_identical() {
    let env = TestEnv::new().await;
    env.add_user("disabled", PASSWORD, |u| u.enabled = false)
        .await;
    let cases = [
        login(
            "v2-login",
            json!({"username": "admin", "password": "wrong password"}),
        ),
        login(
            "v2-login",
            json!({"username": "nobody", "password": PASSWORD}),
        ),
        login(
            "v2-login",
            json!({"username": "disabled", "password": PASSWORD}),
        ),
        login(
            "v2-login",
            json!({"username": "x".repeat(2000), "password": PASSWORD}),
        ),
        event("v2-login-wrong-password"),
        event("v2-login-unknown-user"),
    ];
    for ev in &cases {
        let r = env.call(ev).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.text(), INVALID_CREDENTIALS);
        assert_eq!(r.headers.len(), 3, "{:?}", r.headers);
        r.assert_json();
        r.assert_no_store();
    }
    assert!(
        env.issued_items().await.is_empty(),
        "no failure stores a token"
    );
}

#[tokio::test]
async fn storage_failure_is_a_clean_500() {
    let env = TestEnv::without_tables().await;
    let r = env.call(&event("v2-login")).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        r#"{"errorCode":"GEN_1002","errorMessage":"Internal error","content":"","pageable":""}"#
    );
    r.assert_no_store();
}

#[tokio::test]
async fn last_login_is_recorded() {
    let env = TestEnv::new().await;
    assert_eq!(env.call(&event("v2-login")).await.status, 200);
    use token_issuer::core::store::UserStore as _;
    let user = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.last_login_at,
        Some(START.replace_nanosecond(123_000_000).unwrap())
    );
}

#[tokio::test]
async fn weaker_stored_hashes_are_upgraded_at_log_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use token_issuer::core::store::UserStore as _;
    let env = TestEnv::new().await;
    // A weak imported hash, and this issuer's own earlier setting (19 MiB,
    // two passes), which its users still have until they log in again.
    for (username, m_kib, passes) in [("legacy", 4096, 1), ("former", 19_456, 2)] {
        let old = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(m_kib, passes, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"an old salt 1234").unwrap();
        let old_phc = old
            .hash_password(PASSWORD.as_bytes(), &salt)
            .unwrap()
            .to_string();
        env.add_user(username, PASSWORD, |u| u.password_hash = old_phc.clone())
            .await;
        let name = token_issuer::core::record::user::Username::parse(username).unwrap();

        // A wrong password is refused as any other and replaces nothing.
        let wrong = json!({"username": username, "password": "not the password"});
        let r = env.call(&login("v2-login", wrong)).await;
        assert_eq!(r.status, 401, "{}", r.text());
        let stored = env.store.get_user(&name).await.unwrap().unwrap();
        assert_eq!(stored.password_hash, old_phc);

        let body = json!({"username": username, "password": PASSWORD});
        let r = env.call(&login("v2-login", body.clone())).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let stored = env.store.get_user(&name).await.unwrap().unwrap();
        assert!(
            stored
                .password_hash
                .starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{username}: {}",
            stored.password_hash
        );
        assert_ne!(stored.password_hash, old_phc);
        assert_eq!(stored.tokens_revoked_at, None, "an upgrade revokes nothing");
        // The same password still works, and the refresh token of the first log in too.
        let refresh = r.json()["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(env.call(&login("v2-login", body)).await.status, 200);
        let ev = with_body(
            event("v2-refresh"),
            &json!({"refreshToken": refresh}).to_string(),
        );
        assert_eq!(env.call(&ev).await.status, 200);
    }
}
