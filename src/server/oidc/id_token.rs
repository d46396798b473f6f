//! ID-token validation, as OpenID Connect Core 3.1.3.7 asks: the signature against one of the
//! provider's published keys, `iss` exactly, `aud` holding our client id (and `azp` when there are
//! several audiences), `exp` and `iat` against our clock, and the `nonce` this browser was given.
//! Only asymmetric algorithms are accepted: `alg: none` and HMAC (which would let anyone who has
//! the public key forge tokens) are refused before any key is touched.

use crate::server::secrets::constant_time_eq;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Why an ID token was refused. Shown to no one but the log; the person sees "could not verify".
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the token is not a signed JWT: {0}")]
    Malformed(String),
    #[error("algorithm {0} is not accepted (only RS*, PS*, ES* and EdDSA)")]
    AlgorithmRefused(String),
    #[error("no published key has id {0:?}")]
    UnknownKey(Option<String>),
    #[error("the key does not fit the token's algorithm")]
    KeyMismatch,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the issuer is not {expected}")]
    WrongIssuer { expected: String },
    #[error("the audience does not include our client id")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the nonce does not match this sign-in")]
    NonceMismatch,
    #[error("the claim {0} is missing or not a string")]
    MissingClaim(&'static str),
}

/// What the token must say.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: i64,
}

/// Clocks drift; a minute either way is the usual allowance.
const LEEWAY_SECONDS: i64 = 60;

/// A verified token's claims. `sub` is guaranteed present.
#[derive(Clone, Debug)]
pub struct VerifiedClaims {
    pub subject: String,
    pub claims: Map<String, Value>,
}

impl VerifiedClaims {
    /// A string claim by name (as configured), trimmed; empty counts as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Whether the provider said the email is verified. Absent means it did not say otherwise.
    pub fn email_not_verified(&self) -> bool {
        matches!(self.claims.get("email_verified"), Some(Value::Bool(false)))
            || matches!(self.claims.get("email_verified"), Some(Value::String(s)) if s == "false")
    }
}

/// Peeks at the header: the algorithm (refusing the unacceptable ones) and the key id.
pub fn header(token: &str) -> Result<(Algorithm, Option<String>), IdTokenError> {
    let encoded = token
        .split('.')
        .next()
        .ok_or_else(|| IdTokenError::Malformed("empty".into()))?;
    let raw = base64_url(encoded).ok_or_else(|| IdTokenError::Malformed("header".into()))?;
    let value: Value = serde_json::from_slice(&raw)
        .map_err(|_| IdTokenError::Malformed("header is not JSON".into()))?;
    let alg = value
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| IdTokenError::Malformed("no alg".into()))?;
    let algorithm = match alg {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        other => {
            return Err(IdTokenError::AlgorithmRefused(
                other.chars().take(16).collect(),
            ));
        }
    };
    let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((algorithm, kid))
}

fn base64_url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

/// The published key for a token: by `kid`, or the only signing key when the token names none.
pub fn select_key<'k>(keys: &'k [Jwk], kid: Option<&str>) -> Option<&'k Jwk> {
    let signing = keys.iter().filter(|k| {
        !matches!(
            k.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        )
    });
    match kid {
        Some(kid) => signing
            .clone()
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let mut all = signing;
            let first = all.next();
            if all.next().is_some() { None } else { first }
        }
    }
}

fn key_fits(key: &Jwk, algorithm: Algorithm) -> bool {
    let family_fits = match &key.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            algorithm,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => {
            matches!(algorithm, Algorithm::ES256 | Algorithm::ES384)
        }
        AlgorithmParameters::OctetKeyPair(_) => algorithm == Algorithm::EdDSA,
        // A symmetric key is never a provider's published signing key.
        AlgorithmParameters::OctetKey(_) => false,
    };
    let declared_fits = match key.common.key_algorithm {
        None => true,
        Some(declared) => {
            let declared = match declared {
                KeyAlgorithm::RS256 => Some(Algorithm::RS256),
                KeyAlgorithm::RS384 => Some(Algorithm::RS384),
                KeyAlgorithm::RS512 => Some(Algorithm::RS512),
                KeyAlgorithm::PS256 => Some(Algorithm::PS256),
                KeyAlgorithm::PS384 => Some(Algorithm::PS384),
                KeyAlgorithm::PS512 => Some(Algorithm::PS512),
                KeyAlgorithm::ES256 => Some(Algorithm::ES256),
                KeyAlgorithm::ES384 => Some(Algorithm::ES384),
                KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
                _ => None,
            };
            declared == Some(algorithm)
        }
    };
    family_fits && declared_fits
}

/// Verifies a token against one key (already chosen with [`select_key`]).
pub fn verify(
    token: &str,
    key: &Jwk,
    expected: &Expected<'_>,
) -> Result<VerifiedClaims, IdTokenError> {
    let (algorithm, _) = header(token)?;
    if !key_fits(key, algorithm) {
        return Err(IdTokenError::KeyMismatch);
    }
    let decoding = DecodingKey::from_jwk(key).map_err(|_| IdTokenError::KeyMismatch)?;
    let mut validation = Validation::new(algorithm);
    // Time is checked below against our own (injectable) clock; issuer and audience here and
    // again below, so that the reason is precise.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::BadSignature,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => IdTokenError::KeyMismatch,
                _ => IdTokenError::Malformed(e.to_string()),
            }
        })?;
    let claims = data.claims;

    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(IdTokenError::WrongIssuer {
            expected: expected.issuer.to_owned(),
        });
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    if audiences.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(expected.client_id)
    {
        return Err(IdTokenError::WrongAudience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::MissingClaim("exp"))?;
    if expected.now >= exp.saturating_add(LEEWAY_SECONDS) {
        return Err(IdTokenError::Expired);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > expected.now + LEEWAY_SECONDS {
        return Err(IdTokenError::IssuedInFuture);
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf > expected.now + LEEWAY_SECONDS
    {
        return Err(IdTokenError::IssuedInFuture);
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(nonce) if constant_time_eq(nonce.as_bytes(), expected.nonce.as_bytes()) => {}
        _ => return Err(IdTokenError::NonceMismatch),
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or(IdTokenError::MissingClaim("sub"))?
        .to_owned();
    Ok(VerifiedClaims { subject, claims })
}

/// Parses a JWKS document, keeping the keys this library understands and skipping the rest (a
/// provider may publish encryption keys or types we do not use alongside its signing keys).
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    Ok(keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect())
}
