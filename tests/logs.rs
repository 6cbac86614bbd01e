//! A full run's logs are structured (request id, route, dialect, outcome for
//! every request) and hold none of the secrets used in it.

// The harness is shared by several test and bench crates; each uses a part.
#[allow(dead_code)]
mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use token_issuer::admin::{
    client_command, user_command, ClientCommand, ClientIdArgs, Telling, UserCommand, UsernameArgs,
};
use token_issuer::core::record::client::GrantType;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn ops_token(ev: Value, token: &str) -> Value {
    with_header(ev, "authorization", &format!("OpsToken {token}"))
}

#[tokio::test]
async fn logs_are_structured_and_secret_free() {
    let logs = Captured::default();
    // Everything, the AWS SDK's trace output included.
    token_issuer::telemetry::init_json_with("trace".parse().unwrap(), logs.clone());

    // A signing key whose private part must not reach the logs either.
    let pem = token_issuer::keys::generate_pem().unwrap();
    let keys = token_issuer::keys::KeySet::from_pem(pem.as_bytes()).unwrap();
    let mut env = TestEnv::with_keys(|_| {}, keys).await;
    env.key_pem = Some(pem.clone());
    let env = env;
    let wrong = "a-wrong-password-that-must-not-be-logged";
    let mut secrets = vec![PASSWORD.to_string(), wrong.to_string()];
    let requests = std::cell::Cell::new(0);
    // The first request as the runtime delivers it: with its invocation's ids.
    requests.set(requests.get() + 1);
    let v2 = env
        .call_as(
            &event("v2-login"),
            Some(("lambda-req-1", "Root=1-5f84c7a1-0123456789abcdef01234567")),
        )
        .await
        .json();
    let call = |ev: Value| {
        requests.set(requests.get() + 1);
        let env = &env;
        async move { env.call(&ev).await }
    };

    let user = call(event("user-authenticate")).await.json();
    let ops = call(event("ops-acquire")).await.json();
    let r1 = v2["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let r2 = user["refreshToken"].as_str().unwrap().to_string();
    let ot = ops["token"].as_str().unwrap().to_string();
    secrets.extend([
        r1.clone(),
        r2.clone(),
        ot.clone(),
        v2["content"][0]["token"].as_str().unwrap().to_string(),
        user["accessToken"].as_str().unwrap().to_string(),
    ]);

    let refreshed = call(with_body(
        event("v2-refresh"),
        &json!({"refreshToken": r1}).to_string(),
    ))
    .await
    .json();
    let r3 = refreshed["content"][0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.push(r3.clone());
    secrets.push(
        refreshed["content"][0]["token"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    // Reuse (five presentations of the consumed token at once: one revokes
    // the family), revoke, logout, sessions, failures, a lockout and
    // malformed input.
    let reuse = || {
        with_body(
            event("v2-refresh"),
            &json!({"refreshToken": r1}).to_string(),
        )
    };
    let (a, b, c, d, e) = (
        call(reuse()),
        call(reuse()),
        call(reuse()),
        call(reuse()),
        call(reuse()),
    );
    let answers = tokio::join!(a, b, c, d, e);
    for r in [answers.0, answers.1, answers.2, answers.3, answers.4] {
        assert_eq!(r.status, 401, "{}", r.text());
    }
    call(with_body(
        event("v2-revoke"),
        &json!({"refreshToken": r3}).to_string(),
    ))
    .await;
    call(with_body(
        event("user-logout"),
        &json!({"refreshToken": r2}).to_string(),
    ))
    .await;
    call(ops_token(event("ops-currentuser"), &ot)).await;
    call(ops_token(event("ops-release"), &ot)).await;
    call(ops_token(event("ops-currentuser"), &ot)).await;
    for _ in 0..11 {
        call(login(
            "v2-login",
            json!({"username": "admin", "password": wrong}),
        ))
        .await;
    }
    call(login(
        "user-authenticate",
        json!({"userName": "admin", "password": 5, "x": wrong}),
    ))
    .await;
    call(with_body(
        event("v2-login"),
        &format!("{{\"username\":\"admin\",\"password\":\"{wrong}\""),
    ))
    .await;
    call(event("not-found")).await;
    // The oauth dialect: a client secret and its tokens, then the authorizer.
    let client_secret = env
        .add_client("app", false, &GrantType::ALL, "openid")
        .await
        .unwrap();
    secrets.push(client_secret.clone());
    // Another user: the admin is locked by now.
    env.add_user("reader", PASSWORD, |_| {}).await;
    let grant = call(oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "password"),
            ("username", "reader"),
            ("password", PASSWORD),
        ],
        Some(("app", &client_secret)),
    ))
    .await
    .json();
    for key in ["access_token", "refresh_token", "id_token"] {
        secrets.push(grant[key].as_str().unwrap().to_string());
    }
    call(oauth_event(
        "oauth-introspect",
        &[("token", grant["access_token"].as_str().unwrap())],
        Some(("app", &client_secret)),
    ))
    .await;
    call(oauth_event(
        "oauth-token-password",
        &[("grant_type", "client_credentials")],
        Some(("app", "a-wrong-client-secret-never-logged")),
    ))
    .await;
    secrets.push("a-wrong-client-secret-never-logged".into());
    // A password typed into the username field: no such user, so the log
    // keeps a keyed hash of the name, never its text.
    let typed = "Tr0ub4dor&3-typed-as-a-username";
    let r = call(oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "password"),
            ("username", typed),
            ("password", "whatever-was-typed-next"),
        ],
        Some(("app", &client_secret)),
    ))
    .await;
    assert_eq!(r.status, 400);
    secrets.extend([typed.to_string(), typed.to_lowercase()]);
    let authorizer = env.authorizer(|_| {});
    let authorizer_event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/authorizer/bearer-valid.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let mut decision_event = authorizer_event.clone();
    decision_event["headers"]["authorization"] = json!(format!(
        "Bearer {}",
        grant["access_token"].as_str().unwrap()
    ));
    assert_eq!(
        authorizer.handle(decision_event.clone()).await["isAuthorized"],
        true
    );
    decision_event["headers"]["authorization"] = json!(format!("OpsToken {ot}"));
    assert_eq!(
        authorizer.handle(decision_event).await["isAuthorized"],
        false
    );
    // Spraying and a known browser, on a function whose limits are 2 (so a
    // few requests reach them), over the same tables.
    let alt = TestEnv::on_store(
        {
            let mut c = env.config.clone();
            c.lockout_address_threshold = 2;
            c.lockout_user_threshold = 2;
            c
        },
        env.store.clone(),
    )
    .await;
    let alt_call = |ev: Value, ip: &str, device: Option<&str>| {
        requests.set(requests.get() + 1);
        let mut ev = ev;
        ev["requestContext"]["http"]["sourceIp"] = json!(ip);
        if let Some(d) = device {
            ev["cookies"] = json!([format!("__Host-device={d}")]);
        }
        let alt = &alt;
        async move { alt.call(&ev).await }
    };
    let carol_pw = "carols-own-password-never-logged 2037";
    secrets.push(carol_pw.into());
    env.add_user("carol", carol_pw, |_| {}).await;
    let web = env
        .add_client("web", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    secrets.push(web.clone());
    let page = alt_call(authorize_get(&authorization("web")), "192.0.2.50", None).await;
    assert_eq!(page.status, 200, "{}", page.text());
    secrets.push(hidden_field(&page.text(), "form_token").expect("a form token"));
    // A passkey nobody registered: a second factor's failure.
    let mut passkey: Vec<(&'static str, String)> = hidden_fields(&page.text())
        .into_iter()
        .filter(|(k, _)| *k != "form_token")
        .collect();
    let challenge = hidden_field(&page.text(), "passkey_token").expect("a passkey form");
    passkey.push(("passkey_token", challenge));
    for k in [
        "credential_id",
        "client_data",
        "authenticator_data",
        "signature",
        "user_handle",
    ] {
        passkey.push((k, "AAAA".into()));
    }
    let r = alt_call(authorize_post(&passkey), "192.0.2.51", None).await;
    assert!(r.text().contains("That passkey could not sign you in"));
    let signed_in = alt_call(
        authorize_post(&login_form(&page, "carol", carol_pw)),
        "192.0.2.50",
        None,
    )
    .await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.text());
    let device = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("__Host-device="))
        .and_then(|v| v.split(';').next())
        .expect("a device cookie")
        .to_string();
    secrets.push(device.clone());
    // The code, redeemed with its PKCE verifier, then replayed by its own
    // client: the family is revoked and `code_replayed` says so.
    let code = signed_in
        .header("location")
        .unwrap()
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    secrets.extend([code.clone(), VERIFIER.to_string()]);
    let redeem = || {
        oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
            Some(("web", &web)),
        )
    };
    let redeemed = alt_call(redeem(), "192.0.2.50", None).await;
    assert_eq!(redeemed.status, 200, "{}", redeemed.text());
    let redeemed = redeemed.json();
    for key in ["access_token", "refresh_token", "id_token"] {
        secrets.push(redeemed[key].as_str().unwrap().to_string());
    }
    assert_eq!(alt_call(redeem(), "192.0.2.50", None).await.status, 400);
    // An ops password change: the current and the new password, and the session.
    let dave_pw = "daves-first-password-never-logged 2037";
    let dave_new = "daves-second-password-never-logged 2037";
    env.add_user("dave", dave_pw, |_| {}).await;
    let acquired = alt_call(
        login(
            "ops-acquire",
            json!({"username": "dave", "password": dave_pw, "authSource": "local"}),
        ),
        "192.0.2.50",
        None,
    )
    .await;
    assert_eq!(acquired.status, 200, "{}", acquired.text());
    let dave_session = acquired.json()["token"].as_str().unwrap().to_string();
    let changed = alt_call(
        with_body(
            ops_token(event("ops-passwordchange"), &dave_session),
            &json!({"currentPassword": dave_pw, "newPassword": dave_new}).to_string(),
        ),
        "192.0.2.50",
        None,
    )
    .await;
    assert_eq!(changed.status, 204, "{}", changed.text());
    secrets.extend([dave_pw.into(), dave_new.into(), dave_session]);
    for ip in ["198.18.0.1", "198.18.0.2"] {
        let ev = login(
            "v2-login",
            json!({"username": "carol", "password": "wrong"}),
        );
        assert_eq!(alt_call(ev, ip, None).await.status, 401);
    }
    let page = alt_call(authorize_get(&authorization("web")), "192.0.2.50", None).await;
    let r = alt_call(
        authorize_post(&login_form(&page, "carol", carol_pw)),
        "192.0.2.50",
        Some(&device),
    )
    .await;
    assert_eq!(r.status, 302, "the known browser passes the lock");
    // Single sign-on and log out: the first sign-in's browser session gives
    // a second app its code, then ends; one app hears of it through its
    // back channel, the other's endpoint fails.
    let session = signed_in
        .cookie("__Host-session")
        .expect("a session cookie");
    secrets.push(session.clone());
    let web2 = env
        .add_client("web2", false, CODE_FLOW, "openid profile")
        .await
        .unwrap();
    secrets.push(web2);
    let (heard, mut logout_tokens) = tokio::sync::mpsc::unbounded_channel();
    for (client, status) in [("web", 200), ("web2", 500)] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!(
            "http://127.0.0.1:{}/bc",
            listener.local_addr().unwrap().port()
        );
        let heard = heard.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if let Some(req) = common::front::read_request(&mut stream).await {
                    let _ = heard.send(String::from_utf8_lossy(&req.body).into_owned());
                    common::front::write_response(&mut stream, status, &[], b"").await;
                }
            }
        });
        let logout =
            token_issuer::core::record::client::LogoutUris::parse(&[], Some(&uri)).unwrap();
        let id = token_issuer::core::record::client::ClientId::parse(client).unwrap();
        use token_issuer::core::store::AdminStore as _;
        assert!(env.store.set_client_logout(&id, &logout).await.unwrap());
    }
    let mut silent = authorize_get(&authorization("web2"));
    silent["cookies"] = json!([format!("__Host-session={session}")]);
    let r = alt_call(silent, "192.0.2.50", None).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let silent_code = r
        .header("location")
        .unwrap()
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    secrets.push(silent_code);
    let mut out = authorize_query(&form(&[(
        "id_token_hint",
        redeemed["id_token"].as_str().unwrap(),
    )]));
    out["rawPath"] = json!("/oauth2/logout");
    out["requestContext"]["http"]["path"] = json!("/oauth2/logout");
    out["cookies"] = json!([format!("__Host-session={session}")]);
    let r = alt_call(out, "192.0.2.50", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for _ in 0..2 {
        let body = logout_tokens.recv().await.unwrap();
        secrets.push(body.trim_start_matches("logout_token=").to_string());
    }
    for name in ["sprayed-1", "sprayed-2", "sprayed-3"] {
        let ev = login(
            "v2-login",
            json!({"username": name, "password": "Summer2037!"}),
        );
        alt_call(ev, "198.51.100.99", None).await;
    }
    // Admin changes, as token-admin makes them.
    let now = env.app.issuer().now();
    for cmd in [
        UserCommand::Disable(admin_args()),
        UserCommand::Enable(admin_args()),
        UserCommand::Unlock(admin_args()),
        UserCommand::RevokeTokens(admin_args()),
        UserCommand::Delete(admin_args()),
    ] {
        user_command(&env.store, &Telling::Nobody("ISSUER"), cmd, now)
            .await
            .unwrap();
    }
    env.add_client("spare", false, &GrantType::ALL, "openid")
        .await;
    let spare = || ClientIdArgs {
        client_id: "spare".into(),
    };
    for cmd in [
        ClientCommand::Disable(spare()),
        ClientCommand::Enable(spare()),
        ClientCommand::Delete(spare()),
    ] {
        client_command(&env.store, cmd, now).await.unwrap();
    }
    // A refusal of no named kind (a scope the client may not have).
    call(oauth_event(
        "oauth-token-password",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "not-allowed"),
        ],
        Some(("app", &client_secret)),
    ))
    .await;
    // Storage gone: a server error, and the authorizer's storage fault.
    let access = grant["access_token"].as_str().unwrap().to_string();
    env.store
        .client()
        .delete_table()
        .table_name(&env.config.store.tokens_table)
        .send()
        .await
        .unwrap();
    let failed = call(with_body(
        event("v2-refresh"),
        &json!({"refreshToken": r3}).to_string(),
    ))
    .await;
    assert_eq!(failed.status, 500);
    let mut fault_event = authorizer_event.clone();
    fault_event["headers"]["authorization"] = json!(format!("Bearer {access}"));
    let fault_answer = authorizer.handle(fault_event).await;
    assert_eq!(fault_answer["isAuthorized"], false);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs");
        // Not even a JWT's signature or a token's first half.
        if let Some(sig) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(!text.contains(sig));
        }
        assert!(!text.contains(&secret[..secret.len() / 2]));
    }

    // One structured line per request, with the fields the operator needs.
    let request_lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["route"].is_string())
        .collect();
    assert_eq!(request_lines.len(), requests.get());
    for line in &request_lines {
        let f = &line["fields"];
        assert!(
            f["request_id"].as_str().is_some_and(|s| !s.is_empty()),
            "{line}"
        );
        assert!(f["status"].is_u64(), "{line}");
        assert!(
            f["outcome"].is_string() || f["message"].is_string(),
            "{line}"
        );
        if f["route"] != "none" {
            assert!(f["dialect"].is_string(), "{line}");
        }
    }
    assert!(request_lines.iter().any(|l| l["fields"]["status"] == 429));

    // The invocation's ids are on every line of its request.
    let first: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["span"]["requestId"] == "lambda-req-1")
        .collect();
    assert!(
        first.len() >= 2,
        "the request line and its audit event: {first:?}"
    );
    for line in &first {
        assert_eq!(
            line["span"]["xrayTraceId"],
            "Root=1-5f84c7a1-0123456789abcdef01234567"
        );
    }

    // Metrics: one EMF document per request and per authorization, each
    // valid by the format's schema and naming only the metrics it holds.
    let schema: Value = serde_json::from_str(include_str!("fixtures/emf.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    let issuer_docs: Vec<&Value> = docs
        .iter()
        .filter(|d| d["Service"] == "token-issuer")
        .collect();
    assert_eq!(
        issuer_docs.len(),
        requests.get(),
        "one document per request"
    );
    for doc in &docs {
        assert!(validator.is_valid(doc), "{doc}");
        for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], token_issuer::metrics::NAMESPACE);
            for set in directive["Dimensions"].as_array().unwrap() {
                for d in set.as_array().unwrap() {
                    assert!(
                        doc[d.as_str().unwrap()].is_string(),
                        "dimension {d} in {doc}"
                    );
                }
            }
            for m in directive["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                assert!(doc[name].is_number(), "metric {name} in {doc}");
                assert!(
                    token_issuer::metrics::METRICS
                        .iter()
                        .any(|(n, _)| *n == name),
                    "{name} is a declared metric"
                );
            }
        }
    }
    let with = |route: &str, metric: &str| -> Vec<&Value> {
        issuer_docs
            .iter()
            .copied()
            .filter(|d| d["Route"] == route && d[metric] == 1)
            .collect()
    };
    // A log in, with the invocation's ids; the first document is the cold start.
    let login = with("v2.login", "Success");
    assert_eq!(login.len(), 1);
    assert_eq!(login[0]["requestId"], "lambda-req-1");
    assert_eq!(
        login[0]["traceId"],
        "Root=1-5f84c7a1-0123456789abcdef01234567"
    );
    assert_eq!(login[0]["ColdStart"], 1);
    assert_eq!(
        issuer_docs
            .iter()
            .filter(|d| d.get("ColdStart").is_some())
            .count(),
        1
    );
    assert!(login[0]["Latency"].as_f64().unwrap() > 0.0);
    // Failed log ins (the admin's ten, carol's two, two sprayed), the ones
    // that started a lock, and the locked ones.
    assert_eq!(with("v2.login", "InvalidCredentials").len(), 14);
    let locks: Vec<&&Value> = issuer_docs
        .iter()
        .filter(|d| d.get("LockStarts").is_some())
        .collect();
    assert_eq!(
        locks.len(),
        2,
        "the admin's pair at ten, carol's username at two"
    );
    assert!(locks.iter().all(|d| d["InvalidCredentials"] == 1));
    assert_eq!(
        with("v2.login", "Locked").len(),
        2,
        "the admin, the spent address"
    );
    let spent: Vec<&&Value> = issuer_docs
        .iter()
        .filter(|d| d.get("AddressLocks").is_some())
        .collect();
    assert_eq!(
        spent.len(),
        1,
        "the second sprayed failure spends the budget"
    );
    assert_eq!(
        (
            spent[0]["AddressLocks"].clone(),
            spent[0]["InvalidCredentials"].clone()
        ),
        (json!(1), json!(1))
    );
    let passed: Vec<&&Value> = issuer_docs
        .iter()
        .filter(|d| d.get("KnownDevicePasses").is_some())
        .collect();
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0]["Route"], "oauth.authorize-submit");
    // Reuse detected: of the five refused refreshes, the one that revoked
    // the family counts, once per family, not once per presentation.
    let reuse: Vec<&&Value> = issuer_docs
        .iter()
        .filter(|d| d.get("ReuseDetected").is_some())
        .collect();
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0]["ReuseDetected"], 1);
    assert_eq!(with("v2.refresh", "InvalidRefresh").len(), 5);
    assert_eq!(reuse[0]["Route"], "v2.refresh");
    assert_eq!(reuse[0]["InvalidRefresh"], 1);
    assert_eq!(with("none", "NotFound").len(), 1);
    assert_eq!(with("user.authenticate", "InvalidRequest").len(), 1);
    assert_eq!(with("v2.login", "InvalidRequest").len(), 1);
    assert_eq!(with("ops.currentuser", "InvalidSession").len(), 1);
    assert_eq!(with("oauth.token", "InvalidClient").len(), 1);
    // The scope no client may have, and the replayed code.
    assert_eq!(with("oauth.token", "OtherRefusal").len(), 2);
    assert_eq!(with("v2.refresh", "ServerError").len(), 1);
    assert_eq!(with("v2.revoke", "Success").len(), 1);
    // Every outcome a request can have, and each notable event, was written.
    for (name, _) in token_issuer::metrics::METRICS {
        assert!(
            docs.iter().any(|d| d.get(*name).is_some()),
            "{name} was emitted by some request"
        );
    }
    // The authorizer's decisions, the same way.
    let decided: Vec<&Value> = docs
        .iter()
        .filter(|d| d["Service"] == "token-authorizer")
        .collect();
    assert_eq!(decided.len(), 3);
    assert_eq!(decided[0]["Allowed"], 1);
    assert_eq!(decided[1]["Denied"], 1);
    assert_eq!(decided[1]["Reason"], "invalid_session");
    assert_eq!(decided[2]["Reason"], "storage_fault");
    assert_eq!(decided[2]["StorageFault"], 1);

    // One decision line per authorization, with its reason when refused.
    let decisions: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["decision"].is_string())
        .map(|v| v["fields"].clone())
        .collect();
    assert_eq!(decisions.len(), 3, "{decisions:?}");
    assert_eq!(decisions[0]["decision"], "allow");
    assert_eq!(decisions[0]["dialect"], "oauth");
    assert_eq!(decisions[0]["client_id"], "app");
    assert!(decisions[0]["elapsed_ms"].is_f64());
    assert_eq!(decisions[1]["decision"], "deny");
    assert_eq!(decisions[1]["reason"], "invalid_session");

    // Audit events: a stable name each, with who and from where.
    let all_audit: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["event"].is_string())
        .map(|v| v["fields"].clone())
        .collect();
    // The spraying and known-browser part came from addresses of its own.
    let alt_ips = ["192.0.2.50", "198.18.0.1", "198.18.0.2", "198.51.100.99"];
    let (alt_audit, audit): (Vec<Value>, Vec<Value>) = all_audit
        .into_iter()
        .partition(|f| alt_ips.iter().any(|ip| f["source_ip"] == *ip));
    let named =
        |name: &str| -> Vec<&Value> { audit.iter().filter(|f| f["event"] == name).collect() };
    let alt_named =
        |name: &str| -> Vec<&Value> { alt_audit.iter().filter(|f| f["event"] == name).collect() };
    // Carol's two failures lock her username (limit 2 there); her known
    // browser passes; the sprayed address spends its budget of 2 on the
    // second unknown name and is refused for the third.
    let carol_locks = alt_named("lock_started");
    assert_eq!(carol_locks.len(), 1, "{carol_locks:?}");
    assert_eq!(carol_locks[0]["scope"], "username");
    assert_eq!(carol_locks[0]["username"], "carol");
    let passed = alt_named("known_device_passed_lock");
    assert_eq!(passed.len(), 1, "{alt_audit:?}");
    assert_eq!(passed[0]["username"], "carol");
    assert_eq!(passed[0]["source_ip"], "192.0.2.50");
    assert_eq!(passed[0]["dialect"], "oauth");
    let ended = alt_named("browser_session_ended");
    assert_eq!(ended.len(), 1, "{alt_audit:?}");
    assert_eq!(ended[0]["username"], "carol");
    assert_eq!(ended[0]["families_revoked"], 2);
    let delivered = alt_named("backchannel_logout_delivered");
    assert_eq!(delivered.len(), 1, "{alt_audit:?}");
    assert_eq!(delivered[0]["client_id"], "web");
    let failed = alt_named("backchannel_logout_failed");
    assert_eq!(failed.len(), 1, "{alt_audit:?}");
    assert_eq!(failed[0]["client_id"], "web2");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("500"),
        "{failed:?}"
    );
    let spent = alt_named("address_locked");
    assert_eq!(spent.len(), 1, "{alt_audit:?}");
    assert_eq!(spent[0]["source_ip"], "198.51.100.99");
    assert_eq!(spent[0]["retry_after"], 900);
    assert!(spent[0]["username"]
        .as_str()
        .unwrap()
        .starts_with("unknown:"));
    let sprayed = alt_named("login_failed")
        .into_iter()
        .filter(|f| f["source_ip"] == "198.51.100.99")
        .map(|f| f["reason"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(
        sprayed,
        ["invalid_credentials", "invalid_credentials", "locked"]
    );
    let admin_id = env.admin.id.to_string();
    let from_request = |f: &Value| {
        assert!(
            f["request_id"].as_str().is_some_and(|s| !s.is_empty()),
            "{f}"
        );
        assert_eq!(f["source_ip"], "203.0.113.10", "{f}");
        assert!(f["dialect"].is_string(), "{f}");
    };
    let succeeded = named("login_succeeded");
    assert_eq!(succeeded.len(), 4, "v2, user, ops and oauth log ins");
    for f in &succeeded[..3] {
        from_request(f);
        assert_eq!(f["user_id"], admin_id.as_str());
        assert_eq!(f["username"], "admin");
    }
    from_request(succeeded[3]);
    assert_eq!(succeeded[3]["username"], "reader");
    assert_eq!(succeeded[3]["dialect"], "oauth");
    let failed = named("login_failed");
    assert_eq!(failed.len(), 12);
    let (failed, unknown): (Vec<_>, Vec<_>) =
        failed.into_iter().partition(|f| f["username"] == "admin");
    for f in &failed {
        from_request(f);
        assert_eq!(f["user_id"], admin_id.as_str());
    }
    // The unknown name: a stable keyed hash, no user id.
    assert_eq!(unknown.len(), 1);
    from_request(unknown[0]);
    let shown = unknown[0]["username"].as_str().unwrap();
    assert!(
        shown.starts_with("unknown:") && shown.len() == "unknown:".len() + 22,
        "{shown}"
    );
    assert_eq!(unknown[0]["user_id"], "");
    assert_eq!(
        failed
            .iter()
            .filter(|f| f["reason"] == "invalid_credentials")
            .count(),
        10
    );
    assert_eq!(failed.iter().filter(|f| f["reason"] == "locked").count(), 1);
    let locks = named("lock_started");
    assert_eq!(locks.len(), 1, "{locks:?}");
    from_request(locks[0]);
    assert_eq!(locks[0]["scope"], "pair");
    assert_eq!(locks[0]["retry_after"], 60);
    // Each presentation that found the family live says so; only the one
    // whose revocation took effect says it revoked the family.
    let reuse = named("refresh_reuse_detected");
    assert!((1..=5).contains(&reuse.len()), "{reuse:?}");
    for r in &reuse {
        from_request(r);
        assert_eq!(r["user_id"], admin_id.as_str());
    }
    let revoking: Vec<_> = reuse
        .iter()
        .filter(|r| r["family_revoked"] == true)
        .collect();
    assert_eq!(revoking.len(), 1, "{reuse:?}");
    // The v2 revoke came after the reuse had revoked that family already.
    let revoked = named("token_revoked");
    assert_eq!(revoked.len(), 1);
    from_request(revoked[0]);
    assert_eq!(revoked[0]["dialect"], "user");
    let released = named("session_released");
    assert_eq!(released.len(), 1);
    from_request(released[0]);
    assert_eq!(released[0]["user_id"], admin_id.as_str());
    for name in [
        "admin_user_disabled",
        "admin_user_enabled",
        "admin_user_unlocked",
        "admin_tokens_revoked",
        "admin_user_deleted",
    ] {
        let lines = named(name);
        assert_eq!(lines.len(), 1, "{name}");
        assert_eq!(lines[0]["username"], "admin", "{name}");
    }
    for name in [
        "admin_client_disabled",
        "admin_client_enabled",
        "admin_client_deleted",
    ] {
        let lines = named(name);
        assert_eq!(lines.len(), 1, "{name}");
        assert_eq!(lines[0]["client_id"], "spare", "{name}");
    }
    // The replayed code: its own client presented it again, so its family
    // was revoked; and the ops password change.
    let replayed = alt_named("code_replayed");
    assert_eq!(replayed.len(), 1, "{alt_audit:?}");
    assert_eq!(replayed[0]["dialect"], "oauth");
    assert!(replayed[0]["family"]
        .as_str()
        .is_some_and(|f| !f.is_empty()));
    let changed = alt_named("password_changed");
    assert_eq!(changed.len(), 1, "{alt_audit:?}");
    assert_eq!(changed[0]["username"], "dave");
    assert_eq!(changed[0]["dialect"], "ops");
    // Nor any line of the private key.
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !text.contains(line),
            "a line of the signing key reached the logs"
        );
    }
    // No audit line carries a hash or a token either.
    let phc = &env.admin.password_hash;
    assert!(!text.contains(phc.as_str()));
    assert!(!text.contains(&phc[phc.len() - 20..]));
}

fn admin_args() -> UsernameArgs {
    UsernameArgs {
        username: "Admin".into(),
        password_stdin: false,
    }
}
