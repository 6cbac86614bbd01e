//! Signing keys and the JWKS that publishes them.
//!
//! Three sources, chosen at cold start: a key ring in AWS Secrets Manager
//! (production; see [`ring`] and [`secret`]), a PEM file (local use), or an
//! ephemeral key (development only).

pub mod live;
pub mod ring;
pub mod seal;
pub mod secret;

pub use live::Keys;

use crate::core::record::token::random;
use ::ring::signature::{
    RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, Header};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A boxed error from the SDK (reading or writing the key ring's secret).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the signing key is not a PEM RSA private key")]
    Parse(#[source] BoxError),
    #[error("the signing key is too small: at least {MIN_RSA_BITS} bits are required")]
    TooSmall,
    #[error("RSA key generation failed")]
    Generate,
    #[error("cannot encode the JWKS")]
    Jwks(#[source] serde_json::Error),
    #[error("cannot encode the token's claims")]
    Claims(#[source] serde_json::Error),
    #[error("signing the token failed")]
    Sign(#[source] ::ring::error::Unspecified),
    #[error("cannot read the secret {id}")]
    SecretRead {
        id: String,
        #[source]
        source: BoxError,
    },
    #[error("cannot write the signing key secret {id}")]
    SecretWrite {
        id: String,
        #[source]
        source: BoxError,
    },
    #[error("the signing key secret is not a key ring: {0}")]
    Ring(String),
    #[error("the key ring has no active signing key: run `token-admin keys rotate`")]
    NoActiveKey,
    #[error("no key {0} in the ring (`token-admin keys list` shows them)")]
    NoSuchKey(String),
    #[error("the public keys secret holds no key: run `token-admin keys rotate` with PUBLIC_KEYS_SECRET_ID set")]
    NoPublicKey,
    #[error("these keys only verify: the function was given the public keys alone")]
    NoSigningKey,
}

/// The signing key and the JWKS document, both prepared once at cold start:
/// the key is parsed once (re-parsing the DER on every signature, as
/// `jsonwebtoken::encode` does, cost about 0.5 ms per token) and the JWS header
/// is encoded once.
pub struct KeySet {
    /// `None` where only the public keys were given (the authorizer).
    signing: Option<SigningKey>,
    kid: String,
    jwks_json: String,
    /// Every published key, to verify tokens this issuer signed.
    verifiers: Vec<(String, Verifier)>,
    /// Authenticates the login page's form tokens. Derived from the signing
    /// key, so every instance of the function agrees on it and a rotation
    /// of the signing key rotates it too.
    form_key: ::ring::hmac::Key,
    /// Keys the pseudonyms of typed usernames in the log; derived like
    /// `form_key`.
    log_key: ::ring::hmac::Key,
    /// Authenticates known browsers' device cookies; derived like `form_key`.
    device_key: ::ring::hmac::Key,
}

/// A published RSA key's modulus and exponent, as RS256 signatures are
/// checked against them.
type Verifier = RsaPublicKeyComponents<Vec<u8>>;

/// The private key and the JWS headers it signs under, encoded once.
struct SigningKey {
    pair: RsaKeyPair,
    /// `base64url({"typ":"JWT","alg":"RS256","kid":...})`.
    header_b64: String,
    /// The same with `"typ":"at+jwt"` (RFC 9068 access tokens).
    access_header_b64: String,
    /// The same with `"typ":"logout+jwt"` (back-channel logout tokens).
    logout_header_b64: String,
}

pub use crate::core::sign::TokenType;

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// From a PEM RSA private key (PKCS#1 or PKCS#8).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Self::with_published(pem, &[])
    }

    /// Signs with `active_pem` and publishes `others` (the next and previous
    /// keys) beside it in the JWKS.
    pub fn with_published(active_pem: &[u8], others: &[Jwk]) -> Result<Self, KeyError> {
        let (pair, jwk) = parse_pem(active_pem)?;
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let mut keys = vec![jwk];
        keys.extend(
            others
                .iter()
                .filter(|k| k.common.key_id.as_deref() != Some(kid.as_str()))
                .cloned(),
        );
        let (verifiers, jwks_json) = published(keys)?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.clone());
        let header_json = serde_json::to_vec(&header).map_err(KeyError::Jwks)?;
        header.typ = Some("at+jwt".into());
        let access_header_json = serde_json::to_vec(&header).map_err(KeyError::Jwks)?;
        header.typ = Some("logout+jwt".into());
        let logout_header_json = serde_json::to_vec(&header).map_err(KeyError::Jwks)?;
        let form_seed = ::ring::digest::digest(
            &::ring::digest::SHA256,
            &[b"token-issuer login form\0".as_slice(), active_pem].concat(),
        );
        let derive = |label: &[u8]| {
            let seed =
                ::ring::digest::digest(&::ring::digest::SHA256, &[label, active_pem].concat());
            ::ring::hmac::Key::new(::ring::hmac::HMAC_SHA256, seed.as_ref())
        };
        Ok(Self {
            form_key: ::ring::hmac::Key::new(::ring::hmac::HMAC_SHA256, form_seed.as_ref()),
            log_key: derive(b"token-issuer log pseudonym\0"),
            device_key: derive(b"token-issuer device cookie\0"),
            signing: Some(SigningKey {
                pair,
                header_b64: URL_SAFE_NO_PAD.encode(header_json),
                access_header_b64: URL_SAFE_NO_PAD.encode(access_header_json),
                logout_header_b64: URL_SAFE_NO_PAD.encode(logout_header_json),
            }),
            kid,
            jwks_json,
            verifiers,
        })
    }

    /// Keys that verify and never sign: the published keys alone, as the
    /// authorizer reads them (it is given no private key).
    pub fn verify_only(jwks: JwkSet) -> Result<Self, KeyError> {
        let kid = jwks
            .keys
            .first()
            .and_then(|k| k.common.key_id.clone())
            .ok_or(KeyError::NoPublicKey)?;
        let (verifiers, jwks_json) = published(jwks.keys)?;
        // No login form is ever shown with these keys; a key of this process
        // alone makes every form token it might see invalid.
        let seed: [u8; 32] = random().map_err(|_| KeyError::Generate)?;
        Ok(Self {
            signing: None,
            kid,
            jwks_json,
            verifiers,
            form_key: ::ring::hmac::Key::new(::ring::hmac::HMAC_SHA256, &seed),
            log_key: ::ring::hmac::Key::new(::ring::hmac::HMAC_SHA256, &seed),
            device_key: ::ring::hmac::Key::new(::ring::hmac::HMAC_SHA256, &seed),
        })
    }

    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&pem)
    }

    /// A fresh key that lives as long as the process: for local development.
    pub fn ephemeral() -> Result<Self, KeyError> {
        Self::from_pem(generate_pem()?.as_bytes())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `{"keys":[...]}`, serialised once.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// A compact RS256 JWS with `kid` in its header.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        self.sign_as(TokenType::Jwt, claims)
    }

    /// A compact RS256 JWS of header type `typ`.
    pub fn sign_as<T: Serialize>(&self, typ: TokenType, claims: &T) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(KeyError::Claims)?;
        self.sign_payload(typ, &payload)
    }

    /// A compact RS256 JWS of header type `typ` over `payload`, the claims'
    /// JSON.
    pub fn sign_payload(&self, typ: TokenType, payload: &[u8]) -> Result<String, KeyError> {
        let signing = self.signing.as_ref().ok_or(KeyError::NoSigningKey)?;
        let header_b64 = match typ {
            TokenType::Jwt => &signing.header_b64,
            TokenType::AccessToken => &signing.access_header_b64,
            TokenType::LogoutToken => &signing.logout_header_b64,
        };
        let sig_len = signing.pair.public().modulus_len();
        let mut jws =
            String::with_capacity(header_b64.len() + 2 + (payload.len() + sig_len) * 4 / 3 + 4);
        jws.push_str(header_b64);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
        let mut sig = vec![0u8; sig_len];
        // PKCS#1 v1.5 signing is deterministic; the generator is not used.
        let rng = ::ring::rand::SystemRandom::new();
        signing
            .pair
            .sign(&RSA_PKCS1_SHA256, &rng, jws.as_bytes(), &mut sig)
            .map_err(KeyError::Sign)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&sig, &mut jws);
        Ok(jws)
    }
}

impl KeySet {
    /// HMAC-SHA256 of `data` under the form key.
    pub fn form_mac(&self, data: &[u8]) -> Vec<u8> {
        ::ring::hmac::sign(&self.form_key, data).as_ref().to_vec()
    }

    /// A short keyed hash of `data` for the log (128 bits, base64url): the
    /// same for one input while the signing key stays, and no way back to it.
    pub fn pseudonym(&self, data: &[u8]) -> String {
        let tag = ::ring::hmac::sign(&self.log_key, data);
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..16])
    }

    /// A 128-bit tag of `data` under the device-cookie key.
    pub fn device_mac(&self, data: &[u8]) -> [u8; 16] {
        let tag = ::ring::hmac::sign(&self.device_key, data);
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag.as_ref()[..16]);
        out
    }

    /// Whether `tag` is [`KeySet::device_mac`] of `data`, in constant time.
    pub fn device_mac_matches(&self, data: &[u8], tag: &[u8]) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.device_mac(data)[..], tag).into()
    }

    /// Whether `tag` is [`KeySet::form_mac`] of `data`, in constant time.
    pub fn form_mac_matches(&self, data: &[u8], tag: &[u8]) -> bool {
        ::ring::hmac::verify(&self.form_key, data, tag).is_ok()
    }

    /// The header type and claims of a token signed (RS256) by one of the
    /// published keys; `None` for anything else. Only the signature is
    /// checked here: times and issuer are the caller's, on its own clock.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Option<(TokenType, T)> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 {
            return None;
        }
        let kid = header.kid.as_deref()?;
        let (_, key) = self.verifiers.iter().find(|(k, _)| k == kid)?;
        // Exactly `header.payload.signature`; the signature covers the first two.
        let (signed, signature) = token.rsplit_once('.')?;
        let (_, payload) = signed.split_once('.')?;
        if payload.contains('.') {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        key.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
            .ok()?;
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let typ = match header.typ.as_deref() {
            Some("at+jwt") => TokenType::AccessToken,
            Some("JWT") => TokenType::Jwt,
            _ => return None,
        };
        Some((typ, claims))
    }
}

/// The verifiers of `keys` by key id, and their JWKS document.
fn published(keys: Vec<Jwk>) -> Result<(Vec<(String, Verifier)>, String), KeyError> {
    let verifiers = keys
        .iter()
        .filter_map(|k| {
            let kid = k.common.key_id.clone()?;
            let AlgorithmParameters::RSA(rsa) = &k.algorithm else {
                return None;
            };
            let n = URL_SAFE_NO_PAD.decode(&rsa.n).ok()?;
            let e = URL_SAFE_NO_PAD.decode(&rsa.e).ok()?;
            Some((kid, Verifier { n, e }))
        })
        .collect();
    let jwks_json = serde_json::to_string(&JwkSet { keys }).map_err(KeyError::Jwks)?;
    Ok((verifiers, jwks_json))
}

/// The public JWK (with `kid`, `use`, `alg`) of a PEM RSA private key.
pub fn public_jwk(pem: &[u8]) -> Result<Jwk, KeyError> {
    parse_pem(pem).map(|(_, jwk)| jwk)
}

/// PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM to a key pair and
/// its public JWK.
fn parse_pem(pem: &[u8]) -> Result<(RsaKeyPair, Jwk), KeyError> {
    let block = pem::parse(pem).map_err(|e| KeyError::Parse(e.into()))?;
    let signer = match block.tag() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(block.contents()),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(block.contents()),
        other => return Err(KeyError::Parse(format!("a PEM {other} block").into())),
    }
    .map_err(|e| match e.to_string().as_str() {
        "TooSmall" => KeyError::TooSmall,
        _ => KeyError::Parse(e.into()),
    })?;
    let public = Verifier::from(signer.public());
    let n = without_leading_zeros(&public.n).to_vec();
    let e = without_leading_zeros(&public.e).to_vec();
    if bit_length(&n) < MIN_RSA_BITS {
        return Err(KeyError::TooSmall);
    }
    let mut jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::RS256),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: URL_SAFE_NO_PAD.encode(n),
            e: URL_SAFE_NO_PAD.encode(e),
        }),
    };
    // RFC 7638 thumbprint: stable across restarts and instances for one key.
    let kid = rsa_thumbprint(&jwk);
    jwk.common.key_id = Some(kid);
    Ok((signer, jwk))
}

/// The RFC 7638 SHA-256 thumbprint of an RSA JWK: its required members
/// (`e`, `kty`, `n`) in that order, without whitespace.
fn rsa_thumbprint(jwk: &Jwk) -> String {
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return String::new();
    };
    let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, rsa.e, rsa.n);
    URL_SAFE_NO_PAD.encode(::ring::digest::digest(
        &::ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

fn without_leading_zeros(big_endian: &[u8]) -> &[u8] {
    let leading = big_endian.iter().take_while(|b| **b == 0).count();
    &big_endian[leading..]
}

fn bit_length(big_endian: &[u8]) -> usize {
    let digits = without_leading_zeros(big_endian);
    match digits.first() {
        Some(first) => (digits.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// Where the signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key ring in the Secrets Manager secret with this ARN or name.
    SecretsManager(String),
    /// The ring's public keys alone (a JWKS document) in this secret: to
    /// verify, never to sign.
    PublicSecretsManager(String),
    /// A PEM RSA private key file.
    File(PathBuf),
    /// A fresh key that dies with the process (local development only).
    Ephemeral,
}

/// Loads the signing keys from `source`, once per cold start (`sdk` is used
/// only for Secrets Manager).
pub async fn load(source: &KeySource, sdk: &aws_config::SdkConfig) -> Result<KeySet, KeyError> {
    match source {
        KeySource::SecretsManager(id) | KeySource::PublicSecretsManager(id) => {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            secret::load_keyset(&client, source, id).await
        }
        KeySource::File(path) => KeySet::from_file(path),
        KeySource::Ephemeral => {
            tracing::warn!(
                "neither SIGNING_KEY_SECRET_ID nor SIGNING_KEY_FILE is set: signing with an \
                 ephemeral key that dies with this process (local development only)"
            );
            KeySet::ephemeral()
        }
    }
}

/// The live keys of a function: read at cold start (failing start-up when
/// they cannot be), and, from a key ring, read again every `refresh`.
pub async fn load_live(
    source: &KeySource,
    sdk: &aws_config::SdkConfig,
    refresh: std::time::Duration,
) -> Result<Keys, KeyError> {
    let keys = load(source, sdk).await?;
    Ok(match source {
        KeySource::SecretsManager(id) | KeySource::PublicSecretsManager(id) => Keys::refreshing(
            keys,
            aws_sdk_secretsmanager::Client::new(sdk),
            source.clone(),
            id.clone(),
            refresh,
        ),
        KeySource::File(_) | KeySource::Ephemeral => keys.into(),
    })
}

/// A new 2048-bit RSA private key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, KeyError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key =
        rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|_| KeyError::Generate)?;
    let der = key.to_pkcs8_der().map_err(|_| KeyError::Generate)?;
    let block = pem::Pem::new("PRIVATE KEY", der.as_bytes());
    // 64-column lines and `\n` endings, as OpenSSL writes them.
    Ok(pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, EncodingKey, Validation};

    fn modulus_bits(n_b64url: &str) -> usize {
        bit_length(&URL_SAFE_NO_PAD.decode(n_b64url).unwrap())
    }

    #[test]
    fn signs_tokens_that_verify_against_the_published_jwks() {
        let keys = KeySet::ephemeral().unwrap();
        let token = keys
            .sign(&serde_json::json!({"sub": "x", "exp": 4_000_000_000u64, "aud": "a"}))
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(keys.kid()));

        let set: JwkSet = serde_json::from_str(keys.jwks_json()).unwrap();
        let jwk = set.find(keys.kid()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["a"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap();
        assert_eq!(data.claims["sub"], "x");

        let raw: serde_json::Value = serde_json::from_str(keys.jwks_json()).unwrap();
        let k = &raw["keys"][0];
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["kid"], keys.kid());
        assert_eq!(k["e"], "AQAB");
        assert_eq!(modulus_bits(k["n"].as_str().unwrap()), 2048);
    }

    /// RS256 (PKCS#1 v1.5) is deterministic, so the pre-parsed signer must
    /// produce exactly what `jsonwebtoken` produces for the same key and header.
    #[test]
    fn tokens_are_byte_identical_to_jsonwebtokens() {
        let pem = generate_pem().unwrap();
        let keys = KeySet::from_pem(pem.as_bytes()).unwrap();
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64, "roles": ["a", "b"]});
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(keys.kid().to_string());
        let expected = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(keys.sign(&claims).unwrap(), expected);
    }

    #[test]
    fn pkcs1_and_pkcs8_of_one_key_sign_alike() {
        let pkcs1 =
            KeySet::from_pem(include_bytes!("../../tests/fixtures/rsa2048-pkcs1.pem")).unwrap();
        let pkcs8 =
            KeySet::from_pem(include_bytes!("../../tests/fixtures/rsa2048-pkcs8.pem")).unwrap();
        assert_eq!(pkcs1.kid(), pkcs8.kid());
        assert_eq!(pkcs1.jwks_json(), pkcs8.jwks_json());
        let claims = serde_json::json!({"sub": "x"});
        assert_eq!(pkcs1.sign(&claims).unwrap(), pkcs8.sign(&claims).unwrap());
    }

    #[test]
    fn refuses_keys_under_2048_bits() {
        let err =
            KeySet::from_pem(include_bytes!("../../tests/fixtures/rsa1024-pkcs8.pem")).unwrap_err();
        assert!(matches!(err, KeyError::TooSmall), "{err:?}");
        assert!(err.to_string().contains("at least 2048"), "{err}");
    }

    /// The key id is the RFC 7638 thumbprint an independent JWT library
    /// computes, so it stays the same for a key across versions.
    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        let keys =
            KeySet::from_pem(include_bytes!("../../tests/fixtures/rsa2048-pkcs8.pem")).unwrap();
        let set: JwkSet = serde_json::from_str(keys.jwks_json()).unwrap();
        let theirs = set.keys[0]
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(keys.kid(), theirs);
    }

    #[test]
    fn verifies_only_its_own_well_formed_tokens() {
        let keys = KeySet::ephemeral().unwrap();
        let token = keys.sign(&serde_json::json!({"sub": "x"})).unwrap();
        let (typ, claims) = keys.verify::<serde_json::Value>(&token).unwrap();
        assert_eq!(typ, TokenType::Jwt);
        assert_eq!(claims["sub"], "x");
        let (head, rest) = token.split_once('.').unwrap();
        let (payload, sig) = rest.split_once('.').unwrap();
        let other = URL_SAFE_NO_PAD.encode(br#"{"sub":"y"}"#);
        for bad in [
            format!("{head}.{other}.{sig}"),
            format!("{head}.{payload}.{sig}.{sig}"),
            format!("{head}.{payload}.{payload}.{sig}"),
            format!("{head}.{payload}.{sig}="),
            format!("{head}.{payload}"),
        ] {
            assert!(keys.verify::<serde_json::Value>(&bad).is_none(), "{bad}");
        }
        let stranger = KeySet::ephemeral().unwrap();
        assert!(stranger.verify::<serde_json::Value>(&token).is_none());
    }

    #[test]
    fn same_key_same_kid() {
        let pem = generate_pem().unwrap();
        let a = KeySet::from_pem(pem.as_bytes()).unwrap();
        let b = KeySet::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_ne!(a.kid(), KeySet::ephemeral().unwrap().kid());
    }

    #[test]
    fn generated_pem_is_pkcs8_in_64_column_lf_lines() {
        let pem = generate_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(pem.ends_with("\n-----END PRIVATE KEY-----\n"), "{pem}");
        assert!(!pem.contains('\r'));
        let lines: Vec<&str> = pem.lines().collect();
        let body = &lines[1..lines.len() - 1];
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
        assert!(KeySet::from_pem(pem.as_bytes()).is_ok());
    }

    #[test]
    fn rejects_garbage_and_missing_files() {
        assert!(matches!(
            KeySet::from_pem(b"not a key"),
            Err(KeyError::Parse(_))
        ));
        let err = KeySet::from_file(Path::new("/nonexistent/key.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/key.pem"));
    }
}
