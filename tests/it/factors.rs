//! Second factors as stored (API §13), against DynamoDB Local: enrolment
//! once, each one-time code's step and each recovery code spent once, even
//! when many try at once, and nothing written to a user made again under
//! the same name.

use crate::common::*;
use token_issuer::core::record::factor::{RecoveryCode, TotpSecret};
use token_issuer::core::seal::Sealer as _;
use token_issuer::core::store::{AdminStore as _, FactorStore as _, TotpEnrolment, UserStore as _};
use token_issuer::keys::seal::FactorKey;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn factors_are_enrolled_once_and_each_code_is_spent_once() {
    let env = TestEnv::new().await;
    let (store, name, id) = (&env.store, &env.admin.username, env.admin.id);
    let key = FactorKey::ephemeral().unwrap();
    let secret = TotpSecret::generate().unwrap();
    let sealed = key.seal(secret.expose(), id.as_bytes()).unwrap();
    let codes = RecoveryCode::generate_set().unwrap();
    let hashes: Vec<String> = codes.iter().map(|c| c.hash()).collect();
    let at = env.app.issuer().now();
    let enrolment = TotpEnrolment {
        sealed: &sealed,
        step: 100,
        recovery: &hashes,
        at,
    };
    assert!(store.enrol_totp(name, id, &enrolment).await.unwrap());
    assert!(
        !store.enrol_totp(name, id, &enrolment).await.unwrap(),
        "a second enrolment over the first"
    );

    // What a log in reads back: the sealed secret opens for this user only.
    let user = store.get_user(name).await.unwrap().unwrap();
    assert!(user.needs_more_than_a_password());
    let f = &user.factors;
    assert_eq!(f.totp_last_step, Some(100));
    assert_eq!(f.enrolled_at, Some(at));
    let opened = key
        .open(f.totp_sealed.as_ref().unwrap(), id.as_bytes())
        .unwrap();
    assert_eq!(TotpSecret::from_bytes(&opened), Some(secret));
    let mut stored = f.recovery.clone();
    stored.sort();
    let mut made = hashes.clone();
    made.sort();
    assert_eq!(stored, made);
    // The account (what the authorizer may read) holds none of it.
    let account = store.get_account(name).await.unwrap().unwrap();
    assert!(!format!("{account:?}").contains("totp"));

    // The enrolling code's step is spent; a later one once; an earlier never.
    assert!(!store.use_totp_step(name, id, 100).await.unwrap());
    assert!(!store.use_totp_step(name, id, 99).await.unwrap());
    assert!(store.use_totp_step(name, id, 101).await.unwrap());
    assert!(!store.use_totp_step(name, id, 101).await.unwrap());
    // Sixteen posts of one code at once: one passes.
    let tries = (0..16).map(|_| store.use_totp_step(name, id, 102));
    let passed = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(passed, 1);

    // Each recovery code once, however many try it at once.
    assert!(store.use_recovery_code(name, id, &hashes[0]).await.unwrap());
    assert!(!store.use_recovery_code(name, id, &hashes[0]).await.unwrap());
    assert!(!store
        .use_recovery_code(name, id, "not-a-hash")
        .await
        .unwrap());
    let tries = (0..16).map(|_| store.use_recovery_code(name, id, &hashes[1]));
    let passed = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(passed, 1);
    let left = store
        .get_user(name)
        .await
        .unwrap()
        .unwrap()
        .factors
        .recovery;
    assert_eq!(left.len(), hashes.len() - 2);

    // Nothing lands on a user made again under the same name.
    let other = uuid::Uuid::new_v4();
    assert!(!store.use_totp_step(name, other, 500).await.unwrap());
    assert!(!store
        .use_recovery_code(name, other, &hashes[2])
        .await
        .unwrap());
    assert!(!store.enrol_totp(name, other, &enrolment).await.unwrap());

    // An operator's reset removes every factor; enrolling works again.
    assert!(store.reset_factors(name).await.unwrap());
    let user = store.get_user(name).await.unwrap().unwrap();
    assert_eq!(user.factors, Default::default());
    assert!(!user.needs_more_than_a_password());
    assert!(store.enrol_totp(name, id, &enrolment).await.unwrap());
    let nobody = token_issuer::core::record::user::Username::parse("nobody").unwrap();
    assert!(!store.reset_factors(&nobody).await.unwrap());
}

#[tokio::test]
async fn the_factor_policy_is_set_per_user_and_read_with_the_account() {
    let env = TestEnv::new().await;
    let (store, name) = (&env.store, &env.admin.username);
    assert!(store
        .set_factor_policy(name, Some(true), None)
        .await
        .unwrap());
    let account = store.get_account(name).await.unwrap().unwrap();
    assert!(account.mfa_required && !account.password_only);
    let user = store.get_user(name).await.unwrap().unwrap();
    assert!(user.needs_more_than_a_password(), "required, none enrolled");
    assert!(store
        .set_factor_policy(name, None, Some(true))
        .await
        .unwrap());
    let user = store.get_user(name).await.unwrap().unwrap();
    assert!(user.mfa_required && user.password_only);
    assert!(!user.needs_more_than_a_password(), "an operator's leave");
    assert!(store
        .set_factor_policy(name, Some(false), Some(false))
        .await
        .unwrap());
    let account = store.get_account(name).await.unwrap().unwrap();
    assert!(!account.mfa_required && !account.password_only);
    let nobody = token_issuer::core::record::user::Username::parse("nobody").unwrap();
    assert!(!store
        .set_factor_policy(&nobody, Some(true), None)
        .await
        .unwrap());
}

/// Each password-only route's request for the admin with `password`.
fn password_only_routes(
    password: &str,
    app_secret: &str,
) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "v2",
            login(
                "v2-login",
                json!({"username": "Admin", "password": password}),
            ),
        ),
        (
            "user",
            login(
                "user-authenticate",
                json!({"userName": "Admin", "password": password}),
            ),
        ),
        (
            "ops",
            login(
                "ops-acquire",
                json!({"username": "Admin", "password": password, "authSource": "local"}),
            ),
        ),
        (
            "oauth password grant",
            oauth_event(
                "oauth-token-password",
                &[
                    ("grant_type", "password"),
                    ("username", "Admin"),
                    ("password", password),
                ],
                Some(("app", app_secret)),
            ),
        ),
    ]
}

/// Each route's status and body for the admin with `password`.
async fn statuses(env: &TestEnv, secret: &str, password: &str) -> Vec<(&'static str, u16, String)> {
    let mut out = Vec::new();
    for (route, request) in password_only_routes(password, secret) {
        let r = env.call(&request).await;
        out.push((route, r.status, r.text()));
    }
    out
}

#[tokio::test]
async fn the_password_only_routes_refuse_a_user_with_a_second_factor_as_a_wrong_password() {
    use token_issuer::core::record::client::GrantType;
    let env = TestEnv::new().await;
    let secret = env
        .add_client("app", false, &GrantType::ALL, "openid")
        .await
        .unwrap();
    let (store, name, id) = (&env.store, &env.admin.username, env.admin.id);
    let wrong = statuses(&env, &secret, "a wrong password entirely").await;
    for (route, status, _) in &wrong {
        assert!(*status == 400 || *status == 401, "{route}: {status}");
    }
    // Enrolled: the right password gets the wrong password's answer, byte
    // for byte, on every route.
    let enrolment = TotpEnrolment {
        sealed: b"sealed",
        step: 1,
        recovery: &[],
        at: env.app.issuer().now(),
    };
    assert!(store.enrol_totp(name, id, &enrolment).await.unwrap());
    assert_eq!(statuses(&env, &secret, PASSWORD).await, wrong);
    // An operator's leave (a service account): the password alone works.
    assert!(store
        .set_factor_policy(name, None, Some(true))
        .await
        .unwrap());
    for (route, status, body) in statuses(&env, &secret, PASSWORD).await {
        assert_eq!(status, 200, "{route}: {body}");
    }
    // Required but not enrolled is refused the same way, until allowed.
    assert!(store.reset_factors(name).await.unwrap());
    assert!(store
        .set_factor_policy(name, Some(true), Some(false))
        .await
        .unwrap());
    assert_eq!(statuses(&env, &secret, PASSWORD).await, wrong);
}
