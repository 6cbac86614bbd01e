//! Passkeys (API §13, WebAuthn Level 2): what is stored of one, and the
//! relying party's checks of a registration (§7.1) and of a sign-in
//! (§7.2). Signatures are checked with the crypto library the signing keys
//! already link; the CBOR of attestations and COSE keys is read with a small
//! decoder. Attestation statements are not checked: the page asks for none,
//! and no decision here rests on an authenticator's make.

use super::token::token_hash;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use minicbor::data::Type;
use minicbor::Decoder;
use ring::digest::{digest, SHA256};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use time::OffsetDateTime;

/// The COSE algorithms a passkey may use (the page offers them in this
/// order): ES256, EdDSA, RS256.
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const RS256: i64 = -257;
pub const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

/// The longest credential id WebAuthn allows.
pub const MAX_CREDENTIAL_ID: usize = 1023;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// A registered passkey.
#[derive(Debug, Clone, PartialEq)]
pub struct Passkey {
    /// The credential id the authenticator chose.
    pub id: Vec<u8>,
    /// Its COSE algorithm, one of [`ALGORITHMS`].
    pub alg: i64,
    /// The public key: ES256 the uncompressed point, EdDSA the 32 bytes,
    /// RS256 `len(e)` (2 bytes) ‖ e ‖ n.
    pub public_key: Vec<u8>,
    /// The authenticator's signature counter at the last use (0: it keeps
    /// none).
    pub sign_count: u32,
    /// Whether the credential may be synced to other devices (BE), and
    /// whether it is (BS).
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl Passkey {
    /// The credential id as the browser names it (base64url).
    pub fn id_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.id)
    }

    /// RFC 8176's method: a key that can leave the device is software's.
    pub fn amr(&self) -> &'static str {
        if self.backup_eligible {
            "swk"
        } else {
            "hwk"
        }
    }
}

/// What every ceremony is checked against: the challenge the page gave, the
/// issuer's origin, and the relying-party id (its host).
#[derive(Debug, Clone, Copy)]
pub struct Ceremony<'a> {
    pub challenge: &'a [u8],
    pub origin: &'a str,
    pub rp_id: &'a str,
}

/// The origin (`scheme://host[:port]`) and relying-party id (host) of an
/// issuer URL.
pub fn relying_party(issuer_url: &str) -> (String, String) {
    let (scheme, rest) = issuer_url
        .split_once("://")
        .unwrap_or(("https", issuer_url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let scheme = scheme.to_ascii_lowercase();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (h, Some(port)),
        _ => (authority, None),
    };
    let host = host.to_ascii_lowercase();
    // A browser names an origin without its scheme's default port.
    let origin = match port {
        Some("443") if scheme == "https" => format!("{scheme}://{host}"),
        Some("80") if scheme == "http" => format!("{scheme}://{host}"),
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    };
    (origin, host)
}

/// Why a ceremony failed: logged and counted, never shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    #[error("the client data is not what the browser sends")]
    ClientData,
    #[error("the ceremony is of the other kind")]
    WrongType,
    #[error("the challenge is not the page's")]
    Challenge,
    #[error("the origin is not the issuer's")]
    Origin,
    #[error("the authenticator data or attestation cannot be read")]
    Malformed,
    #[error("the authenticator signed for another relying party")]
    RpId,
    #[error("the user was not verified")]
    NotVerified,
    #[error("the key's algorithm or form is not one this issuer takes")]
    UnsupportedKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("the signature counter went back: the key may be cloned")]
    Counter,
    #[error("the user handle is not the passkey owner's")]
    UserHandle,
}

#[derive(Deserialize)]
struct ClientData<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    challenge: &'a str,
    origin: &'a str,
    #[serde(default, rename = "crossOrigin")]
    cross_origin: bool,
}

fn check_client_data(raw: &[u8], kind: &str, ceremony: &Ceremony<'_>) -> Result<(), PasskeyError> {
    let data: ClientData<'_> = serde_json::from_slice(raw).map_err(|_| PasskeyError::ClientData)?;
    if data.kind != kind {
        return Err(PasskeyError::WrongType);
    }
    let challenge = URL_SAFE_NO_PAD
        .decode(data.challenge.trim_end_matches('='))
        .map_err(|_| PasskeyError::Challenge)?;
    if challenge != ceremony.challenge {
        return Err(PasskeyError::Challenge);
    }
    if data.origin != ceremony.origin || data.cross_origin {
        return Err(PasskeyError::Origin);
    }
    Ok(())
}

/// The fixed head of authenticator data: the relying party's hash, the
/// flags, the counter.
struct AuthData<'a> {
    flags: u8,
    sign_count: u32,
    rest: &'a [u8],
}

fn auth_data<'a>(raw: &'a [u8], ceremony: &Ceremony<'_>) -> Result<AuthData<'a>, PasskeyError> {
    let (rp_hash, rest) = raw
        .split_first_chunk::<32>()
        .ok_or(PasskeyError::Malformed)?;
    let (&flags, rest) = rest.split_first().ok_or(PasskeyError::Malformed)?;
    let (count, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(PasskeyError::Malformed)?;
    if rp_hash != digest(&SHA256, ceremony.rp_id.as_bytes()).as_ref() {
        return Err(PasskeyError::RpId);
    }
    if flags & FLAG_UP == 0 || flags & FLAG_UV == 0 {
        return Err(PasskeyError::NotVerified);
    }
    // A backup state without backup eligibility is no authenticator's.
    if flags & FLAG_BS != 0 && flags & FLAG_BE == 0 {
        return Err(PasskeyError::Malformed);
    }
    Ok(AuthData {
        flags,
        sign_count: u32::from_be_bytes(*count),
        rest,
    })
}

/// Checks a registration: the browser's `client_data` (JSON) and the
/// authenticator's `attestation_object` (CBOR). The new passkey, made at
/// `now`.
pub fn verify_registration(
    ceremony: &Ceremony<'_>,
    client_data: &[u8],
    attestation_object: &[u8],
    now: OffsetDateTime,
) -> Result<Passkey, PasskeyError> {
    check_client_data(client_data, "webauthn.create", ceremony)?;
    let raw = attestation_auth_data(attestation_object).ok_or(PasskeyError::Malformed)?;
    let data = auth_data(raw, ceremony)?;
    if data.flags & FLAG_AT == 0 {
        return Err(PasskeyError::Malformed);
    }
    let rest = data.rest;
    let (_aaguid, rest) = rest
        .split_first_chunk::<16>()
        .ok_or(PasskeyError::Malformed)?;
    let (len, rest) = rest
        .split_first_chunk::<2>()
        .ok_or(PasskeyError::Malformed)?;
    let len = u16::from_be_bytes(*len) as usize;
    if len == 0 || len > MAX_CREDENTIAL_ID || rest.len() < len {
        return Err(PasskeyError::Malformed);
    }
    let (id, key) = rest.split_at(len);
    let mut d = Decoder::new(key);
    let (alg, public_key) = cose_key(&mut d)?;
    // What follows the key: extensions when the flag says so, else nothing.
    let after = &key[d.position()..];
    let extensions_ok = if data.flags & FLAG_ED != 0 {
        let mut e = Decoder::new(after);
        e.skip().is_ok() && e.position() == after.len()
    } else {
        after.is_empty()
    };
    if !extensions_ok {
        return Err(PasskeyError::Malformed);
    }
    Ok(Passkey {
        id: id.to_vec(),
        alg,
        public_key,
        sign_count: data.sign_count,
        backup_eligible: data.flags & FLAG_BE != 0,
        backed_up: data.flags & FLAG_BS != 0,
        created_at: now,
        last_used_at: None,
    })
}

/// The `authData` of an attestation object (`fmt`, `attStmt`, `authData`).
fn attestation_auth_data(raw: &[u8]) -> Option<&[u8]> {
    let mut d = Decoder::new(raw);
    let entries = d.map().ok()??;
    let mut found = None;
    for _ in 0..entries {
        match d.str().ok()? {
            "authData" => found = Some(d.bytes().ok()?),
            _ => d.skip().ok()?,
        }
    }
    (d.position() == raw.len()).then_some(found).flatten()
}

/// A COSE key (RFC 9053): its algorithm and the key in the form
/// [`Passkey::public_key`] keeps.
fn cose_key(d: &mut Decoder<'_>) -> Result<(i64, Vec<u8>), PasskeyError> {
    let bad = |_| PasskeyError::Malformed;
    let entries = d.map().map_err(bad)?.ok_or(PasskeyError::Malformed)?;
    let mut ints: Vec<(i64, i64)> = Vec::new();
    let mut bytes: Vec<(i64, &[u8])> = Vec::new();
    for _ in 0..entries {
        let label = d.i64().map_err(bad)?;
        match d.datatype().map_err(bad)? {
            Type::U8
            | Type::U16
            | Type::U32
            | Type::U64
            | Type::I8
            | Type::I16
            | Type::I32
            | Type::I64 => ints.push((label, d.i64().map_err(bad)?)),
            Type::Bytes => bytes.push((label, d.bytes().map_err(bad)?)),
            _ => d.skip().map_err(bad)?,
        }
    }
    let int = |l: i64| ints.iter().find(|(k, _)| *k == l).map(|(_, v)| *v);
    let byte = |l: i64| bytes.iter().find(|(k, _)| *k == l).map(|(_, v)| *v);
    let unsupported = Err(PasskeyError::UnsupportedKey);
    // Labels: 1 kty, 3 alg; EC2/OKP -1 crv, -2 x, -3 y; RSA -1 n, -2 e.
    match (int(1), int(3)) {
        (Some(2), Some(ES256)) => match (int(-1), byte(-2), byte(-3)) {
            (Some(1), Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                let mut point = vec![4];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Ok((ES256, point))
            }
            _ => unsupported,
        },
        (Some(1), Some(EDDSA)) => match (int(-1), byte(-2)) {
            (Some(6), Some(x)) if x.len() == 32 => Ok((EDDSA, x.to_vec())),
            _ => unsupported,
        },
        (Some(3), Some(RS256)) => match (byte(-1), byte(-2)) {
            (Some(n), Some(e)) if (256..=1024).contains(&n.len()) && (1..=8).contains(&e.len()) => {
                let mut key = (e.len() as u16).to_be_bytes().to_vec();
                key.extend_from_slice(e);
                key.extend_from_slice(n);
                Ok((RS256, key))
            }
            _ => unsupported,
        },
        _ => unsupported,
    }
}

/// A sign-in's assertion, as the page posts it.
#[derive(Debug, Clone, Copy)]
pub struct Assertion<'a> {
    pub client_data: &'a [u8],
    pub authenticator_data: &'a [u8],
    pub signature: &'a [u8],
    /// The user handle a discoverable credential returns.
    pub user_handle: &'a [u8],
}

/// What a good assertion changes of its passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Used {
    pub sign_count: u32,
    pub backed_up: bool,
}

/// Checks a sign-in with `passkey`, whose owner's handle is `user_handle`.
pub fn verify_assertion(
    ceremony: &Ceremony<'_>,
    passkey: &Passkey,
    user_handle: &[u8],
    a: &Assertion<'_>,
) -> Result<Used, PasskeyError> {
    if a.user_handle != user_handle {
        return Err(PasskeyError::UserHandle);
    }
    check_client_data(a.client_data, "webauthn.get", ceremony)?;
    let data = auth_data(a.authenticator_data, ceremony)?;
    // Eligibility for backup is fixed when the key is made.
    if (data.flags & FLAG_BE != 0) != passkey.backup_eligible {
        return Err(PasskeyError::Malformed);
    }
    let mut signed = a.authenticator_data.to_vec();
    signed.extend_from_slice(digest(&SHA256, a.client_data).as_ref());
    let verified = match passkey.alg {
        ES256 => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &passkey.public_key)
            .verify(&signed, a.signature),
        EDDSA => UnparsedPublicKey::new(&signature::ED25519, &passkey.public_key)
            .verify(&signed, a.signature),
        RS256 => {
            let Some((len, rest)) = passkey.public_key.split_first_chunk::<2>() else {
                return Err(PasskeyError::UnsupportedKey);
            };
            let Some((e, n)) = rest.split_at_checked(u16::from_be_bytes(*len) as usize) else {
                return Err(PasskeyError::UnsupportedKey);
            };
            RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &signed,
                a.signature,
            )
        }
        _ => return Err(PasskeyError::UnsupportedKey),
    };
    verified.map_err(|_| PasskeyError::Signature)?;
    // A counter that keeps none stays 0; one that does must go up.
    if (data.sign_count != 0 || passkey.sign_count != 0) && data.sign_count <= passkey.sign_count {
        return Err(PasskeyError::Counter);
    }
    Ok(Used {
        sign_count: data.sign_count,
        backed_up: data.flags & FLAG_BS != 0,
    })
}

/// The stored form of a spent challenge.
pub fn challenge_hash(challenge: &[u8]) -> String {
    token_hash(&URL_SAFE_NO_PAD.encode(challenge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuers_host() {
        assert_eq!(
            relying_party("https://ID.example.com/prod"),
            ("https://id.example.com".into(), "id.example.com".into())
        );
        assert_eq!(
            relying_party("http://localhost:9000"),
            ("http://localhost:9000".into(), "localhost".into())
        );
        assert_eq!(
            relying_party("https://id.example.com:443/prod"),
            ("https://id.example.com".into(), "id.example.com".into())
        );
    }
}
