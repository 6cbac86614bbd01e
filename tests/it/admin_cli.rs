//! `token-admin`, the real binary, against DynamoDB Local.

use crate::common::*;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use token_issuer::compose;
use token_issuer::core::store::UserStore;

struct Admin {
    users: String,
    tokens: String,
    endpoint: String,
    /// What every successful run wrote to stderr: its audit events.
    stderr: std::cell::RefCell<String>,
}

impl Admin {
    fn new() -> Self {
        Self {
            users: unique("users"),
            tokens: unique("tokens"),
            endpoint: endpoint(),
            stderr: Default::default(),
        }
    }

    /// Each of `events` was written as an audit event by some run.
    fn assert_audited(&self, events: &[&str]) {
        let stderr = self.stderr.borrow();
        for event in events {
            assert!(
                stderr.contains(&format!("event=\"{event}\"")),
                "no {event} in: {stderr}"
            );
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(args, stdin, &[])
    }

    /// A run with `env` set besides the tables' settings.
    fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        // `tables create` is for local use (the template makes the tables in
        // AWS), so it runs outside the operators' policy.
        let identity = if args.first() == Some(&"tables") {
            "local"
        } else {
            ADMIN_IDENTITY
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_token-admin"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", identity)
            .env("USERS_TABLE", &self.users)
            .env("TOKENS_TABLE", &self.tokens)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.endpoint)
            .env_remove("ISSUER")
            .env_remove("SIGNING_KEY_FILE")
            .env_remove("SIGNING_KEY_SECRET_ID")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run token-admin");
        {
            let mut pipe = child.stdin.take().unwrap();
            if let Some(input) = stdin {
                pipe.write_all(input.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "token-admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.stderr
            .borrow_mut()
            .push_str(&String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Fails with one line on stderr containing `needle`.
    fn fails(&self, args: &[&str], stdin: Option<&str>, needle: &str) {
        let out = self.run(args, stdin);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "token-admin {args:?} should fail");
        assert!(
            err.contains(needle),
            "token-admin {args:?}: {err:?} lacks {needle:?}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    }

    async fn app(&self) -> TestEnv {
        // Creating the tables again is a no-op; this proves it too.
        let (u, t) = (self.users.clone(), self.tokens.clone());
        TestEnv::with_config(move |c| {
            c.store.users_table = u;
            c.store.tokens_table = t;
        })
        .await
    }
}

#[tokio::test]
async fn tables_create_is_idempotent() {
    let admin = Admin::new();
    admin.fails(&["user", "list"], None, "does not exist");
    let first = admin.ok(&["tables", "create"], None);
    assert!(first.contains("created"), "{first}");
    let second = admin.ok(&["tables", "create"], None);
    assert!(second.contains("already exists"), "{second}");
    let desc = client()
        .await
        .describe_time_to_live()
        .table_name(&admin.tokens)
        .send()
        .await
        .unwrap();
    let ttl = desc.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert!(
        second.contains("index `sessions_by_user` present"),
        "{second}"
    );
}

#[tokio::test]
async fn tables_create_adds_the_sessions_index_to_a_table_made_before_it() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let admin = Admin::new();
    // A tokens table as `tables create` made it before the index existed.
    client()
        .await
        .create_table()
        .table_name(&admin.tokens)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let out = admin.ok(&["tables", "create"], None);
    assert!(
        out.contains(&format!("{}: already exists", admin.tokens))
            && out.contains("index `sessions_by_user` added"),
        "{out}"
    );
    // Requested as the template defines it (DynamoDB builds it meanwhile).
    let desc = client()
        .await
        .describe_table()
        .table_name(&admin.tokens)
        .send()
        .await
        .unwrap();
    let index = desc
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some("sessions_by_user"))
        .expect("the index");
    assert_eq!(index.key_schema()[0].attribute_name(), "session_user");
    assert_eq!(
        index.projection().and_then(|p| p.projection_type()),
        Some(&aws_sdk_dynamodb::types::ProjectionType::KeysOnly)
    );
    // Asked again, it is not requested twice.
    let again = admin.ok(&["tables", "create"], None);
    assert!(!again.contains("added"), "{again}");
}

#[tokio::test]
async fn user_lifecycle_through_the_cli_and_the_handler() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let out = admin.ok(
        &[
            "user",
            "create",
            "--username",
            "Ethan.Buckley@datastoreltd.biz",
            "--password-stdin",
            "--full-name",
            "Ethan Buckley",
            "--email",
            "ethan@example.com",
            "--role",
            "3",
            "--roles",
            "Administrator,ReadOnly",
            "--customer-id",
            "e7fcef24-5c03-41dd-9e33-995b7d6f47a7",
        ],
        Some("S0qUx56pW!-and-more\n"),
    );
    assert!(
        out.contains("created user ethan.buckley@datastoreltd.biz"),
        "{out}"
    );
    admin.fails(
        &[
            "user",
            "create",
            "--username",
            "ETHAN.BUCKLEY@datastoreltd.biz",
            "--password-stdin",
        ],
        Some("another strong passphrase 42"),
        "already exists",
    );
    let list = admin.ok(&["user", "list"], None);
    assert!(list.contains("ethan.buckley@datastoreltd.biz"), "{list}");
    assert!(list.contains("Administrator,ReadOnly"), "{list}");

    let env = admin.app().await;
    // TestEnv seeded its own `admin` user in these tables too; ethan is the CLI's.
    let login = |pw: &str| {
        login(
            "v2-login",
            json!({"username": "ethan.buckley@datastoreltd.biz", "password": pw}),
        )
    };
    let r = env.call(&login("S0qUx56pW!-and-more")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["content"][0]["customerId"],
        "e7fcef24-5c03-41dd-9e33-995b7d6f47a7"
    );
    let user = env.call(&login_user("S0qUx56pW!-and-more")).await.json();
    assert_eq!(user["fullName"], "Ethan Buckley");
    assert_eq!(user["role"], 3);

    let ethan = "ethan.buckley@datastoreltd.biz";
    let refresh_event = |t: &str| {
        with_body(
            event("v2-refresh"),
            &json!({ "refreshToken": t }).to_string(),
        )
    };
    let refresh_of = |r: Reply| -> String {
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["content"][0]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The CLI stamps revocations with the wall clock; run the handler on it too.
    env.clock.set(time::OffsetDateTime::now_utc());
    let refresh = refresh_of(env.call(&login("S0qUx56pW!-and-more")).await);

    admin.ok(&["user", "disable", "--username", ethan], None);
    assert_eq!(env.call(&login("S0qUx56pW!-and-more")).await.status, 401);
    admin.ok(&["user", "enable", "--username", ethan], None);
    // Disable revoked the family for good; a new log in starts a new one.
    assert_eq!(env.call(&refresh_event(&refresh)).await.status, 401);
    env.clock.set(time::OffsetDateTime::now_utc());
    let refresh = refresh_of(env.call(&login("S0qUx56pW!-and-more")).await);
    let refresh = refresh_of(env.call(&refresh_event(&refresh)).await);

    admin.ok(
        &[
            "user",
            "set-password",
            "--username",
            ethan,
            "--password-stdin",
        ],
        Some("a different long passphrase 7\n"),
    );
    admin.assert_audited(&["admin_user_created", "admin_password_set"]);
    assert_eq!(env.call(&login("S0qUx56pW!-and-more")).await.status, 401);
    assert_eq!(
        env.call(&refresh_event(&refresh)).await.status,
        401,
        "set-password revokes the user's families"
    );
    env.clock.set(time::OffsetDateTime::now_utc());
    let new_pw = login("a different long passphrase 7");
    assert_eq!(env.call(&new_pw).await.status, 200);

    admin.ok(
        &[
            "user",
            "delete",
            "--username",
            "ethan.buckley@datastoreltd.biz",
        ],
        None,
    );
    assert_eq!(
        env.call(&login("a different long passphrase 7"))
            .await
            .status,
        401
    );
    admin.fails(
        &[
            "user",
            "delete",
            "--username",
            "ethan.buckley@datastoreltd.biz",
        ],
        None,
        "no user",
    );
    admin.fails(&["user", "disable", "--username", "ghost"], None, "no user");
}

fn login_user(pw: &str) -> serde_json::Value {
    login(
        "user-authenticate",
        json!({"userName": "ethan.buckley@datastoreltd.biz", "password": pw}),
    )
}

#[tokio::test]
async fn passwords_are_checked_and_stored_as_argon2id() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let create = |name: &str| -> Vec<String> {
        ["user", "create", "--username", name, "--password-stdin"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let args = create("weak");
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    admin.fails(&argv, Some("password\n"), "password refused");
    admin.fails(&argv, Some("short1\n"), "shorter than 8");
    admin.fails(&argv, Some(&"Zq9!".repeat(300)), "longer than 1024 bytes");
    admin.fails(&argv, Some(""), "empty");
    admin.fails(
        &["user", "create", "--username", "nostdin"],
        None,
        "--password-stdin",
    );
    admin.fails(
        &["user", "create", "--username", " ", "--password-stdin"],
        Some("x"),
        "invalid username",
    );

    // Spaces inside are kept; one trailing newline is dropped.
    admin.ok(&argv, Some("  spaced out pass phrase  \n"));
    let store = compose::store(client().await, &test_store(&admin));
    let user = store
        .get_user(&token_issuer::core::record::user::Username::parse("weak").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user
        .password_hash
        .starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
    assert!(user.enabled);
    assert_eq!(user.auth_source, "local");
    let hasher = token_issuer::core::password::Hasher::new();
    let pw = |s: &str| token_issuer::core::password::Password::parse(s).unwrap();
    assert!(hasher.verify(&pw("  spaced out pass phrase  "), Some(&user.password_hash)));
    assert!(!hasher.verify(&pw("spaced out pass phrase"), Some(&user.password_hash)));
}

fn test_store(admin: &Admin) -> token_issuer::config::StoreConfig {
    token_issuer::config::StoreConfig {
        users_table: admin.users.clone(),
        tokens_table: admin.tokens.clone(),
    }
}

#[tokio::test]
async fn clear_errors_for_configuration_and_network() {
    let admin = Admin::new();
    // Unreachable endpoint: a closed port.
    let mut bad = Admin::new();
    bad.endpoint = "http://127.0.0.1:9".into();
    let started = std::time::Instant::now();
    bad.fails(&["user", "list"], None, "cannot reach DynamoDB");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    // Missing configuration names the setting.
    let out = Command::new(env!("CARGO_BIN_EXE_token-admin"))
        .args(["user", "list"])
        .env_remove("USERS_TABLE")
        .env("TOKENS_TABLE", &admin.tokens)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("USERS_TABLE is not set"));
}

#[tokio::test]
async fn show_and_unlock_a_locked_username() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    admin.ok(
        &["user", "create", "--username", "Carol", "--password-stdin"],
        Some("S0qUx56pW!-and-more\n"),
    );
    let out = admin.ok(&["user", "show", "--username", "carol"], None);
    assert!(out.contains("lock\tnone"), "{out}");
    let env = admin.app().await;
    let attempt = |pw: &str| login("v2-login", json!({"username": "carol", "password": pw}));
    for _ in 0..10 {
        assert_eq!(env.call(&attempt("wrong password")).await.status, 401);
    }
    assert_eq!(env.call(&attempt("S0qUx56pW!-and-more")).await.status, 429);

    let out = admin.ok(&["user", "show", "--username", "Carol"], None);
    assert!(out.contains("username\tcarol"), "{out}");
    assert!(out.contains("lock\taddress: locked until "), "{out}");
    assert!(
        out.contains("lock\tusername: not locked; 10 failure(s)"),
        "{out}"
    );
    assert!(!out.contains("$argon2"), "no hash in {out}");

    let out = admin.ok(&["user", "unlock", "--username", "CAROL"], None);
    assert!(out.contains("unlocked carol (2 record(s)"), "{out}");
    assert!(admin
        .ok(&["user", "show", "--username", "carol"], None)
        .contains("lock\tnone"));
    assert_eq!(env.call(&attempt("S0qUx56pW!-and-more")).await.status, 200);
    admin.fails(
        &["user", "show", "--username", "nobody"],
        None,
        "no user nobody",
    );
}

#[tokio::test]
async fn clients_are_registered_rotated_disabled_and_deleted_with_the_cli() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let out = admin.ok(
        &[
            "client",
            "create",
            "--client-id",
            "svc",
            "--grant-types",
            "client_credentials,password",
            "--scopes",
            "api:read api:write",
        ],
        None,
    );
    let secret_of = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("client_secret\t"))
            .expect("the secret is printed")
            .to_string()
    };
    let first = secret_of(&out);
    assert_eq!(first.len(), 43);
    for listing in [
        admin.ok(&["client", "list"], None),
        admin.ok(&["client", "show", "--client-id", "svc"], None),
    ] {
        assert!(listing.contains("svc"), "{listing}");
        assert!(listing.contains("confidential"), "{listing}");
        assert!(
            !listing.contains(&first),
            "never the secret again: {listing}"
        );
    }
    let show = admin.ok(&["client", "show", "--client-id", "svc"], None);
    assert!(
        show.contains("grant_types\tclient_credentials,password"),
        "{show}"
    );
    assert!(show.contains("scopes\tapi:read api:write"), "{show}");

    let env = admin.app().await;
    let grant = |secret: &str| {
        oauth_event(
            "oauth-token-client-credentials",
            &[("grant_type", "client_credentials")],
            Some(("svc", secret)),
        )
    };
    let r = env.call(&grant(&first)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["scope"], "api:read api:write");

    let second = secret_of(&admin.ok(&["client", "rotate-secret", "--client-id", "svc"], None));
    assert_ne!(first, second);
    admin.assert_audited(&["admin_client_created", "admin_client_secret_rotated"]);
    assert_eq!(env.call(&grant(&first)).await.status, 401, "old secret");
    assert_eq!(env.call(&grant(&second)).await.status, 200, "new secret");

    admin.ok(&["client", "disable", "--client-id", "svc"], None);
    assert_eq!(env.call(&grant(&second)).await.status, 401);
    admin.ok(&["client", "enable", "--client-id", "svc"], None);
    assert_eq!(env.call(&grant(&second)).await.status, 200);
    admin.ok(&["client", "delete", "--client-id", "svc"], None);
    assert_eq!(env.call(&grant(&second)).await.status, 401);

    // A public client has no secret to print or rotate.
    let out = admin.ok(
        &["client", "create", "--client-id", "native", "--public"],
        None,
    );
    assert!(!out.contains("client_secret"), "{out}");
    assert!(out.contains("public"), "{out}");
    admin.fails(
        &["client", "rotate-secret", "--client-id", "native"],
        None,
        "public",
    );
    admin.fails(
        &[
            "client",
            "create",
            "--client-id",
            "bad",
            "--public",
            "--grant-types",
            "client_credentials",
        ],
        None,
        "public client cannot use client_credentials",
    );
    admin.fails(
        &["client", "create", "--client-id", "native", "--public"],
        None,
        "already exists",
    );
    admin.fails(
        &[
            "client",
            "create",
            "--client-id",
            "x",
            "--grant-types",
            "implicit",
        ],
        None,
        "unknown grant type",
    );
    admin.fails(
        &["client", "create", "--client-id", "a b"],
        None,
        "--client-id",
    );

    // A web app: redirect URIs and a display name, shown back; the login
    // page then names it.
    let out = admin.ok(
        &[
            "client",
            "create",
            "--client-id",
            "web",
            "--name",
            "Acme Projects",
            "--grant-types",
            "authorization_code,refresh_token",
            "--redirect-uri",
            "https://projects.acme.example/cb",
            "--redirect-uri",
            "http://localhost:8080/cb",
        ],
        None,
    );
    assert!(out.contains("client_secret\t"), "{out}");
    let show = admin.ok(&["client", "show", "--client-id", "web"], None);
    assert!(show.contains("name\tAcme Projects"), "{show}");
    assert!(
        show.contains("redirect_uri\thttps://projects.acme.example/cb\nredirect_uri\thttp://localhost:8080/cb"),
        "{show}"
    );
    assert!(
        show.contains("grant_types\tauthorization_code,refresh_token"),
        "{show}"
    );
    let page = env
        .call(&{
            let mut ev = event("oauth-authorize");
            let q = form(&[
                ("response_type", "code"),
                ("client_id", "web"),
                ("redirect_uri", "http://localhost:8080/cb"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ]);
            ev["rawQueryString"] = serde_json::Value::String(q);
            ev
        })
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Acme Projects"));
    for (args, why) in [
        (
            vec!["--grant-types", "authorization_code"],
            "needs at least one --redirect-uri",
        ),
        (
            vec!["--redirect-uri", "https://a.example/cb"],
            "only for clients with the authorization_code grant",
        ),
        (
            vec![
                "--grant-types",
                "authorization_code",
                "--redirect-uri",
                "http://a.example/cb",
            ],
            "https://",
        ),
        (
            vec![
                "--grant-types",
                "authorization_code",
                "--redirect-uri",
                "https://a.example/cb#x",
            ],
            "fragment",
        ),
        (vec!["--name", ""], "--name"),
    ] {
        let mut full = vec!["client", "create", "--client-id", "web2"];
        full.extend(args);
        admin.fails(&full, None, why);
    }
    admin.fails(
        &["client", "create", "--client-id", "x", "--scopes", "a\"b"],
        None,
        "--scopes",
    );
    admin.fails(
        &["client", "show", "--client-id", "nobody"],
        None,
        "no client nobody",
    );
    admin.fails(
        &["client", "delete", "--client-id", "nobody"],
        None,
        "no client nobody",
    );
}

/// An address that spent its budget across usernames is refused until its
/// window passes, or until an operator lifts it.
#[tokio::test]
async fn an_operator_lifts_a_spent_address_budget() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let (u, t) = (admin.users.clone(), admin.tokens.clone());
    let env = TestEnv::with_config(move |c| {
        c.store.users_table = u;
        c.store.tokens_table = t;
        c.lockout_address_threshold = 2;
    })
    .await;
    let from = |user: &str, password: &str| {
        let mut ev = login("v2-login", json!({"username": user, "password": password}));
        ev["requestContext"]["http"]["sourceIp"] = json!("198.51.100.23");
        ev
    };
    for name in ["first", "second"] {
        assert_eq!(env.call(&from(name, "wrong")).await.status, 401);
    }
    assert_eq!(env.call(&from("admin", PASSWORD)).await.status, 429);
    admin.fails(&["address", "unlock", "--address", " "], None, "--address");
    let out = admin.ok(&["address", "unlock", "--address", "198.51.100.23"], None);
    assert!(out.contains("unlocked address 198.51.100.23"), "{out}");
    admin.assert_audited(&["admin_address_unlocked"]);
    assert_eq!(env.call(&from("admin", PASSWORD)).await.status, 200);
}

/// Where a client hears of log outs, set at creation and replaced later;
/// a user's browser sessions listed, and ended by `revoke-tokens`.
async fn alice(env: &TestEnv) -> token_issuer::core::record::user::User {
    let name = token_issuer::core::record::user::Username::parse("alice").unwrap();
    env.store.get_user(&name).await.unwrap().unwrap()
}

// Several threads: the app's back-channel receiver answers while the
// test waits for the tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_uris_and_browser_sessions_through_the_cli() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let out = admin.ok(
        &[
            "client",
            "create",
            "--client-id",
            "web",
            "--grant-types",
            "authorization_code",
            "--redirect-uri",
            REDIRECT_URI,
            "--post-logout-redirect-uri",
            "https://app.example.com/signed-out",
            "--backchannel-logout-uri",
            "https://app.example.com/backchannel",
        ],
        None,
    );
    assert!(
        out.contains("post_logout_redirect_uri\thttps://app.example.com/signed-out"),
        "{out}"
    );
    assert!(
        out.contains("backchannel_logout_uri\thttps://app.example.com/backchannel"),
        "{out}"
    );
    let out = admin.ok(
        &[
            "client",
            "update",
            "--client-id",
            "web",
            "--post-logout-redirect-uri",
            "http://localhost:8080/bye",
        ],
        None,
    );
    assert!(
        out.contains("post_logout_redirect_uri\thttp://localhost:8080/bye"),
        "{out}"
    );
    assert!(
        !out.contains("signed-out") && !out.contains("backchannel_logout_uri"),
        "{out}"
    );
    admin.fails(
        &[
            "client",
            "update",
            "--client-id",
            "web",
            "--backchannel-logout-uri",
            "http://app.example.com/bc",
        ],
        None,
        "--backchannel-logout-uri",
    );
    admin.fails(
        &[
            "client",
            "create",
            "--client-id",
            "api",
            "--post-logout-redirect-uri",
            "https://app.example.com/bye",
        ],
        None,
        "only for clients with the authorization_code grant",
    );
    admin.fails(
        &["client", "update", "--client-id", "nobody"],
        None,
        "no client nobody",
    );

    // A sign-in at the page starts a session; the CLI lists it, and
    // revoke-tokens ends it.
    admin.ok(
        &["user", "create", "--username", "Alice", "--password-stdin"],
        Some(PASSWORD),
    );
    let env = admin.app().await;
    // The client may have `openid` only, its default.
    let request = set(authorization("web"), "scope", Some("openid"));
    let page = env.call(&authorize_get(&request)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let r = env
        .call(&authorize_post(&login_form(&page, "alice", PASSWORD)))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let out = admin.ok(&["user", "sessions", "--username", "alice"], None);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].starts_with("session\tstate\t"), "{out}");
    assert!(
        rows[1].contains("\tlive\t") && rows[1].ends_with("\tpwd\tweb"),
        "{out}"
    );
    // Without the issuer's settings the session ends, and the tool says
    // its apps were not told.
    let out = admin.run(&["user", "revoke-tokens", "--username", "alice"], None);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ended 1 browser session(s); their apps were not told")
            && err.contains("needs ISSUER"),
        "{err}"
    );
    let out = admin.ok(&["user", "sessions", "--username", "alice"], None);
    assert!(out.lines().nth(1).unwrap().contains("\tended\t"), "{out}");

    // With them (the function's ISSUER and signing key), each of disable
    // and set-password ends the new session and sends the app its logout
    // token, which verifies with the function's published keys.
    let (uri, mut heard) = backchannel_receiver(Some(200)).await;
    admin.ok(
        &[
            "client",
            "update",
            "--client-id",
            "web",
            "--backchannel-logout-uri",
            &uri,
        ],
        None,
    );
    let dir = std::env::temp_dir().join(unique("admin-key"));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.pem");
    std::fs::write(&key_file, env.key_pem.as_deref().unwrap()).unwrap();
    let issuer = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let signer = [
        ("ISSUER", issuer),
        ("SIGNING_KEY_FILE", key_file.to_str().unwrap()),
    ];
    for (args, stdin) in [
        (&["user", "disable", "--username", "alice"][..], None),
        (
            &[
                "user",
                "set-password",
                "--username",
                "alice",
                "--password-stdin",
            ][..],
            Some("another long pass phrase 2031"),
        ),
    ] {
        admin.ok(&["user", "enable", "--username", "alice"], None);
        let page = env.call(&authorize_get(&request)).await;
        let r = env
            .call(&authorize_post(&login_form(&page, "alice", PASSWORD)))
            .await;
        assert_eq!(r.status, 302, "{}", r.text());
        let out = admin.run_with(args, stdin, &signer);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("ended 1 browser session(s): 1 app(s) told, 0 could not be"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, claims) = env.heard_logout_token(&mut heard, "web", issuer).await;
        assert_eq!(claims["sub"], alice(&env).await.id.to_string());
    }
    // A setting that names an unreadable key stops the command, in one
    // line, before it changes anything.
    let before = alice(&env).await.token_version;
    let missing = dir.join("missing.pem");
    let out = admin.run_with(
        &["user", "revoke-tokens", "--username", "alice"],
        None,
        &[
            ("ISSUER", issuer),
            ("SIGNING_KEY_FILE", missing.to_str().unwrap()),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("missing.pem"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(alice(&env).await.token_version, before);
    admin.assert_audited(&["admin_client_created", "admin_client_updated"]);
}

#[tokio::test]
async fn an_operator_shows_resets_and_sets_a_users_second_factors() {
    use token_issuer::core::record::factor::RecoveryCode;
    use token_issuer::core::store::{FactorStore as _, TotpEnrolment};
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    admin.ok(
        &["user", "create", "--username", "Dana", "--password-stdin"],
        Some(PASSWORD),
    );
    let out = admin.ok(&["user", "mfa", "show", "--username", "dana"], None);
    assert!(
        out.contains("one_time_codes\tnone")
            && out.contains("recovery_codes_left\t0")
            && out.contains("mfa_required\tfalse")
            && out.contains("password_only_allowed\tfalse"),
        "{out}"
    );
    // Enrolled (as the login page enrols): the tool shows it, never a secret.
    let env = admin.app().await;
    let name = token_issuer::core::record::user::Username::parse("dana").unwrap();
    let user = env.store.get_user(&name).await.unwrap().unwrap();
    let hashes: Vec<String> = RecoveryCode::generate_set()
        .unwrap()
        .iter()
        .map(|c| c.hash())
        .collect();
    let enrolment = TotpEnrolment {
        sealed: b"sealed-secret-bytes",
        step: 1,
        recovery: &hashes,
        at: env.app.issuer().now(),
    };
    assert!(env
        .store
        .enrol_totp(&name, user.id, &enrolment)
        .await
        .unwrap());
    let out = admin.ok(&["user", "mfa", "show", "--username", "dana"], None);
    assert!(
        out.contains("one_time_codes\tenrolled") && out.contains("recovery_codes_left\t10"),
        "{out}"
    );
    assert!(
        !out.contains("sealed") && !out.contains(&hashes[0]),
        "{out}"
    );
    // A passkey (as the login page registers one): listed by its public
    // credential id, never its key.
    use token_issuer::core::store::PasskeyStore as _;
    let passkey = token_issuer::core::record::passkey::Passkey {
        id: b"credential-1".to_vec(),
        alg: token_issuer::core::record::passkey::ES256,
        public_key: vec![4; 65],
        sign_count: 0,
        backup_eligible: true,
        backed_up: true,
        created_at: env.app.issuer().now(),
        last_used_at: None,
    };
    assert!(env
        .store
        .add_passkey(&name, user.id, &passkey)
        .await
        .unwrap());
    let out = admin.ok(&["user", "mfa", "show", "--username", "dana"], None);
    assert!(out.contains("passkeys\t1"), "{out}");
    assert!(
        out.contains(&format!("passkey\t{}\talg=-7", passkey.id_text()))
            && out.contains("synced=yes"),
        "{out}"
    );

    let out = admin.ok(
        &[
            "user",
            "mfa",
            "policy",
            "--username",
            "dana",
            "--require-mfa",
            "true",
            "--allow-password-only",
            "true",
        ],
        None,
    );
    assert!(
        out.contains("mfa_required\ttrue") && out.contains("password_only_allowed\ttrue"),
        "{out}"
    );
    let out = admin.ok(&["user", "mfa", "reset", "--username", "dana"], None);
    assert!(out.contains("removed every second factor of dana"), "{out}");
    let out = admin.ok(&["user", "mfa", "show", "--username", "dana"], None);
    assert!(
        out.contains("one_time_codes\tnone")
            && out.contains("passkeys\t0")
            && out.contains("mfa_required\ttrue"),
        "a reset keeps the policy: {out}"
    );
    admin.fails(
        &["user", "mfa", "reset", "--username", "nobody"],
        None,
        "no user nobody",
    );
    let out = admin.run(
        &[
            "user",
            "mfa",
            "policy",
            "--username",
            "dana",
            "--require-mfa",
            "maybe",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--require-mfa"));
    admin.assert_audited(&["admin_mfa_reset", "admin_mfa_policy_set"]);

    // A client's requirement: set at creation, replaced by an update.
    let out = admin.ok(
        &[
            "client",
            "create",
            "--client-id",
            "strict",
            "--grant-types",
            "authorization_code",
            "--redirect-uri",
            REDIRECT_URI,
            "--require-mfa",
        ],
        None,
    );
    assert!(out.contains("require_mfa\ttrue"), "{out}");
    let out = admin.ok(&["client", "update", "--client-id", "strict"], None);
    assert!(!out.contains("require_mfa"), "{out}");
    let out = admin.ok(
        &["client", "update", "--client-id", "strict", "--require-mfa"],
        None,
    );
    assert!(out.contains("require_mfa\ttrue"), "{out}");

    // Likewise DPoP: every token request of the client needs a proof.
    let out = admin.ok(
        &[
            "client",
            "update",
            "--client-id",
            "strict",
            "--require-dpop",
        ],
        None,
    );
    assert!(out.contains("require_dpop\ttrue"), "{out}");
    assert!(!out.contains("require_mfa"), "{out}");
    let out = admin.ok(&["client", "show", "--client-id", "strict"], None);
    assert!(out.contains("require_dpop\ttrue"), "{out}");
    let out = admin.ok(
        &[
            "client",
            "create",
            "--client-id",
            "bound",
            "--public",
            "--require-dpop",
        ],
        None,
    );
    assert!(out.contains("require_dpop\ttrue"), "{out}");
}

#[tokio::test]
async fn initial_access_tokens_are_made_listed_and_revoked_and_self_registered_clients_shown() {
    use token_issuer::core::record::registration::RegistrationPolicy;
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let out = admin.ok(
        &[
            "registration",
            "create-token",
            "--days",
            "2",
            "--note",
            "partner X",
        ],
        None,
    );
    let field = |out: &str, key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}\t")))
            .unwrap_or_else(|| panic!("{key} in {out}"))
            .to_string()
    };
    let (id, token) = (field(&out, "id"), field(&out, "initial_access_token"));
    assert_eq!(token.len(), 43);
    let listing = admin.ok(&["registration", "list-tokens"], None);
    assert!(listing.contains(&id) && listing.contains("partner X") && listing.contains("live"));
    assert!(
        !listing.contains(&token),
        "never the token again: {listing}"
    );

    // The function takes it under the `token` policy.
    let (u, t) = (admin.users.clone(), admin.tokens.clone());
    let env = TestEnv::with_config(move |c| {
        c.store.users_table = u;
        c.store.tokens_table = t;
        c.registration.policy = RegistrationPolicy::Token;
    })
    .await;
    // The tool stamps its token with the real time.
    env.clock.set(time::OffsetDateTime::now_utc());
    let register = || {
        with_header(
            event("oauth-register"),
            "authorization",
            &format!("Bearer {token}"),
        )
    };
    let r = env.call(&register()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let client = r.json()["client_id"].as_str().unwrap().to_string();
    let list = admin.ok(&["client", "list"], None);
    let row = list
        .lines()
        .find(|l| l.starts_with(&client))
        .expect("listed");
    assert!(row.contains("self (third party)"), "{row}");
    let show = admin.ok(&["client", "show", "--client-id", &client], None);
    assert!(show.contains("registered_by\tself (third party)"), "{show}");
    assert!(show.contains("lapses_unless_used_by\t"), "{show}");

    admin.ok(&["registration", "revoke-token", "--id", &id], None);
    assert_eq!(env.call(&register()).await.status, 401);
    admin.fails(
        &["registration", "revoke-token", "--id", &id],
        None,
        "no initial access token",
    );
    // An operator's client may not take the self-registered prefix.
    admin.fails(
        &["client", "create", "--client-id", "dyn-mine", "--public"],
        None,
        "register themselves",
    );
    // Nor a metadata document's URL.
    admin.fails(
        &[
            "client",
            "create",
            "--client-id",
            "https://app.example.com/client.json",
            "--public",
        ],
        None,
        "metadata document",
    );
}

#[tokio::test]
async fn resources_are_registered_listed_and_withdrawn_with_the_cli() {
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let uri = "https://mcp.example.com/mcp";
    admin.ok(
        &[
            "resource",
            "create",
            "--uri",
            uri,
            "--scopes",
            "mcp:tools mcp:read",
        ],
        None,
    );
    admin.fails(
        &["resource", "create", "--uri", uri, "--scopes", "x"],
        None,
        "already exists",
    );
    admin.fails(
        &[
            "resource",
            "create",
            "--uri",
            "http://mcp.example.com/",
            "--scopes",
            "x",
        ],
        None,
        "--uri",
    );
    admin.fails(
        &[
            "resource",
            "create",
            "--uri",
            "https://a.example/",
            "--scopes",
            " ",
        ],
        None,
        "--scopes",
    );
    let list = admin.ok(&["resource", "list"], None);
    assert!(
        list.contains(&format!("{uri}\tmcp:tools mcp:read")),
        "{list}"
    );

    // The function issues tokens for it.
    let env = admin.app().await;
    let secret = env
        .add_client(
            "svc",
            false,
            &[token_issuer::core::record::client::GrantType::ClientCredentials],
            "mcp:tools",
        )
        .await
        .unwrap();
    let cc = oauth_event(
        "oauth-token-client-credentials",
        &[("grant_type", "client_credentials"), ("resource", uri)],
        Some(("svc", &secret)),
    );
    let r = env.call(&cc).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        jwt_claims(r.json()["access_token"].as_str().unwrap())["aud"],
        uri
    );

    admin.ok(&["resource", "delete", "--uri", uri], None);
    assert_eq!(env.call(&cc).await.json()["error"], "invalid_target");
    admin.fails(&["resource", "delete", "--uri", uri], None, "no resource");
}

#[tokio::test]
async fn a_users_consents_are_listed_and_withdrawn_with_the_cli() {
    use token_issuer::core::record::client::{ClientId, Scopes};
    use token_issuer::core::record::consent::Consent;
    use token_issuer::core::store::ConsentStore;
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let env = admin.app().await;
    let client = ClientId::parse("dyn-agent").unwrap();
    env.store
        .put_consent(&Consent {
            user_id: env.admin.id,
            client_id: client.clone(),
            scopes: Scopes::parse("openid profile").unwrap(),
            granted_at: START,
        })
        .await
        .unwrap();
    let list = admin.ok(&["user", "consents", "--username", "Admin"], None);
    assert!(list.contains("dyn-agent\topenid profile\t"), "{list}");
    admin.ok(
        &[
            "user",
            "consents",
            "--username",
            "Admin",
            "--withdraw",
            "dyn-agent",
        ],
        None,
    );
    assert!(env
        .store
        .get_consent(env.admin.id, &client)
        .await
        .unwrap()
        .is_none());
    admin.fails(
        &[
            "user",
            "consents",
            "--username",
            "Admin",
            "--withdraw",
            "dyn-agent",
        ],
        None,
        "no consent",
    );
    let list = admin.ok(&["user", "consents", "--username", "Admin"], None);
    assert!(!list.contains("dyn-agent"), "{list}");
}

/// A client that a metadata document describes is listed as such, and an
/// operator's disable from the command line holds against the function's
/// next copy of the document.
#[tokio::test]
async fn a_metadata_documents_client_is_shown_and_disabled_with_the_cli() {
    use token_issuer::core::record::client::{ClientId, Scopes};
    use token_issuer::core::record::client_document::document_client;
    use token_issuer::core::store::RegistrationStore;
    let admin = Admin::new();
    admin.ok(&["tables", "create"], None);
    let env = admin.app().await;
    let url = "https://agent.example.com/oauth/client.json";
    let doc = serde_json::json!({"client_id": url, "client_name": "Agent",
                                 "redirect_uris": ["https://agent.example.com/cb"]});
    let client = document_client(
        &ClientId::parse(url).unwrap(),
        doc.to_string().as_bytes(),
        &Scopes::parse("openid profile").unwrap(),
        START,
        time::Duration::days(30),
    )
    .unwrap()
    .unwrap();
    assert!(env.store.put_document_client(&client).await.unwrap());
    let show = admin.ok(&["client", "show", "--client-id", url], None);
    assert!(
        show.contains("registered_by\tmetadata document (third party)"),
        "{show}"
    );
    admin.ok(&["client", "disable", "--client-id", url], None);
    assert!(
        !env.store.put_document_client(&client).await.unwrap(),
        "a fresh copy of the document does not undo the disable"
    );
    let show = admin.ok(&["client", "show", "--client-id", url], None);
    assert!(show.contains("enabled\tfalse"), "{show}");
}
