//! Refresh-token rotation, reuse detection, revocation and logout for the v2
//! and user dialects, against DynamoDB Local.

use crate::common::*;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;
use time::Duration;
use token_issuer::core::store::{AdminStore as _, UserStore as _};

const V2_INVALID_REFRESH: &str = r#"{"errorCode":"AUTH_1002","errorMessage":"Invalid refresh token","content":"","pageable":""}"#;
const V2_INVALID_REQUEST: &str =
    r#"{"errorCode":"GEN_1001","errorMessage":"Invalid request","content":"","pageable":""}"#;
const V2_SERVER_ERROR: &str =
    r#"{"errorCode":"GEN_1002","errorMessage":"Internal error","content":"","pageable":""}"#;
const V2_REVOKED: &str = r#"{"errorCode":"","errorMessage":"","content":[],"pageable":{"page":0,"size":10,"totalPages":0,"totalElements":0}}"#;

const USER_INVALID_REFRESH: &str =
    r#"{"responseKey":"INVALID_REFRESH_TOKEN","responseMessage":"Invalid refresh token"}"#;
const USER_INVALID_REQUEST: &str =
    r#"{"responseKey":"INVALID_REQUEST","responseMessage":"Invalid HTTP request"}"#;
const USER_SERVER_ERROR: &str =
    r#"{"responseKey":"SERVER_ERROR","responseMessage":"Server is temporarily unavailable"}"#;
const USER_LOGGED_OUT: &str = r#"{"responseKey":"SUCCESS","responseMessage":"Successful request"}"#;

fn issuer() -> String {
    format!("https://{API_DOMAIN}")
}

fn v2_refresh(token: &str) -> Value {
    with_body(
        event("v2-refresh"),
        &json!({ "refreshToken": token }).to_string(),
    )
}

fn user_refresh(token: &str) -> Value {
    with_body(
        event("user-refresh"),
        &json!({ "refreshToken": token, "accessToken": "anything" }).to_string(),
    )
}

fn v2_revoke(token: &str) -> Value {
    with_body(
        event("v2-revoke"),
        &json!({ "refreshToken": token }).to_string(),
    )
}

fn user_logout(token: &str) -> Value {
    with_body(
        event("user-logout"),
        &json!({ "refreshToken": token }).to_string(),
    )
}

/// 48 random bytes in standard base64: exactly the shape of a real refresh
/// token (64 characters), but not one that was ever issued.
fn random_token() -> String {
    let mut raw = [0u8; 48];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw).unwrap();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A token naming the family of `real` (its first 16 bytes) with a forged secret.
fn forged_in_family(real: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(real).unwrap();
    assert_eq!(raw.len(), 48);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw[16..]).unwrap();
    b64.encode(raw)
}

/// Logs in with the v2 dialect; the whole body.
async fn v2_login(env: &TestEnv) -> Value {
    let r = env.call(&event("v2-login")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn v2_refresh_token(body: &Value) -> String {
    body["content"][0]["refreshToken"]
        .as_str()
        .expect("a refresh token")
        .to_string()
}

/// Logs in with the user dialect; the whole body.
async fn user_login(env: &TestEnv) -> Value {
    let r = env.call(&event("user-authenticate")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn user_refresh_token(body: &Value) -> String {
    body["refreshToken"]
        .as_str()
        .expect("a refresh token")
        .to_string()
}

/// A v2 refresh that must succeed; the new refresh token.
async fn v2_refresh_ok(env: &TestEnv, token: &str) -> String {
    let r = env.call(&v2_refresh(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    v2_refresh_token(&r.json())
}

/// A v2 refresh that must fail as an invalid refresh token, byte for byte.
async fn v2_refresh_refused(env: &TestEnv, token: &str) {
    let r = env.call(&v2_refresh(token)).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.text(), V2_INVALID_REFRESH);
    r.assert_json();
    r.assert_no_store();
}

async fn user_refresh_refused(env: &TestEnv, token: &str) {
    let r = env.call(&user_refresh(token)).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.text(), USER_INVALID_REFRESH);
    r.assert_json();
    r.assert_no_store();
}

/// The only refresh family in the tokens table has been revoked.
async fn assert_family_revoked(env: &TestEnv) {
    let items = env.issued_items().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        items[0].contains_key("revoked_at"),
        "family not revoked: {:?}",
        items[0]
    );
}

/// No item in the tokens table has been revoked.
async fn assert_nothing_revoked(env: &TestEnv) {
    for item in env.issued_items().await {
        assert!(!item.contains_key("revoked_at"), "revoked: {item:?}");
    }
}

/// Bodies every refresh / revoke route must refuse as an invalid request.
fn malformed_bodies() -> Vec<String> {
    vec![
        "{}".to_string(),
        json!({"refreshToken": null}).to_string(),
        json!({"refreshToken": 42}).to_string(),
        json!({"refreshToken": ["x"]}).to_string(),
        json!({"refreshToken": ""}).to_string(),
        json!({"token": "x"}).to_string(),
        "not json".to_string(),
        "[]".to_string(),
        String::new(),
    ]
}

// ---- rotation ---------------------------------------------------------------

#[tokio::test]
async fn v2_refresh_returns_the_log_in_shape_and_keeps_the_session_id() {
    let env = TestEnv::new().await;
    let login = v2_login(&env).await;
    let first = v2_refresh_token(&login);
    let login_claims = verify_access_token(
        &env,
        login["content"][0]["token"].as_str().unwrap(),
        &issuer(),
    )
    .await;

    env.clock.advance(Duration::minutes(10));
    let r = env.call(&v2_refresh(&first)).await;
    let c = &r.assert_v2_grant(&env.admin);
    assert!(r
        .text()
        .starts_with(r#"{"errorCode":"","errorMessage":"","content":[{"customerId":"#));

    let next = c["refreshToken"].as_str().unwrap();
    assert_ne!(next, first, "rotation issues a new refresh token");
    assert_eq!(next.len(), 64);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(next)
        .unwrap();
    assert_eq!(raw.len(), 48);

    let token = c["token"].as_str().unwrap();
    assert_ne!(token, login["content"][0]["token"].as_str().unwrap());
    let claims = verify_access_token(&env, token, &issuer()).await;
    assert_eq!(claims["sid"], login_claims["sid"], "same family, same sid");
    assert_ne!(claims["jti"], login_claims["jti"]);
    assert_eq!(claims["sub"], env.admin.id.to_string());
    assert_eq!(claims["username"], "admin");
    let now = (START + Duration::minutes(10)).unix_timestamp();
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 3600);
    assert_eq!(env.issued_items().await.len(), 1, "one family, rotated");
}

// ---- the absolute refresh expiry --------------------------------------------

#[tokio::test]
async fn user_refresh_keeps_the_absolute_refresh_expiry() {
    let env = TestEnv::new().await;
    let login = user_login(&env).await;
    assert_eq!(
        login["refreshTokenExpiryTime"],
        "2037-12-22T12:00:00.1230000Z"
    );
    assert_eq!(
        login["accessTokenExpiryTime"],
        "2037-11-22T13:00:00.0000000Z"
    );

    env.clock.advance(Duration::days(1));
    let r = env.call(&user_refresh(&user_refresh_token(&login))).await;
    let b = r.assert_user_grant();
    assert_eq!(b["userName"], "admin");
    assert_eq!(b["email"], "admin@admin");
    assert_eq!(b["fullName"], "Admin");
    assert_eq!(b["role"], 2);
    assert_ne!(b["refreshToken"], login["refreshToken"]);
    // The access token moves with the clock ...
    assert_eq!(b["accessTokenExpiryTime"], "2037-11-23T13:00:00.0000000Z");
    let claims = verify_access_token(&env, b["accessToken"].as_str().unwrap(), &issuer()).await;
    assert_eq!(
        claims["exp"],
        (START + Duration::days(1)).unix_timestamp() + 3600
    );
    // ... the refresh token's lifetime is absolute: exactly as at log in.
    assert_eq!(
        b["refreshTokenExpiryTime"], login["refreshTokenExpiryTime"],
        "rotation must neither extend nor change the refresh expiry"
    );
}

// ---- reuse revokes the family -----------------------------------------------

#[tokio::test]
async fn v2_reuse_of_a_consumed_token_revokes_the_family() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);
    let second = v2_refresh_ok(&env, &first).await;
    let third = v2_refresh_ok(&env, &second).await;

    // `first` was consumed: reuse. The newest token dies with the family.
    v2_refresh_refused(&env, &first).await;
    assert_family_revoked(&env).await;
    v2_refresh_refused(&env, &third).await;
    v2_refresh_refused(&env, &second).await;
}

#[tokio::test]
async fn user_reuse_of_a_consumed_token_revokes_the_family() {
    let env = TestEnv::new().await;
    let first = user_refresh_token(&user_login(&env).await);
    let r = env.call(&user_refresh(&first)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let second = user_refresh_token(&r.json());

    user_refresh_refused(&env, &first).await;
    assert_family_revoked(&env).await;
    user_refresh_refused(&env, &second).await;
}

#[tokio::test]
async fn reuse_revokes_only_its_own_family() {
    let env = TestEnv::new().await;
    let a = v2_refresh_token(&v2_login(&env).await);
    let b = v2_refresh_token(&v2_login(&env).await);
    let a2 = v2_refresh_ok(&env, &a).await;
    v2_refresh_refused(&env, &a).await;
    v2_refresh_refused(&env, &a2).await;
    // The other log in (another device) is untouched.
    v2_refresh_ok(&env, &b).await;
}

// ---- concurrency: strict rotation -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_give_exactly_one_success() {
    let env = Arc::new(TestEnv::new().await);
    let token = v2_refresh_token(&v2_login(&env).await);

    let sent = 20;
    let barrier = Arc::new(tokio::sync::Barrier::new(sent));
    let tasks: Vec<_> = (0..sent)
        .map(|_| {
            let env = Arc::clone(&env);
            let barrier = Arc::clone(&barrier);
            let ev = v2_refresh(&token);
            tokio::spawn(async move {
                barrier.wait().await;
                env.call(&ev).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(sent);
    for t in tasks {
        replies.push(t.await.expect("task"));
    }

    let ok = replies.iter().filter(|r| r.status == 200).count();
    println!("concurrency: {sent} sent, {ok} succeeded");
    assert_eq!(ok, 1, "strict rotation: exactly one winner");
    let losers: Vec<_> = replies.iter().filter(|r| r.status != 200).collect();
    assert_eq!(losers.len(), sent - 1);
    for r in &losers {
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.text(), V2_INVALID_REFRESH);
    }
    // The losers presented a consumed token: reuse, so the winner's token is dead too.
    let winner = replies.iter().find(|r| r.status == 200).unwrap();
    let next = v2_refresh_token(&winner.json());
    assert_ne!(next, token);
    assert_family_revoked(&env).await;
    v2_refresh_refused(&env, &next).await;
}

// ---- lifetime ---------------------------------------------------------------

#[tokio::test]
async fn refresh_lifetime_is_absolute_from_the_log_in() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);

    env.clock.advance(Duration::days(29));
    let second = v2_refresh_ok(&env, &first).await;

    env.clock
        .set(START + Duration::days(30) + Duration::seconds(1));
    v2_refresh_refused(&env, &second).await;
    let items = env.issued_items().await;
    assert!(
        !items.is_empty(),
        "DynamoDB TTL has not deleted the item; the read must refuse it"
    );
    // An expired family is not "reuse": nothing to revoke, and no token either.
    user_refresh_refused(&env, &second).await;
}

#[tokio::test]
async fn refresh_expiry_boundary_is_thirty_days() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);
    env.clock
        .set(START + Duration::days(30) - Duration::milliseconds(1));
    let second = v2_refresh_ok(&env, &first).await;
    env.clock.set(START + Duration::days(30));
    v2_refresh_refused(&env, &second).await;
}

// ---- revocation -------------------------------------------------------------

#[tokio::test]
async fn v2_revoke_is_idempotent_and_kills_the_family() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);
    let second = v2_refresh_ok(&env, &first).await;

    let r = env.call(&v2_revoke(&second)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), V2_REVOKED);
    r.assert_json();
    r.assert_no_store();
    assert_family_revoked(&env).await;
    v2_refresh_refused(&env, &second).await;

    // An expired token (another family, 31 days later).
    let expired = v2_refresh_token(&v2_login(&env).await);
    env.clock.advance(Duration::days(31));

    let again = [
        second.clone(),
        first.clone(),
        "garbage".to_string(),
        "A".repeat(64),
        random_token(),
        expired.clone(),
    ];
    for t in &again {
        let r = env.call(&v2_revoke(t)).await;
        assert_eq!(r.status, 200, "{t}: {}", r.text());
        assert_eq!(r.text(), V2_REVOKED, "{t}");
        r.assert_no_store();
    }
    v2_refresh_refused(&env, &expired).await;
}

#[tokio::test]
async fn user_logout_is_idempotent_and_kills_the_family() {
    let env = TestEnv::new().await;
    let first = user_refresh_token(&user_login(&env).await);

    let r = env.call(&user_logout(&first)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), USER_LOGGED_OUT);
    r.assert_json();
    r.assert_no_store();
    assert_family_revoked(&env).await;
    user_refresh_refused(&env, &first).await;

    let expired = user_refresh_token(&user_login(&env).await);
    env.clock.advance(Duration::days(31));
    for t in [
        first.clone(),
        "garbage".to_string(),
        "A".repeat(64),
        random_token(),
        expired.clone(),
    ] {
        let r = env.call(&user_logout(&t)).await;
        assert_eq!(r.status, 200, "{t}: {}", r.text());
        assert_eq!(r.text(), USER_LOGGED_OUT, "{t}");
        r.assert_no_store();
    }
    user_refresh_refused(&env, &expired).await;
}

#[tokio::test]
async fn revoking_with_a_consumed_token_kills_the_family() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);
    let second = v2_refresh_ok(&env, &first).await;
    let r = env.call(&v2_revoke(&first)).await;
    assert_eq!(r.text(), V2_REVOKED);
    v2_refresh_refused(&env, &second).await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_requests_on_every_route() {
    let env = TestEnv::new().await;
    let token = v2_refresh_token(&v2_login(&env).await);
    let routes = [
        ("v2-refresh", V2_INVALID_REQUEST),
        ("v2-revoke", V2_INVALID_REQUEST),
        ("user-refresh", USER_INVALID_REQUEST),
        ("user-logout", USER_INVALID_REQUEST),
    ];
    for (name, expected) in routes {
        for body in malformed_bodies() {
            let r = env.call(&with_body(event(name), &body)).await;
            assert_eq!(r.status, 400, "{name} {body:?}: {}", r.text());
            assert_eq!(r.text(), expected, "{name} {body:?}");
            r.assert_json();
            r.assert_no_store();
        }
        // A wrong content type is malformed too, even with a real token.
        let ev = with_header(
            with_body(event(name), &json!({ "refreshToken": token }).to_string()),
            "content-type",
            "text/plain",
        );
        let r = env.call(&ev).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert_eq!(r.text(), expected, "{name}");
    }
    // None of it touched the family.
    assert_nothing_revoked(&env).await;
    v2_refresh_ok(&env, &token).await;
}

// ---- garbage tokens ---------------------------------------------------------

#[tokio::test]
async fn garbage_refresh_tokens_never_revoke_and_never_yield_a_token() {
    let env = TestEnv::new().await;
    let real = v2_refresh_token(&v2_login(&env).await);

    for (name, expected) in [
        ("v2-refresh", V2_INVALID_REQUEST),
        ("user-refresh", USER_INVALID_REQUEST),
    ] {
        let r = env
            .call(&with_body(
                event(name),
                &json!({"refreshToken": ""}).to_string(),
            ))
            .await;
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.text(), expected);
    }

    let garbage = [
        "garbage".to_string(),
        "A".repeat(64),
        random_token(),
        // Right family (the family id is not secret: it is the access token's
        // `sid`), forged secret: refused, and it must not let anyone revoke.
        forged_in_family(&real),
        format!("{real} "),
        real.to_lowercase(),
    ];
    for t in &garbage {
        let r = env.call(&v2_refresh(t)).await;
        assert_eq!(r.status, 401, "{t:?}: {}", r.text());
        assert_eq!(r.text(), V2_INVALID_REFRESH, "{t:?}");
        let r = env.call(&user_refresh(t)).await;
        assert_eq!(r.status, 401, "{t:?}: {}", r.text());
        assert_eq!(r.text(), USER_INVALID_REFRESH, "{t:?}");
    }
    assert_nothing_revoked(&env).await;

    // Revoking with a forged token of the family does not revoke it either.
    let r = env.call(&v2_revoke(&forged_in_family(&real))).await;
    assert_eq!(r.text(), V2_REVOKED);
    assert_nothing_revoked(&env).await;

    // The real token still works.
    v2_refresh_ok(&env, &real).await;
    assert_eq!(env.issued_items().await.len(), 1, "no new family was made");
}

// ---- users disabled, re-passworded, deleted ---------------------------------

#[tokio::test]
async fn a_disabled_user_cannot_refresh_and_re_enabling_does_not_revive() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);
    let second = v2_refresh_ok(&env, &first).await;

    env.set_admin_enabled(false).await;
    v2_refresh_refused(&env, &second).await;
    assert_family_revoked(&env).await;

    assert!(env
        .store
        .set_enabled(&env.admin.username, true, env.app.issuer().now())
        .await
        .unwrap());
    v2_refresh_refused(&env, &second).await;
    user_refresh_refused(&env, &second).await;
    // Logging in again works: a new family.
    env.clock.advance(Duration::seconds(1));
    let fresh = v2_refresh_token(&v2_login(&env).await);
    v2_refresh_ok(&env, &fresh).await;
}

#[tokio::test]
async fn disabling_revokes_even_if_re_enabled_before_the_next_refresh() {
    // Not-before semantics: the family dies at the disable, not at its next use.
    let env = TestEnv::new().await;
    let token = v2_refresh_token(&v2_login(&env).await);
    env.clock.advance(Duration::seconds(1));
    env.set_admin_enabled(false).await;
    env.set_admin_enabled(true).await;
    v2_refresh_refused(&env, &token).await;
}

#[tokio::test]
async fn a_password_change_kills_refresh() {
    let env = TestEnv::new().await;
    let first = user_refresh_token(&user_login(&env).await);
    env.clock.advance(Duration::minutes(2));
    let phc = make_user("other", "another password entirely", |_| {}).password_hash;
    assert!(env
        .store
        .set_password(&env.admin.username, &phc, START + Duration::minutes(1))
        .await
        .unwrap()
        .is_some());
    user_refresh_refused(&env, &first).await;
    assert_family_revoked(&env).await;
    v2_refresh_refused(&env, &first).await;
}

#[tokio::test]
async fn a_deleted_and_recreated_user_does_not_inherit_the_family() {
    let env = TestEnv::new().await;
    let first = v2_refresh_token(&v2_login(&env).await);
    assert!(env.store.delete_user(&env.admin.username).await.unwrap());
    env.add_user("Admin", PASSWORD, |u| {
        u.password_changed_at = START - Duration::days(2);
    })
    .await;
    v2_refresh_refused(&env, &first).await;
    assert_family_revoked(&env).await;
}

// ---- dialect-free families --------------------------------------------------

#[tokio::test]
async fn families_are_dialect_free() {
    let env = TestEnv::new().await;

    // User log in, user logout: the v2 route refuses the family.
    let u = user_refresh_token(&user_login(&env).await);
    let r = env.call(&user_logout(&u)).await;
    assert_eq!(r.text(), USER_LOGGED_OUT);
    v2_refresh_refused(&env, &u).await;

    // v2 log in, refreshed through the user route, revoked through v2.
    let v = v2_refresh_token(&v2_login(&env).await);
    let r = env.call(&user_refresh(&v)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = user_refresh_token(&r.json());
    let r = env.call(&v2_revoke(&v2)).await;
    assert_eq!(r.text(), V2_REVOKED);
    user_refresh_refused(&env, &v2).await;
}

// ---- storage faults ---------------------------------------------------------

#[tokio::test]
async fn storage_failure_is_a_clean_500() {
    let env = TestEnv::without_tables().await;
    let token = random_token();
    for (ev, expected) in [
        (v2_refresh(&token), V2_SERVER_ERROR),
        (v2_revoke(&token), V2_SERVER_ERROR),
        (user_refresh(&token), USER_SERVER_ERROR),
        (user_logout(&token), USER_SERVER_ERROR),
    ] {
        let r = env.call(&ev).await;
        assert_eq!(r.status, 500, "{}", r.text());
        assert_eq!(r.text(), expected);
        r.assert_json();
        r.assert_no_store();
    }
}

/// The family item's size as DynamoDB counts it: names and values in bytes.
fn item_bytes(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    A::S(s) | A::N(s) => s.len(),
                    A::Ss(set) => set.iter().map(String::len).sum(),
                    _ => 1,
                }
        })
        .sum()
}

async fn family_item(
    env: &TestEnv,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let items = env.issued_items().await;
    assert_eq!(items.len(), 1, "one family");
    items.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_family_stays_the_same_size_and_remembers_its_last_16_tokens() {
    let env = TestEnv::new().await;
    let mut tokens = vec![v2_refresh_token(&v2_login(&env).await)];
    let mut sizes = Vec::new();
    // K + 10 rotations.
    for _ in 0..26 {
        let r = env.call(&v2_refresh(tokens.last().unwrap())).await;
        assert_eq!(r.status, 200, "{}", r.text());
        tokens.push(v2_refresh_token(&r.json()));
        sizes.push(item_bytes(&family_item(&env).await));
    }
    // Full after 16 rotations; from then on the size does not move (the
    // generation gains a digit at 10, nothing more).
    assert_eq!(sizes[16], sizes[25], "{sizes:?}");
    assert!(sizes[25] < 1024, "{} bytes", sizes[25]);
    let item = family_item(&env).await;
    assert!(!item.contains_key("consumed"), "no ever-growing set");
    assert_eq!(item["generation"].as_n().unwrap(), "26");

    // tokens[0..26] are consumed; the last 16 are tokens[10..26]. An older one
    // is simply invalid: the family lives on.
    let r = env.call(&v2_refresh(&tokens[9])).await;
    assert_eq!(r.status, 401);
    let r = env.call(&v2_refresh(tokens.last().unwrap())).await;
    assert_eq!(
        r.status,
        200,
        "not revoked by a forgotten token: {}",
        r.text()
    );
    tokens.push(v2_refresh_token(&r.json()));
    // One of the last 16 is reuse: the whole family is revoked.
    assert_eq!(env.call(&v2_refresh(&tokens[12])).await.status, 401);
    assert_eq!(
        env.call(&v2_refresh(tokens.last().unwrap())).await.status,
        401,
        "the newest token died with its family"
    );
}

#[tokio::test]
async fn revoke_tokens_logs_a_user_out_everywhere_and_changes_nothing_else() {
    use token_issuer::admin::{user_command, Telling, UserCommand, UsernameArgs};
    let env = TestEnv::new().await;
    let v2 = v2_refresh_token(&v2_login(&env).await);
    let user = user_refresh_token(&user_login(&env).await);
    let session = env.call(&event("ops-acquire")).await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let args = UsernameArgs {
        username: "Admin".into(),
        password_stdin: false,
    };
    let now = env.app.issuer().now();
    user_command(
        &env.store,
        &Telling::Nobody("ISSUER"),
        UserCommand::RevokeTokens(args),
        now,
    )
    .await
    .unwrap();
    assert_eq!(env.call(&v2_refresh(&v2)).await.status, 401);
    assert_eq!(env.call(&user_refresh(&user)).await.status, 401);
    let cu = with_header(
        event("ops-currentuser"),
        "authorization",
        &format!("OpsToken {session}"),
    );
    assert_eq!(env.call(&cu).await.status, 401);
    // Same millisecond, same password: a new log in works and refreshes.
    let fresh = v2_refresh_token(&v2_login(&env).await);
    assert_eq!(env.call(&v2_refresh(&fresh)).await.status, 200);
}
