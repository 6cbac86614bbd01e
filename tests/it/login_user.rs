//! Dialect user log in (`POST /api/user/authenticate`) against DynamoDB Local.

use crate::common::*;
use base64::Engine;
use serde_json::json;

const INVALID_CREDENTIALS: &str =
    r#"{"responseKey":"INVALID_CREDENTIALS","responseMessage":"Invalid user name or password"}"#;

fn is_seven_digit_utc(s: &str) -> bool {
    // 2020-07-09T23:12:29.3560169Z
    s.len() == 28
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && s[20..27].bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test]
async fn success_has_the_vendor_shape() {
    let env = TestEnv::new().await;
    let r = env.call(&event("user-authenticate")).await;
    let b = r.assert_user_grant();
    assert_eq!(
        b["userName"], "admin",
        "as the vendor documents: Admin logs in, admin comes back"
    );
    assert_eq!(b["email"], "admin@admin");
    assert_eq!(b["fullName"], "Admin");
    assert_eq!(b["role"], 2);
    // START is 12:00:00.123456789. The access token's expiry is its `exp`,
    // whole seconds; the refresh token keeps milliseconds, as they are stored.
    assert_eq!(b["accessTokenExpiryTime"], "2037-11-22T13:00:00.0000000Z");
    assert_eq!(b["refreshTokenExpiryTime"], "2037-12-22T12:00:00.1230000Z");
    assert!(is_seven_digit_utc(
        b["accessTokenExpiryTime"].as_str().unwrap()
    ));
    let refresh = b["refreshToken"].as_str().unwrap();
    assert!(base64::engine::general_purpose::STANDARD
        .decode(refresh)
        .is_ok());

    let claims = verify_access_token(
        &env,
        b["accessToken"].as_str().unwrap(),
        &format!("https://{API_DOMAIN}"),
    )
    .await;
    // accessTokenExpiryTime is exactly the instant of exp.
    assert_eq!(claims["exp"], START.unix_timestamp() + 3600);
    let shown = time::OffsetDateTime::parse(
        b["accessTokenExpiryTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        shown.unix_timestamp_nanos(),
        i128::from(claims["exp"].as_i64().unwrap()) * 1_000_000_000
    );
    assert_eq!(claims["username"], "admin");
}

#[tokio::test]
async fn every_credential_failure_is_byte_identical() {
    let env = TestEnv::new().await;
    env.add_user("disabled", PASSWORD, |u| u.enabled = false)
        .await;
    let cases = [
        event("user-authenticate-wrong-password"),
        login(
            "user-authenticate",
            json!({"userName": "nobody", "password": PASSWORD}),
        ),
        login(
            "user-authenticate",
            json!({"userName": "Disabled", "password": PASSWORD}),
        ),
        login(
            "user-authenticate",
            json!({"userName": "admin", "password": "x"}),
        ),
    ];
    for ev in &cases {
        let r = env.call(ev).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.text(), INVALID_CREDENTIALS);
        assert_eq!(r.headers.len(), 3);
        r.assert_no_store();
    }
}

#[tokio::test]
async fn the_field_is_user_name_with_a_capital_n() {
    let env = TestEnv::new().await;
    let r = env
        .call(&login(
            "user-authenticate",
            json!({"username": "admin", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"responseKey":"INVALID_REQUEST","responseMessage":"Invalid HTTP request"}"#
    );
}

#[tokio::test]
async fn storage_failure_is_a_clean_500() {
    let env = TestEnv::without_tables().await;
    let r = env.call(&event("user-authenticate")).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        r#"{"responseKey":"SERVER_ERROR","responseMessage":"Server is temporarily unavailable"}"#
    );
    r.assert_no_store();
}
