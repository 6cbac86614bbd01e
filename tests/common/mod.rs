//! Shared harness: a fresh pair of tables in DynamoDB Local per test, the real
//! handler, a manual clock, and helpers to send the events in `events/`.

pub mod certs;
pub mod front;

use lambda_http::http::HeaderMap;
use serde_json::{json, Value};
use std::sync::Arc;
use time::macros::datetime;
use time::OffsetDateTime;
use token_issuer::compose;
use token_issuer::config::{
    Config, RegistrationConfig, StoreConfig, DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_KEY_REFRESH,
    DEFAULT_REFRESH_TOKEN_TTL, DEFAULT_REQUEST_DEADLINE,
};
use token_issuer::core::clock::ManualClock;
use token_issuer::core::password::{Hasher, Password};
use token_issuer::core::record::client::{
    Client, ClientId, ClientSecret, GrantType, RedirectUri, Scopes,
};
use token_issuer::core::record::registration::RegistrationPolicy;
use token_issuer::core::record::user::{Account, User, Username};
use token_issuer::core::store::AdminStore;
use token_issuer::keys::{KeySet, Keys};
use token_issuer::store::DynamoStore;
use token_issuer::{handle, App};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";
/// Ahead of the wall clock on purpose: DynamoDB Local deletes items whose
/// `ttl` has passed (within seconds), so records stamped from a start in the
/// past could vanish in the middle of a test.
pub const START: OffsetDateTime = datetime!(2037-11-22 12:00:00.123456789 UTC);
/// The redirect URI every client of `add_client` has registered.
pub const REDIRECT_URI: &str = "https://app.example.com/callback";
pub const API_DOMAIN: &str = "abc123.execute-api.us-east-1.amazonaws.com";

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "integration tests need DynamoDB Local: run them with scripts/test.sh, \
         which starts it and sets AWS_ENDPOINT_URL_DYNAMODB",
    )
}

/// The access key ids the tests give each binary: the name of the template
/// resource that holds its policy, so that the calls recorded under each can
/// be held against that policy (`tests/it/iam.rs`). The harness's own calls
/// (tables, seeding, inspection) go under the environment's key, unchecked.
pub const ISSUER_IDENTITY: &str = "TokenIssuerFunction";
pub const AUTHORIZER_IDENTITY: &str = "TokenAuthorizerFunction";
pub const ADMIN_IDENTITY: &str = "TokenAdminPolicy";
/// The multi-region layout's sweeper (`template.yaml`, `tests/it/sweeper.rs`).
pub const SWEEPER_IDENTITY: &str = "SweeperFunction";

/// The harness's client: tables, seeding, inspection.
pub async fn client() -> aws_sdk_dynamodb::Client {
    endpoint();
    // The function's own SDK configuration, so every test goes through it.
    aws_sdk_dynamodb::Client::new(&token_issuer::aws::lambda_sdk_config().await.unwrap())
}

/// The function's own SDK configuration, signing as `identity`.
pub async fn sdk_as(identity: &str) -> aws_config::SdkConfig {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let sdk = token_issuer::aws::lambda_sdk_config().await.unwrap();
    sdk.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(identity, "local", None, None, "tests"),
        ))
        .build()
}

/// A DynamoDB client of the binary `identity` names.
pub async fn client_as(identity: &str) -> aws_sdk_dynamodb::Client {
    endpoint();
    aws_sdk_dynamodb::Client::new(&sdk_as(identity).await)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4().simple())
}

pub fn test_config() -> Config {
    Config {
        store: StoreConfig {
            users_table: unique("users"),
            tokens_table: unique("tokens"),
        },
        issuer: None,
        audience: "test-audience".into(),
        signing_key_secret: None,
        signing_key_file: None,
        public_keys_secret: None,
        factor_key_secret: None,
        factor_key_file: None,
        access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
        refresh_token_ttl: DEFAULT_REFRESH_TOKEN_TTL,
        lockout_threshold: 10,
        lockout_user_threshold: 100,
        lockout_address_threshold: 100,
        lockout_initial: std::time::Duration::from_secs(60),
        lockout_max: std::time::Duration::from_secs(900),
        session_idle: std::time::Duration::from_secs(30 * 60),
        session_max: std::time::Duration::from_secs(10 * 3600),
        request_deadline: DEFAULT_REQUEST_DEADLINE,
        key_refresh: DEFAULT_KEY_REFRESH,
        revocation_cache: std::time::Duration::ZERO,
        accepted_audiences: vec!["test-audience".into()],
        warm_up: true,
        dpop_nonces: false,
        registration: RegistrationConfig {
            policy: RegistrationPolicy::Off,
            scopes: "openid profile email".into(),
            unused_days: 30,
            per_address_hourly: 20,
            documents: false,
            documents_private_addresses: false,
            documents_ca_pem: None,
        },
    }
}

pub struct TestEnv {
    pub app: App<DynamoStore, Keys>,
    /// The harness's view of the tables (not the function's identity).
    pub store: DynamoStore,
    /// The same tables as the authorizer's identity sees them.
    pub authorizer_store: DynamoStore,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    pub admin: User,
    /// The signing key, when the test made it, so an authorizer can share it.
    pub key_pem: Option<String>,
}

/// The signing key of every environment in this test process: making an
/// RSA key takes about 0.3 s, and each environment has its own tables.
pub fn test_pem() -> String {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| token_issuer::keys::generate_pem().expect("generate a key"))
        .clone()
}

impl TestEnv {
    /// Tables created, user `Admin` with [`PASSWORD`] in place.
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(change: impl FnOnce(&mut Config)) -> Self {
        let pem = test_pem();
        let keys = KeySet::from_pem(pem.as_bytes()).expect("a usable key");
        let mut env = Self::with_keys(change, keys).await;
        env.key_pem = Some(pem);
        env
    }

    /// The authorizer over this environment's tables, keys and clock, for
    /// tokens of the issuer at [`API_DOMAIN`].
    pub fn authorizer(
        &self,
        change: impl FnOnce(&mut Config),
    ) -> token_issuer::authorizer::Authorizer<DynamoStore, Keys> {
        let mut config = self.config.clone();
        config.issuer = Some(format!("https://{API_DOMAIN}"));
        change(&mut config);
        let pem = self.key_pem.as_deref().expect("a test-made key");
        let signing = KeySet::from_pem(pem.as_bytes()).expect("a usable key");
        // As deployed: the published keys alone, no private key.
        let jwks = serde_json::from_str(signing.jwks_json()).expect("a JWKS");
        let keys = KeySet::verify_only(jwks).expect("verifying keys");
        compose::authorizer(
            &config,
            self.authorizer_store.clone(),
            keys,
            self.clock.clone(),
        )
        .expect("an authorizer")
    }

    /// Like [`TestEnv::with_config`], signing with `keys` (a cold start with them).
    pub async fn with_keys(change: impl FnOnce(&mut Config), keys: impl Into<Keys>) -> Self {
        let mut config = test_config();
        change(&mut config);
        let store = compose::store(client().await, &config.store);
        store
            .create_tables()
            .await
            .expect("create tables in DynamoDB Local");
        let function = compose::store(client_as(ISSUER_IDENTITY).await, &config.store);
        Self::over(config, store, function, keys, true).await
    }

    /// An app over `store` as given: nothing created, nobody seeded (fault tests).
    pub async fn on_store(config: Config, store: DynamoStore) -> Self {
        let keys = KeySet::from_pem(test_pem().as_bytes()).expect("a usable key");
        Self::over(config, store.clone(), store, keys, false).await
    }

    /// An app whose tables were never created: every storage call fails.
    pub async fn without_tables() -> Self {
        Self::without_tables_with(|_| {}).await
    }

    /// [`TestEnv::without_tables`] with `change` made to its settings.
    pub async fn without_tables_with(change: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config();
        change(&mut config);
        let store = compose::store(client().await, &config.store);
        let function = compose::store(client_as(ISSUER_IDENTITY).await, &config.store);
        let keys = KeySet::from_pem(test_pem().as_bytes()).expect("a usable key");
        Self::over(config, store, function, keys, false).await
    }

    /// The app over `function` (the tables as the function's identity sees
    /// them); the harness works through `store`.
    async fn over(
        config: Config,
        store: DynamoStore,
        function: DynamoStore,
        keys: impl Into<Keys>,
        seed: bool,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let factor_key = token_issuer::keys::seal::FactorKey::ephemeral().expect("a factor key");
        let app = compose::app(&config, function, keys, factor_key, clock.clone());
        let authorizer_store = compose::store(client_as(AUTHORIZER_IDENTITY).await, &config.store);
        let admin = make_user("Admin", PASSWORD, |u| {
            u.full_name = "Admin".into();
            u.email = "admin@admin".into();
            u.role = 2;
            u.roles = vec!["Administrator".into(), "Auditor".into()];
        });
        if seed {
            store
                .create_user(&admin)
                .await
                .expect("create the admin user");
        }
        Self {
            app,
            store,
            authorizer_store,
            clock,
            config,
            admin,
            key_pem: None,
        }
    }

    pub async fn add_user(
        &self,
        name: &str,
        password: &str,
        change: impl FnOnce(&mut User),
    ) -> User {
        let user = make_user(name, password, change);
        self.store.create_user(&user).await.expect("create user");
        user
    }

    /// Registers an OAuth client as `token-admin client create` does; its
    /// secret, or `None` for a public client.
    pub async fn add_client(
        &self,
        id: &str,
        public: bool,
        grants: &[GrantType],
        scopes: &str,
    ) -> Option<String> {
        let secret = (!public).then(|| ClientSecret::generate().expect("a secret"));
        let client = Client {
            id: ClientId::parse(id).expect("a valid client id"),
            secret_hash: secret.as_ref().map(ClientSecret::hash),
            grant_types: grants.to_vec(),
            scopes: Scopes::parse(scopes).expect("valid scopes"),
            audience: None,
            redirect_uris: vec![RedirectUri::parse(REDIRECT_URI).expect("a valid redirect URI")],
            name: None,
            enabled: true,
            created_at: START,
            logout: Default::default(),
            require_mfa: false,
            require_dpop: false,
            third_party: false,
            expires_at: None,
        };
        self.store
            .create_client(&client)
            .await
            .expect("create client");
        secret.map(|s| s.expose().to_string())
    }

    /// Disables or enables the seeded admin, as `token-admin user disable|enable` does.
    pub async fn set_admin_enabled(&self, enabled: bool) {
        let now = self.app.issuer().now();
        assert!(
            self.store
                .set_enabled(&self.admin.username, enabled, now)
                .await
                .expect("set_enabled"),
            "the admin exists"
        );
    }

    /// Sends an API Gateway event through the real handler.
    pub async fn call(&self, event: &Value) -> Reply {
        self.call_as(event, None).await
    }

    /// [`TestEnv::call`], or `None` for an event `lambda_http` cannot read.
    pub async fn try_call(&self, event: &Value) -> Option<Reply> {
        lambda_http::request::from_str(&event.to_string()).ok()?;
        Some(self.call(event).await)
    }

    /// [`TestEnv::call`] as the Lambda runtime delivers it: with the
    /// invocation's request id and X-Ray trace id.
    pub async fn call_as(&self, event: &Value, invocation: Option<(&str, &str)>) -> Reply {
        use lambda_http::RequestExt as _;
        let mut req =
            lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event");
        if let Some((request_id, trace_id)) = invocation {
            let mut ctx = lambda_http::Context::default();
            ctx.request_id = request_id.into();
            ctx.xray_trace_id = Some(trace_id.into());
            req = req.with_lambda_context(ctx);
        }
        let resp = handle(&self.app, req).await;
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.to_vec(),
        }
    }

    /// Refresh families and ops sessions only (no throttle records).
    pub async fn issued_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.token_items()
            .await
            .into_iter()
            .filter(|i| {
                i.get("pk")
                    .and_then(|p| p.as_s().ok())
                    .is_some_and(|p| !p.starts_with("TH#"))
            })
            .collect()
    }

    /// Every item in the tokens table.
    pub async fn token_items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self
            .store
            .client()
            .scan()
            .table_name(&self.config.store.tokens_table)
            .send()
            .await
            .expect("scan tokens");
        out.items().to_vec()
    }
}

pub fn make_user(name: &str, password: &str, change: impl FnOnce(&mut User)) -> User {
    let hasher = Hasher::new();
    let mut user = User {
        password_hash: hasher
            .hash(&Password::parse(password).expect("valid password"))
            .expect("hash"),
        account: Account {
            id: Uuid::new_v4(),
            username: Username::parse(name).expect("valid username"),
            full_name: String::new(),
            email: String::new(),
            role: 0,
            roles: vec![],
            customer_id: Uuid::new_v4(),
            auth_source: "local".into(),
            enabled: true,
            created_at: START - time::Duration::days(1),
            last_login_at: None,
            password_changed_at: START - time::Duration::days(1),
            tokens_revoked_at: None,
            token_version: 0,
            mfa_required: false,
            password_only: false,
        },
        factors: Default::default(),
    };
    change(&mut user);
    user
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the cookie `name` that a `Set-Cookie` header sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(prefix.as_str()))
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    }

    /// The headers every response outside `/.well-known/` carries.
    pub fn assert_no_store(&self) {
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
        assert_eq!(self.header("pragma"), Some("no-cache"), "{self:?}");
    }

    pub fn assert_json(&self) {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
    }

    /// A 200 v2 token answer (log in or refresh) in the v2 vendor's exact shape,
    /// for `user`; returns its one `content` entry.
    pub fn assert_v2_grant(&self, user: &User) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        self.assert_json();
        self.assert_no_store();
        let body = self.json();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["content", "errorCode", "errorMessage", "pageable"]);
        assert_eq!(body["errorCode"], "");
        assert_eq!(body["errorMessage"], "");
        assert_eq!(
            body["pageable"],
            serde_json::json!({"page": 0, "size": 10, "totalPages": 1, "totalElements": 1})
        );
        let content = body["content"].as_array().unwrap();
        assert_eq!(content.len(), 1);
        let c = content[0].clone();
        assert_eq!(c.as_object().unwrap().len(), 4);
        assert_eq!(c["customerId"], user.customer_id.to_string());
        assert_eq!(c["validityTime"], 3600);
        c
    }

    /// A 200 user-dialect token answer (authenticate or refresh) with exactly
    /// the user vendor's keys; returns the body.
    pub fn assert_user_grant(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        self.assert_json();
        self.assert_no_store();
        let body = self.json();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "accessToken",
                "accessTokenExpiryTime",
                "email",
                "fullName",
                "refreshToken",
                "refreshTokenExpiryTime",
                "responseKey",
                "responseMessage",
                "role",
                "userName"
            ]
        );
        assert_eq!(body["responseKey"], "SUCCESS");
        assert_eq!(body["responseMessage"], "Successful request");
        body
    }
}

/// An event from `events/` as JSON, to send as is or to modify.
pub fn event(name: &str) -> Value {
    let path = format!("{}/events/{name}.json", repo_root().display());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The repository's root: this package's folder, or the workspace's for the
/// bench harness (`tools/bench`), which includes this file too.
fn repo_root() -> &'static std::path::Path {
    static ROOT: std::sync::OnceLock<&std::path::Path> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .find(|dir| dir.join("events").is_dir())
            .unwrap_or(here)
    })
}

/// `event` with its body replaced (not base64).
pub fn with_body(mut ev: Value, body: &str) -> Value {
    ev["body"] = Value::String(body.to_string());
    ev["isBase64Encoded"] = Value::Bool(false);
    ev
}

/// `event` with raw body bytes, base64-encoded as API Gateway does for binary.
pub fn with_bytes(mut ev: Value, bytes: &[u8]) -> Value {
    use base64::Engine;
    ev["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    ev["isBase64Encoded"] = Value::Bool(true);
    ev
}

pub fn with_header(mut ev: Value, name: &str, value: &str) -> Value {
    ev["headers"][name] = Value::String(value.to_string());
    ev
}

pub fn without_header(mut ev: Value, name: &str) -> Value {
    if let Some(h) = ev["headers"].as_object_mut() {
        h.remove(name);
    }
    ev
}

/// A form-encoded body (RFC 6749 §3.2) of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1: both parts
/// form-encoded, then base64).
pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// An oauth event of `events/` with a form body and, if given, a Basic header.
pub fn oauth_event(name: &str, pairs: &[(&str, &str)], client: Option<(&str, &str)>) -> Value {
    let ev = with_body(event(name), &form(pairs));
    let ev = without_header(ev, "authorization");
    match client {
        Some((id, secret)) => with_header(ev, "authorization", &basic(id, secret)),
        None => ev,
    }
}

/// A login event of the named route with a JSON body.
pub fn login(event_name: &str, body: Value) -> Value {
    with_body(event(event_name), &body.to_string())
}

/// Fetches the JWKS through the handler and verifies `token` with it, as a
/// downstream service would.
pub async fn verify_access_token(env: &TestEnv, token: &str, issuer: &str) -> Value {
    use jsonwebtoken::{jwk::JwkSet, DecodingKey, Validation};
    let jwks = env.call(&event("jwks")).await;
    assert_eq!(jwks.status, 200);
    let set: JwkSet = serde_json::from_slice(&jwks.body).expect("a JWK set");
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.expect("kid in the header");
    let jwk = set.find(&kid).expect("the token's kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
    let mut v = Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[env.config.audience.as_str()]);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    // The tests run on a manual clock in 2037; skip wall-clock expiry, check the numbers instead.
    v.validate_exp = false;
    v.validate_nbf = false;
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("the token verifies against the JWKS")
        .claims
}

// The authorization code flow (API §11): requests, the login form, tokens.

/// RFC 7636 appendix B's verifier; its `S256` challenge is in the events.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The grants of an authorization code client.
pub const CODE_FLOW: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];
/// The hidden fields of the login page.
pub const HIDDEN: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "acr_values",
    "resource",
    "form_token",
    "consent_token",
    // The second step's and the passkey registration's (API §13).
    "username",
    "factor_token",
    "action",
    "register_token",
];

/// The parameters of an authorization request, or of the login form.
pub type Params = Vec<(&'static str, String)>;

/// The value of the login page's hidden field `name`, as a browser posts it.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
    let rest = &html[html.find(&marker)? + marker.len()..];
    let value = &rest[..rest.find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The login page's hidden fields, as a browser posts them back.
pub fn hidden_fields(html: &str) -> Params {
    HIDDEN
        .iter()
        .filter_map(|name| hidden_field(html, name).map(|v| (*name, v)))
        .collect()
}

/// The login page's hidden fields, and `username` and `password`.
pub fn login_form(page: &Reply, username: &str, password: &str) -> Params {
    let mut fields = hidden_fields(&page.text());
    fields.push(("username", username.into()));
    fields.push(("password", password.into()));
    fields
}

/// The authorization request of a well-behaved client.
pub fn authorization(client: &str) -> Params {
    vec![
        ("response_type", "code".into()),
        ("client_id", client.into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("scope", "openid profile".into()),
        ("state", "af0ifjsldkj".into()),
        ("nonce", "n-0S6_WzA2Mj".into()),
        (
            "code_challenge",
            token_issuer::core::authorize::s256(VERIFIER),
        ),
        ("code_challenge_method", "S256".into()),
    ]
}

/// `pairs` with `key` set to `value`, or without it for `None`.
pub fn set(mut pairs: Params, key: &'static str, value: Option<&str>) -> Params {
    pairs.retain(|(k, _)| *k != key);
    if let Some(v) = value {
        pairs.push((key, v.into()));
    }
    pairs
}

/// `pairs` with `key` given once more.
pub fn again(mut pairs: Params, key: &'static str, value: &str) -> Params {
    pairs.push((key, value.into()));
    pairs
}

pub fn borrowed<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The query of a redirect to [`REDIRECT_URI`], decoded.
pub fn redirect_query(r: &Reply) -> Vec<(String, String)> {
    assert_eq!(r.status, 302, "{}", r.text());
    r.assert_no_store();
    let location = r.header("location").expect("a Location");
    let (base, query) = location.split_once('?').expect("a query");
    assert_eq!(base, REDIRECT_URI);
    query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

pub fn query_param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `events/oauth-authorize.json` with the query `raw`.
pub fn authorize_query(raw: &str) -> Value {
    let mut ev = event("oauth-authorize");
    ev["rawQueryString"] = json!(raw);
    ev.as_object_mut().unwrap().remove("queryStringParameters");
    ev
}

/// `GET /oauth2/authorize?pairs`.
pub fn authorize_get(pairs: &[(&'static str, String)]) -> Value {
    authorize_query(&form(&borrowed(pairs)))
}

/// `POST /oauth2/authorize` with the form `pairs`.
pub fn authorize_post(pairs: &[(&'static str, String)]) -> Value {
    with_body(event("oauth-authorize-submit"), &form(&borrowed(pairs)))
}

/// The claims of a JWT, unverified.
pub fn jwt_claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url claims");
    serde_json::from_slice(&raw).expect("JSON claims")
}

/// An app's back-channel logout endpoint: records each POST's body, and
/// answers `status` (or never, for `None`).
pub async fn backchannel_receiver(
    status: Option<u16>,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use front::{read_request, write_response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!(
        "http://127.0.0.1:{}/backchannel",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let Some(req) = read_request(&mut stream).await else {
                    return;
                };
                let _ = tx.send(String::from_utf8_lossy(&req.body).into_owned());
                match status {
                    Some(s) => write_response(&mut stream, s, &[], b"").await,
                    // Hangs: holds the connection open for a minute.
                    None => tokio::time::sleep(std::time::Duration::from_secs(60)).await,
                }
            });
        }
    });
    (uri, rx)
}

impl TestEnv {
    /// The next logout token a back-channel receiver heard, checked as
    /// the app `client` would check it (the published keys, `typ`, `iss`,
    /// `aud`, the event, no `nonce`): the token and its claims.
    pub async fn heard_logout_token(
        &self,
        heard: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
        client: &str,
        issuer: &str,
    ) -> (String, Value) {
        use jsonwebtoken::{jwk::JwkSet, DecodingKey, Validation};
        let body = tokio::time::timeout(std::time::Duration::from_secs(5), heard.recv())
            .await
            .expect("a logout token")
            .unwrap();
        let token = body
            .strip_prefix("logout_token=")
            .expect("a form with logout_token");
        assert!(!token.contains('&'));
        let token = percent_encoding::percent_decode_str(token)
            .decode_utf8()
            .unwrap()
            .into_owned();
        let jwks: JwkSet = serde_json::from_slice(&self.call(&event("jwks")).await.body).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
        let key =
            DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
        let mut v = Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&[client]);
        v.set_issuer(&[issuer]);
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &v)
            .unwrap()
            .claims;
        assert_eq!(
            claims["events"],
            json!({"http://schemas.openid.net/event/backchannel-logout": {}})
        );
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 300);
        assert!(claims.get("nonce").is_none(), "never a nonce");
        assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
        (token, claims)
    }
}

/// The code on a redirect to the client `web` (secret `secret`), and the
/// tokens it redeems to.
pub async fn redeem_web(env: &TestEnv, r: &Reply, secret: &str) -> Value {
    assert_eq!(r.status, 302, "{}", r.text());
    let q = redirect_query(r);
    let code = query_param(&q, "code").expect("a code");
    let r = env
        .call(&oauth_event(
            "oauth-token-authorization-code",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
            Some(("web", secret)),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}
