//! Dialect ops: acquire, currentuser (sliding 6 h), release.

use crate::common::*;
use serde_json::{json, Value};
use time::Duration;

fn ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn with_token(name: &str, token: &str) -> Value {
    with_header(event(name), "authorization", &format!("OpsToken {token}"))
}

/// The status `GET /api/auth/currentuser` answers for `token`.
async fn current_user_status(env: &TestEnv, token: &str) -> u16 {
    env.call(&with_token("ops-currentuser", token)).await.status
}

async fn acquire(env: &TestEnv) -> String {
    let r = env.call(&event("ops-acquire")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn acquire_has_the_vendor_shape() {
    let env = TestEnv::new().await;
    let r = env.call(&event("ops-acquire")).await;
    assert_eq!(r.status, 200);
    r.assert_json();
    r.assert_no_store();
    let b = r.json();
    assert!(r.text().starts_with(r#"{"token":""#));
    let token = b["token"].as_str().unwrap();
    assert!(token.len() >= 43);
    assert!(token
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    let expiry = START + Duration::hours(6);
    assert_eq!(b["validity"], ms(expiry));
    assert_eq!(b["expiresAt"], "Sunday, November 22, 2037 6:00:00 PM UTC");
    assert_eq!(b["roles"], json!(["Administrator", "Auditor"]));
    assert_eq!(b.as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn auth_source_defaults_to_local_and_compares_case_insensitively() {
    let env = TestEnv::new().await;
    for source in [json!(null), json!(""), json!("LOCAL"), json!("Local")] {
        let body = json!({"username": "admin", "password": PASSWORD, "authSource": source});
        let r = env.call(&login("ops-acquire", body)).await;
        assert_eq!(r.status, 200, "{source}");
    }
    assert_eq!(
        env.call(&event("ops-acquire-no-auth-source")).await.status,
        200
    );

    env.add_user("ldapuser", PASSWORD, |u| u.auth_source = "LDAP".into())
        .await;
    let ok = json!({"username": "ldapuser", "password": PASSWORD, "authSource": "ldap"});
    assert_eq!(env.call(&login("ops-acquire", ok)).await.status, 200);
    let absent = json!({"username": "ldapuser", "password": PASSWORD});
    assert_eq!(env.call(&login("ops-acquire", absent)).await.status, 401);
}

#[tokio::test]
async fn credential_failures_are_identical_empty_401s() {
    let env = TestEnv::new().await;
    env.add_user("disabled", PASSWORD, |u| u.enabled = false)
        .await;
    let cases = [
        event("ops-acquire-wrong-auth-source"),
        login(
            "ops-acquire",
            json!({"username": "admin", "password": "wrong"}),
        ),
        login(
            "ops-acquire",
            json!({"username": "nobody", "password": PASSWORD}),
        ),
        login(
            "ops-acquire",
            json!({"username": "disabled", "password": PASSWORD}),
        ),
    ];
    for ev in &cases {
        let r = env.call(ev).await;
        assert_eq!(r.status, 401);
        assert!(r.body.is_empty());
        assert_eq!(
            r.header("content-type"),
            None,
            "an empty body has no content type"
        );
        r.assert_no_store();
        assert_eq!(r.headers.len(), 2);
    }
    assert!(env.issued_items().await.is_empty());
}

#[tokio::test]
async fn current_user_answers_and_slides_the_session() {
    let env = TestEnv::new().await;
    let token = acquire(&env).await;

    env.clock.advance(Duration::hours(5));
    let r = env.call(&with_token("ops-currentuser", &token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.assert_json();
    r.assert_no_store();
    let b = r.json();
    assert_eq!(
        b,
        json!({
            "id": env.admin.id.to_string(),
            "username": "admin",
            "enabled": true,
            "roleNames": ["Administrator", "Auditor"],
            "lastLoginTime": ms(START),
            "emailAddress": "admin@admin",
        })
    );
    // Slid to (START + 5 h) + 6 h: still good 5 h later, 11 h after acquire.
    env.clock.advance(Duration::hours(5));
    assert_eq!(current_user_status(&env, &token).await, 200);
    // Now idle for 6 h and a millisecond: refused although the item still exists.
    env.clock
        .advance(Duration::hours(6) + Duration::milliseconds(1));
    let r = env.call(&with_token("ops-currentuser", &token)).await;
    assert_eq!(r.status, 401);
    assert!(r.body.is_empty());
    assert_eq!(
        env.issued_items().await.len(),
        1,
        "TTL has not deleted it; the read refuses it"
    );
}

#[tokio::test]
async fn session_expires_six_hours_after_last_use() {
    let env = TestEnv::new().await;
    let token = acquire(&env).await;
    env.clock
        .advance(Duration::hours(6) - Duration::milliseconds(1));
    assert_eq!(current_user_status(&env, &token).await, 200);
    env.clock.advance(Duration::hours(6));
    assert_eq!(current_user_status(&env, &token).await, 401);
}

#[tokio::test]
async fn release_ends_the_session_at_once() {
    let env = TestEnv::new().await;
    let token = acquire(&env).await;
    let r = env.call(&with_token("ops-release", &token)).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), None);
    r.assert_no_store();
    let r = env.call(&with_token("ops-currentuser", &token)).await;
    assert_eq!(r.status, 401);
    assert!(r.body.is_empty());
    // Released is released: a second release is refused like any invalid token.
    assert_eq!(
        env.call(&with_token("ops-release", &token)).await.status,
        401
    );
    assert!(env.issued_items().await.is_empty());
}

#[tokio::test]
async fn bad_or_missing_tokens_get_an_empty_401() {
    let env = TestEnv::new().await;
    let token = acquire(&env).await;
    let cases = [
        event("ops-currentuser-no-token"),
        event("ops-currentuser"), // the placeholder token
        with_header(
            event("ops-currentuser"),
            "authorization",
            &format!("Bearer {token}"),
        ),
        with_header(event("ops-currentuser"), "authorization", "OpsToken"),
        with_header(event("ops-currentuser"), "authorization", "OpsToken "),
        with_token("ops-currentuser", &format!("{token}x")),
        with_token("ops-currentuser", &"A".repeat(43)),
        without_header(event("ops-release"), "authorization"),
        event("ops-release"),
    ];
    for ev in &cases {
        let r = env.call(ev).await;
        assert_eq!(r.status, 401, "{}", ev["headers"]);
        assert!(r.body.is_empty());
        r.assert_no_store();
    }
    // The vRealizeOpsToken prefix is accepted too.
    let ev = with_header(
        event("ops-currentuser"),
        "authorization",
        &format!("vRealizeOpsToken {token}"),
    );
    assert_eq!(env.call(&ev).await.status, 200);
}

#[tokio::test]
async fn session_is_stored_hashed_with_expiry_and_ttl() {
    let env = TestEnv::new().await;
    let token = acquire(&env).await;
    let items = env.issued_items().await;
    assert_eq!(items.len(), 1);
    let dump = format!("{:?}", items[0]);
    assert!(!dump.contains(&token));
    assert!(items[0]["pk"].as_s().unwrap().starts_with("OS#"));
    let expiry = START + Duration::hours(6);
    assert_eq!(
        items[0]["ttl"].as_n().unwrap(),
        &expiry.unix_timestamp().to_string()
    );
    assert_eq!(
        items[0]["expires_at"].as_n().unwrap(),
        &ms(expiry).to_string()
    );
}

#[tokio::test]
async fn a_disabled_users_session_stops_working() {
    use token_issuer::core::store::AdminStore as _;
    let env = TestEnv::new().await;
    let token = acquire(&env).await;
    env.set_admin_enabled(false).await;
    assert_eq!(current_user_status(&env, &token).await, 401);
    env.store
        .set_enabled(&env.admin.username, true, env.app.issuer().now())
        .await
        .unwrap();
    assert_eq!(
        current_user_status(&env, &token).await,
        401,
        "the session was ended, not just paused"
    );
}

#[tokio::test]
async fn disabling_ends_sessions_even_if_re_enabled_before_their_next_use() {
    let env = TestEnv::new().await;
    let token = acquire(&env).await;
    env.clock.advance(Duration::seconds(1));
    env.set_admin_enabled(false).await;
    env.set_admin_enabled(true).await;
    assert_eq!(current_user_status(&env, &token).await, 401);
    // A new session after re-enabling works.
    env.clock.advance(Duration::seconds(1));
    let fresh = acquire(&env).await;
    assert_eq!(current_user_status(&env, &fresh).await, 200);
}

#[tokio::test]
async fn storage_failure_is_a_clean_500() {
    let env = TestEnv::without_tables().await;
    let r = env.call(&event("ops-acquire")).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        r#"{"message":"Internal error","httpStatusCode":500,"apiErrorCode":500}"#
    );
    r.assert_no_store();
    let r = env
        .call(&with_token("ops-currentuser", &"A".repeat(43)))
        .await;
    assert_eq!(r.status, 500);
}
