//! DPoP proofs (RFC 9449 §4): a JWT the client signs with its own key for
//! one request, checked as §4.3 lists, each check on its own. What needs
//! storage (a `jti` used once) or configuration (server nonces) is the
//! flow's; this is the proof alone, at an instant given by the caller.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

/// The `typ` a proof must carry (§4.2).
pub const DPOP_TYPE: &str = "dpop+jwt";
/// The algorithms accepted, as `dpop_signing_alg_values_supported` says.
pub const DPOP_ALGORITHMS: [&str; 2] = ["ES256", "RS256"];
/// How far a proof's `iat` may be from now, either way (§11.1).
pub const IAT_WINDOW: Duration = Duration::seconds(60);
/// A proof larger than this is refused unread: an RSA 4096 key and every
/// claim fit in well under it.
pub const MAX_PROOF_BYTES: usize = 4096;
/// The longest `jti` kept (it is stored, hashed, to refuse a replay).
pub const MAX_JTI_BYTES: usize = 256;

/// What a proof must match: the request it came with.
pub struct Expected<'a> {
    /// The HTTP method, upper case.
    pub method: &'a str,
    /// The request's URL as the client addressed it, without query or
    /// fragment (the issuer's own URL for the path).
    pub url: &'a str,
    /// The access token the request presents (resources only): `ath` must
    /// be its hash.
    pub access_token: Option<&'a str>,
    pub now: OffsetDateTime,
}

/// A proof that passed every check: what the flow needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The key's RFC 7638 thumbprint (SHA-256, base64url): `cnf.jkt`.
    pub jkt: String,
    /// To be used once within the `iat` window.
    pub jti: String,
    pub iat: OffsetDateTime,
    /// The server nonce it carries, if any.
    pub nonce: Option<String>,
}

/// Why a proof is refused; every one is `invalid_dpop_proof` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the DPoP proof is not a well-formed JWT")]
    Malformed,
    #[error("the DPoP proof's typ is not dpop+jwt")]
    Type,
    #[error("the DPoP proof's algorithm is not ES256 or RS256")]
    Algorithm,
    #[error("the DPoP proof's jwk is not a usable public key")]
    Key,
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    #[error("the DPoP proof is for another method")]
    Method,
    #[error("the DPoP proof is for another URL")]
    Url,
    #[error("the DPoP proof was not made within the last minute")]
    Time,
    #[error("the DPoP proof has no usable jti")]
    Jti,
    #[error("the DPoP proof's ath is not the access token's hash")]
    AccessTokenHash,
}

/// Why a proof is not accepted: its own fault, used before, or without the
/// server's current nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DpopRefusal {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("the DPoP proof was used before")]
    Replayed,
    #[error("the DPoP proof lacks the server's current nonce")]
    Nonce,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// A public key from a proof's `jwk`, with its thumbprint.
enum PublicKey {
    /// The uncompressed point, 0x04 || x || y.
    P256(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

fn b64(s: &str) -> Result<Vec<u8>, ProofError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| ProofError::Malformed)
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, ProofError> {
    jwk.get(name).and_then(Value::as_str).ok_or(ProofError::Key)
}

/// The key a `jwk` holds, for the algorithm the header names, and its
/// thumbprint over exactly the required members (RFC 7638 §3.2).
fn public_key(alg: &str, jwk: &Map<String, Value>) -> Result<(PublicKey, String), ProofError> {
    // A private key has no place in a proof (§4.3, check 7).
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return Err(ProofError::Key);
    }
    let (key, canonical) = match (alg, member(jwk, "kty")?) {
        ("ES256", "EC") => {
            let (crv, x, y) = (member(jwk, "crv")?, member(jwk, "x")?, member(jwk, "y")?);
            let (xb, yb) = (
                b64(x).map_err(|_| ProofError::Key)?,
                b64(y).map_err(|_| ProofError::Key)?,
            );
            if crv != "P-256" || xb.len() != 32 || yb.len() != 32 {
                return Err(ProofError::Key);
            }
            let point = [&[4u8][..], &xb, &yb].concat();
            let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
            (PublicKey::P256(point), canonical)
        }
        ("RS256", "RSA") => {
            let (n, e) = (member(jwk, "n")?, member(jwk, "e")?);
            let (nb, eb) = (
                b64(n).map_err(|_| ProofError::Key)?,
                b64(e).map_err(|_| ProofError::Key)?,
            );
            // 2048 bits at least, as the verification below requires.
            if nb.len() < 256 || eb.is_empty() {
                return Err(ProofError::Key);
            }
            let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            (PublicKey::Rsa { n: nb, e: eb }, canonical)
        }
        _ => return Err(ProofError::Key),
    };
    let jkt = URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()));
    Ok((key, jkt))
}

fn verify(key: &PublicKey, signed: &[u8], sig: &[u8]) -> Result<(), ProofError> {
    let verified = match key {
        // JWS ES256 signatures are r || s, 64 bytes (RFC 7518 §3.4).
        PublicKey::P256(point) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(signed, sig)
        }
        PublicKey::Rsa { n, e } => RsaPublicKeyComponents { n, e }.verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signed,
            sig,
        ),
    };
    verified.map_err(|_| ProofError::Signature)
}

/// A URL as RFC 9449 §4.3 compares `htu`: without query and fragment, the
/// scheme and host in lower case, no default port, an empty path as `/`,
/// and percent-escapes in upper case (RFC 3986 §6.2.2).
pub fn normalize_url(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next()?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let mut host = authority.to_ascii_lowercase();
    let default = if scheme == "https" { ":443" } else { ":80" };
    if let Some(stripped) = host.strip_suffix(default) {
        host = stripped.to_string();
    }
    let mut normal = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        normal.push(c);
        if c == '%' {
            for _ in 0..2 {
                normal.push(chars.next()?.to_ascii_uppercase());
            }
        }
    }
    Some(format!("{scheme}://{host}{normal}"))
}

/// The `ath` of an access token: base64url(SHA-256(token)) (§4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// Checks a proof against the request it came with (RFC 9449 §4.3, all
/// but the `jti` store and the nonce, which are the flow's).
pub fn check_proof(proof: &str, expected: &Expected<'_>) -> Result<Proof, ProofError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Malformed);
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let header: Header = serde_json::from_slice(&b64(h)?).map_err(|_| ProofError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&b64(p)?).map_err(|_| ProofError::Malformed)?;
    let sig = b64(s)?;
    if header.typ.as_deref() != Some(DPOP_TYPE) {
        return Err(ProofError::Type);
    }
    let alg = header.alg.as_deref().unwrap_or_default();
    if !DPOP_ALGORITHMS.contains(&alg) {
        return Err(ProofError::Algorithm);
    }
    let jwk = header.jwk.as_ref().ok_or(ProofError::Key)?;
    let (key, jkt) = public_key(alg, jwk)?;
    verify(&key, format!("{h}.{p}").as_bytes(), &sig)?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(ProofError::Method);
    }
    let htu = claims.htu.as_deref().and_then(normalize_url);
    if htu.is_none() || htu != normalize_url(expected.url) {
        return Err(ProofError::Url);
    }
    let iat = claims
        .iat
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or(ProofError::Time)?;
    if (iat - expected.now).abs() > IAT_WINDOW {
        return Err(ProofError::Time);
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
        .ok_or(ProofError::Jti)?;
    match (expected.access_token, claims.ath.as_deref()) {
        (None, _) => {}
        (Some(token), Some(ath)) if ath == access_token_hash(token) => {}
        (Some(_), _) => return Err(ProofError::AccessTokenHash),
    }
    Ok(Proof {
        jkt,
        jti,
        iat,
        nonce: claims.nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    use serde_json::json;

    const URL: &str = "https://id.example.com/oauth2/token";

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
            now: now(),
        }
    }

    struct Client {
        key: EcdsaKeyPair,
    }

    impl Client {
        fn new() -> Self {
            let rng = SystemRandom::new();
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let key =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                    .unwrap();
            Client { key }
        }

        fn jwk(&self) -> Value {
            let point = self.key.public_key().as_ref();
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            })
        }

        fn sign(&self, header: Value, claims: Value) -> String {
            let signed = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self
                .key
                .sign(&SystemRandom::new(), signed.as_bytes())
                .unwrap();
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }

        fn header(&self) -> Value {
            json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk() })
        }

        fn claims(&self) -> Value {
            json!({ "jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": URL, "iat": now().unix_timestamp() })
        }

        fn proof(&self) -> String {
            self.sign(self.header(), self.claims())
        }

        fn with(&self, change: impl FnOnce(&mut Value, &mut Value)) -> String {
            let (mut h, mut c) = (self.header(), self.claims());
            change(&mut h, &mut c);
            self.sign(h, c)
        }
    }

    #[test]
    fn a_good_proof_gives_the_keys_thumbprint_and_its_jti() {
        let client = Client::new();
        let proof = check_proof(&client.proof(), &expected()).unwrap();
        assert_eq!(proof.jti, "e1j3V_bKic8-LAEB");
        assert_eq!(proof.iat, now());
        assert_eq!(proof.nonce, None);
        // The thumbprint of RFC 7638 over the required members, in order.
        let jwk = client.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        assert_eq!(
            proof.jkt,
            URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
        );
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s_own_example() {
        // RFC 7638 §3.1: this RSA key's thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = json!({ "kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29" });
        let (_, jkt) = public_key("RS256", jwk.as_object().unwrap()).unwrap();
        assert_eq!(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn an_rs256_proof_verifies_and_a_short_rsa_key_is_refused() {
        let pem = include_bytes!("../../../tests/fixtures/rsa2048-pkcs8.pem");
        let key = RsaKeyPair::from_pkcs8(pem::parse(pem).unwrap().contents()).unwrap();
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
        let jwk = json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD
                .encode(json!({ "typ": "dpop+jwt", "alg": "RS256", "jwk": jwk }).to_string()),
            URL_SAFE_NO_PAD.encode(Client::new().claims().to_string())
        );
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut sig,
        )
        .unwrap();
        let proof = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&sig));
        assert!(check_proof(&proof, &expected()).is_ok());
        let short =
            json!({ "kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xc5u8; 128]), "e": "AQAB" });
        assert!(matches!(
            public_key("RS256", short.as_object().unwrap()),
            Err(ProofError::Key)
        ));
    }

    #[test]
    fn each_field_is_checked_on_its_own() {
        let c = Client::new();
        let cases: Vec<(String, ProofError)> = vec![
            (c.with(|h, _| h["typ"] = json!("JWT")), ProofError::Type),
            (
                c.with(|h, _| {
                    h.as_object_mut()
                        .unwrap()
                        .remove("typ")
                        .map(drop)
                        .unwrap_or(())
                }),
                ProofError::Type,
            ),
            (
                c.with(|h, _| h["alg"] = json!("none")),
                ProofError::Algorithm,
            ),
            (
                c.with(|h, _| h["alg"] = json!("HS256")),
                ProofError::Algorithm,
            ),
            // An ES256 key named as RS256.
            (c.with(|h, _| h["alg"] = json!("RS256")), ProofError::Key),
            (
                c.with(|h, _| h["jwk"]["crv"] = json!("P-384")),
                ProofError::Key,
            ),
            (
                c.with(|h, _| h["jwk"]["d"] = json!("AAAA")),
                ProofError::Key,
            ),
            (
                c.with(|h, _| {
                    h.as_object_mut()
                        .unwrap()
                        .remove("jwk")
                        .map(drop)
                        .unwrap_or(())
                }),
                ProofError::Key,
            ),
            // Another key than the one that signed.
            (
                c.with(|h, _| h["jwk"] = Client::new().jwk()),
                ProofError::Signature,
            ),
            (c.with(|_, c| c["htm"] = json!("GET")), ProofError::Method),
            (c.with(|_, c| c["htm"] = json!("post")), ProofError::Method),
            (
                c.with(|_, c| c["htu"] = json!("https://id.example.com/oauth2/userinfo")),
                ProofError::Url,
            ),
            (
                c.with(|_, c| c["htu"] = json!("https://other.example.com/oauth2/token")),
                ProofError::Url,
            ),
            (
                c.with(|_, c| c["htu"] = json!("http://id.example.com/oauth2/token")),
                ProofError::Url,
            ),
            (
                c.with(|_, c| c["iat"] = json!(now().unix_timestamp() - 61)),
                ProofError::Time,
            ),
            (
                c.with(|_, c| c["iat"] = json!(now().unix_timestamp() + 61)),
                ProofError::Time,
            ),
            (
                c.with(|_, c| c["iat"] = json!("now")),
                ProofError::Malformed,
            ),
            (c.with(|_, c| c["jti"] = json!("")), ProofError::Jti),
            (
                c.with(|_, c| c["jti"] = json!("x".repeat(MAX_JTI_BYTES + 1))),
                ProofError::Jti,
            ),
            (
                c.with(|_, c| {
                    c.as_object_mut()
                        .unwrap()
                        .remove("jti")
                        .map(drop)
                        .unwrap_or(())
                }),
                ProofError::Jti,
            ),
        ];
        for (i, (proof, want)) in cases.into_iter().enumerate() {
            assert_eq!(check_proof(&proof, &expected()), Err(want), "case {i}");
        }
        // A changed payload under the same signature.
        let good = c.proof();
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(c.claims().to_string().replace("POST", "POST "));
        parts[1] = &forged;
        assert_eq!(
            check_proof(&parts.join("."), &expected()),
            Err(ProofError::Signature)
        );
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!.!.!",
            &"a".repeat(MAX_PROOF_BYTES + 1),
        ] {
            assert_eq!(
                check_proof(junk, &expected()),
                Err(ProofError::Malformed),
                "{junk:.20}"
            );
        }
    }

    #[test]
    fn the_window_and_the_url_compare_as_the_rfc_says() {
        let c = Client::new();
        for iat in [-60, 0, 60] {
            let p = c.with(|_, c| c["iat"] = json!(now().unix_timestamp() + iat));
            assert!(check_proof(&p, &expected()).is_ok(), "{iat}");
        }
        // Query and fragment ignored, case of scheme and host, the default
        // port, percent-escapes' case: the same URL.
        for htu in [
            "https://id.example.com/oauth2/token?x=1",
            "HTTPS://ID.Example.COM/oauth2/token",
            "https://id.example.com:443/oauth2/token#f",
        ] {
            let p = c.with(|_, c| c["htu"] = json!(htu));
            assert!(check_proof(&p, &expected()).is_ok(), "{htu}");
        }
        assert_eq!(
            normalize_url("https://a.example/p%2fq"),
            normalize_url("https://a.example/p%2Fq")
        );
        // The path's case matters.
        let p = c.with(|_, c| c["htu"] = json!("https://id.example.com/OAuth2/token"));
        assert_eq!(check_proof(&p, &expected()), Err(ProofError::Url));
    }

    #[test]
    fn at_a_resource_ath_must_be_the_presented_tokens_hash() {
        let c = Client::new();
        let at = Expected {
            method: "GET",
            url: "https://id.example.com/oauth2/userinfo",
            access_token: Some("an.access.token"),
            now: now(),
        };
        let proof = |ath: Option<String>| {
            c.with(|_, claims| {
                claims["htm"] = json!("GET");
                claims["htu"] = json!("https://id.example.com/oauth2/userinfo");
                if let Some(ath) = ath {
                    claims["ath"] = json!(ath);
                }
            })
        };
        assert!(check_proof(&proof(Some(access_token_hash("an.access.token"))), &at).is_ok());
        assert_eq!(
            check_proof(&proof(Some(access_token_hash("another"))), &at),
            Err(ProofError::AccessTokenHash)
        );
        assert_eq!(
            check_proof(&proof(None), &at),
            Err(ProofError::AccessTokenHash)
        );
    }
}
