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

/// The login page of `request`, signed in with the admin's password: the
/// next page (the code step, the enrolment, or a redirect).
async fn password_step(env: &TestEnv, request: &[(&'static str, String)]) -> Reply {
    let page = env.call(&authorize_get(request)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    env.call(&authorize_post(&login_form(&page, "Admin", PASSWORD)))
        .await
}

/// The second step's form on `page` with `code`.
fn code_form(page: &Reply, code: &str) -> Vec<(&'static str, String)> {
    let mut fields = hidden_fields(&page.text());
    fields.push(("code", code.into()));
    fields
}

/// The text of the element with id `id` on `page`.
fn element_text(page: &Reply, id: &str) -> String {
    let html = page.text();
    let start = html.find(&format!("id=\"{id}\"")).expect(id);
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..open + rest[open..].find('<').unwrap()].to_string()
}

/// The recovery codes an enrolment page shows.
fn recovery_codes(page: &Reply) -> Vec<String> {
    let html = page.text();
    let list = &html[html.find("id=\"recovery\"").unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<code>")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_string())
        .collect()
}

fn secret_of(page: &Reply) -> TotpSecret {
    let text = element_text(page, "secret");
    // Base32 back to bytes, the way an app reads the typed key.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut buffer, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes() {
        buffer = (buffer << 5) | alphabet.iter().position(|a| *a == c).unwrap() as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    TotpSecret::from_bytes(&out).unwrap()
}

fn code_now(env: &TestEnv, secret: &TotpSecret, steps: i64) -> String {
    let now = env.app.issuer().now();
    let step = token_issuer::core::record::factor::step_of(now).unwrap();
    secret.code_at(step.checked_add_signed(steps).unwrap())
}

#[tokio::test]
async fn a_user_enrols_at_the_page_then_signs_in_with_a_code_and_the_tokens_say_so() {
    let env = TestEnv::new().await;
    let secret = env
        .add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    // An app that asks for a second factor: the admin has none, so enrols.
    let request = set(authorization("web"), "acr_values", Some("mfa"));
    let enrol = password_step(&env, &request).await;
    assert_eq!(enrol.status, 200, "{}", enrol.text());
    let html = enrol.text();
    assert!(
        html.contains("<svg") && html.contains("otpauth://totp/"),
        "{html}"
    );
    assert!(!html.contains("<script"));
    let totp = secret_of(&enrol);
    let codes = recovery_codes(&enrol);
    assert_eq!(codes.len(), 10);
    // Nothing is stored until a code confirms it.
    let stored = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.factors.has_any());

    // A wrong code shows the same secret and codes again.
    let wrong = env
        .call(&authorize_post(&code_form(&enrol, "000000")))
        .await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.text().contains("That code is not right"));
    assert_eq!(secret_of(&wrong), totp);
    assert_eq!(recovery_codes(&wrong), codes);

    let done = env
        .call(&authorize_post(&code_form(
            &enrol,
            &code_now(&env, &totp, 0),
        )))
        .await;
    let tokens = redeem_web(&env, &done, &secret).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], "mfa");
    let access = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["acr"], "mfa");
    let stored = env
        .store
        .get_user(&env.admin.username)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.factors.has_any());
    assert_eq!(stored.factors.recovery.len(), 10);

    // From now on every page sign-in asks for a code, whatever the app.
    env.clock.advance(time::Duration::seconds(60));
    let request = authorization("web");
    let step = password_step(&env, &request).await;
    assert_eq!(step.status, 200, "{}", step.text());
    assert!(step.text().contains("Enter your code"));
    // The code of the step just used is refused (a replay); one step
    // early or late is taken; then that step's code is spent.
    let early = code_now(&env, &totp, -1);
    let r = env.call(&authorize_post(&code_form(&step, &early))).await;
    redeem_web(&env, &r, &secret).await;
    let r = env.call(&authorize_post(&code_form(&step, &early))).await;
    assert!(r.text().contains("That code is not right"), "a replay");
    let late = code_now(&env, &totp, 1);
    let r = env.call(&authorize_post(&code_form(&step, &late))).await;
    redeem_web(&env, &r, &secret).await;
    let two_late = code_now(&env, &totp, 2);
    let r = env
        .call(&authorize_post(&code_form(&step, &two_late)))
        .await;
    assert!(r.text().contains("That code is not right"), "two steps off");

    // A recovery code works once, typed in any case.
    let r = env
        .call(&authorize_post(&code_form(&step, &codes[3].to_lowercase())))
        .await;
    let tokens = redeem_web(&env, &r, &secret).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["acr"],
        "mfa"
    );
    let r = env
        .call(&authorize_post(&code_form(&step, &codes[3])))
        .await;
    assert!(r.text().contains("That code is not right"), "used once");

    // A password-only sign-in elsewhere is refused now.
    let r = env
        .call(&login(
            "v2-login",
            serde_json::json!({"username": "Admin", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn wrong_codes_count_under_the_lockout_and_a_forged_step_is_refused() {
    let env = TestEnv::new().await;
    env.add_client("web", false, CODE_FLOW, "openid")
        .await
        .unwrap();
    assert!(env
        .store
        .set_factor_policy(&env.admin.username, Some(true), None)
        .await
        .unwrap());
    let request = set(authorization("web"), "scope", Some("openid"));
    let enrol = password_step(&env, &request).await;
    assert!(
        enrol.text().contains("Set up two-step sign-in"),
        "{}",
        enrol.text()
    );
    // Thirty wrong codes at once: at most the pair's ten are checked, the
    // rest are refused as locked.
    let post = authorize_post(&code_form(&enrol, "123456"));
    let tries = (0..30).map(|_| env.call(&post));
    let replies = futures_util::future::join_all(tries).await;
    let wrong = replies.iter().filter(|r| r.status == 200).count();
    let locked = replies.iter().filter(|r| r.status == 429).count();
    assert!(wrong <= 10, "{wrong} codes checked");
    assert_eq!(wrong + locked, 30);
    assert!(replies
        .iter()
        .filter(|r| r.status == 429)
        .all(|r| r.header("retry-after").is_some()));
    // A token altered, or for another user, starts the sign-in over.
    let mut forged = code_form(&enrol, "123456");
    for (k, v) in forged.iter_mut() {
        if *k == "username" {
            *v = "someone-else".into();
        }
    }
    let r = env.call(&authorize_post(&forged)).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("expired"), "{}", r.text());
}

#[tokio::test]
async fn a_client_that_requires_a_second_factor_gets_one_at_the_page_and_no_password_grant() {
    use token_issuer::core::record::client::{ClientId, GrantType};
    let env = TestEnv::new().await;
    let secret = env
        .add_client("web", false, &GrantType::ALL, "openid")
        .await
        .unwrap();
    let id = ClientId::parse("web").unwrap();
    let grant = || {
        oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "Admin"),
                ("password", PASSWORD),
            ],
            Some(("web", &secret)),
        )
    };
    let before = env.call(&grant()).await;
    assert_eq!(before.status, 200, "{}", before.text());
    assert!(env
        .store
        .set_client_requirements(&id, true, false)
        .await
        .unwrap());
    // The page enrols the admin, though neither user nor request asks.
    let request = set(authorization("web"), "scope", Some("openid"));
    let step = password_step(&env, &request).await;
    assert!(
        step.text().contains("Set up two-step sign-in"),
        "{}",
        step.text()
    );
    // The password grant cannot ask for a code: a wrong password's answer.
    let wrong = env
        .call(&oauth_event(
            "oauth-token-password",
            &[
                ("grant_type", "password"),
                ("username", "Admin"),
                ("password", "not the password at all"),
            ],
            Some(("web", &secret)),
        ))
        .await;
    let refused = env.call(&grant()).await;
    assert_eq!(
        (refused.status, refused.text()),
        (wrong.status, wrong.text())
    );
    // Unless an operator allows the user a password alone.
    assert!(env
        .store
        .set_factor_policy(&env.admin.username, None, Some(true))
        .await
        .unwrap());
    assert_eq!(env.call(&grant()).await.status, 200);
}
