//! The API key format: `ghk_<environment>_<lookup><secret><checksum>`.
//!
//! - `ghk_`: a fixed product prefix, so secret scanners can match a leaked key;
//! - the environment marker (the environment's name, lowercased letters and digits, at most 12);
//! - an 8-character lookup id (base62, public: it finds the stored record and is shown in lists);
//! - 32 random base62 characters from the operating system's CSPRNG (190 bits);
//! - a 6-character base62 CRC32 of everything before it, so a typo or truncation is refused
//!   without touching the store.
//!
//! The whole key matches `ghk_[a-z0-9]{1,12}_[0-9A-Za-z]{46}`. Only an HMAC-SHA256 of the whole
//! key under the server's pepper is stored, never the key.

use crate::server::secrets::encode_hex;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const PREFIX: &str = "ghk_";
pub const LOOKUP_LEN: usize = 8;
pub const SECRET_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
/// The documented regular expression (README) that every key matches.
pub const REGEX: &str = "ghk_[a-z0-9]{1,12}_[0-9A-Za-z]{46}";
/// Nothing longer is even looked at.
pub const MAX_LEN: usize = PREFIX.len() + 12 + 1 + LOOKUP_LEN + SECRET_LEN + CHECKSUM_LEN;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a presented key was refused before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("empty")]
    Empty,
    #[error("too long")]
    TooLong,
    #[error("not the Gatehouse key format")]
    Format,
    #[error("checksum mismatch")]
    Checksum,
}

/// A key that has the right shape and checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    pub environment: &'a str,
    pub lookup_id: &'a str,
    pub key: &'a str,
}

/// CRC-32 (IEEE), the checksum secret scanners can recompute.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

fn checksum(text: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = u64::from(crc32(text.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// The environment marker for an environment's name.
pub fn environment_marker(name: &str) -> String {
    let marker: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    if marker.is_empty() {
        "env".to_owned()
    } else {
        marker
    }
}

/// `n` base62 characters from the CSPRNG, without modulo bias (bytes ≥ 248 are redrawn).
pub fn random_base62(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).expect("the operating system's random source");
        for &b in &buf {
            if out.len() == n {
                break;
            }
            if b < 248 {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// A new key for an environment, with its lookup id.
pub fn generate(environment: &str) -> (String, String) {
    let lookup = random_base62(LOOKUP_LEN);
    (
        with_lookup(&environment_marker(environment), &lookup),
        lookup,
    )
}

/// A key with a fresh secret for an existing lookup id (a rotation).
pub fn with_lookup(marker: &str, lookup: &str) -> String {
    let body = format!("{PREFIX}{marker}_{lookup}{}", random_base62(SECRET_LEN));
    let sum = checksum(&body);
    format!("{body}{}", std::str::from_utf8(&sum).unwrap_or_default())
}

/// Checks a presented key's shape and checksum; touches nothing else. Every gateway call starts
/// here, so it is one pass: the body after the environment marker has a fixed length, which
/// places the marker's end without searching for it.
pub fn parse(key: &str) -> Result<ParsedKey<'_>, Malformed> {
    const BODY_LEN: usize = LOOKUP_LEN + SECRET_LEN + CHECKSUM_LEN;
    if key.is_empty() {
        return Err(Malformed::Empty);
    }
    if key.len() > MAX_LEN {
        return Err(Malformed::TooLong);
    }
    let bytes = key.as_bytes();
    let marker_len = key
        .len()
        .checked_sub(PREFIX.len() + 1 + BODY_LEN)
        .filter(|n| (1..=12).contains(n))
        .ok_or(Malformed::Format)?;
    let body_start = PREFIX.len() + marker_len + 1;
    let marker = &bytes[PREFIX.len()..body_start - 1];
    // Without stopping early, so the compiler checks many bytes at a time.
    let shaped = bytes.starts_with(PREFIX.as_bytes())
        && bytes[body_start - 1] == b'_'
        && marker.iter().fold(true, |ok, b| {
            ok & (b.is_ascii_lowercase() | b.is_ascii_digit())
        })
        && bytes[body_start..]
            .iter()
            .fold(true, |ok, b| ok & b.is_ascii_alphanumeric());
    if !shaped {
        return Err(Malformed::Format);
    }
    // All ASCII from here, so these are character boundaries.
    let (signed, sum) = key.split_at(key.len() - CHECKSUM_LEN);
    if checksum(signed).as_slice() != sum.as_bytes() {
        return Err(Malformed::Checksum);
    }
    Ok(ParsedKey {
        environment: &key[PREFIX.len()..body_start - 1],
        lookup_id: &key[body_start..body_start + LOOKUP_LEN],
        key,
    })
}

/// The stored form of a key: HMAC-SHA256 under the server's pepper, in hex.
pub fn keyed_hash(pepper: &[u8], key: &str) -> String {
    encode_hex(&KeyHasher::new(pepper).hash(key))
}

/// HMAC-SHA256 under the pepper with the key schedule done once: the verifier hashes every
/// presented key, and starting from a prepared state saves two of the four SHA-256 blocks.
#[derive(Clone)]
pub struct KeyHasher(Hmac<Sha256>);

impl KeyHasher {
    pub fn new(pepper: &[u8]) -> Self {
        Self(Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC takes keys of any length"))
    }

    /// The raw 32-byte hash of a presented key.
    pub fn hash(&self, key: &str) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// What lists show of a key: its prefix up to the lookup id.
pub fn public_prefix(environment: &str, lookup_id: &str) -> String {
    format!("{PREFIX}{}_{lookup_id}", environment_marker(environment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn generated_keys_parse_and_match_the_documented_shape() {
        for env in ["production", "Staging EU", "", "sandbox-2"] {
            let (key, lookup) = generate(env);
            let parsed = parse(&key).unwrap();
            assert_eq!(parsed.lookup_id, lookup);
            assert_eq!(parsed.environment, environment_marker(env));
            assert!(key.starts_with(&public_prefix(env, &lookup)));
            // The documented regex, checked by hand: prefix, marker, underscore, 46 base62.
            let rest = key.strip_prefix("ghk_").unwrap();
            let (marker, body) = rest.split_once('_').unwrap();
            assert!((1..=12).contains(&marker.len()));
            assert!(
                marker
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
            assert_eq!(body.len(), 46);
            assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn any_single_changed_character_fails() {
        let (key, _) = generate("production");
        let bytes = key.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'0', b'a', b'Z', b'_', b'x'] {
                if bytes[i] == replacement {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = replacement;
                let changed = String::from_utf8(changed).unwrap();
                assert!(parse(&changed).is_err(), "{changed} was accepted");
            }
        }
    }

    #[test]
    fn malformed_keys_are_refused_with_a_reason() {
        let (key, _) = generate("production");
        assert_eq!(parse(""), Err(Malformed::Empty));
        assert_eq!(parse(&"a".repeat(10_240)), Err(Malformed::TooLong));
        assert_eq!(parse(&key.replace("ghk_", "ghx_")), Err(Malformed::Format));
        assert_eq!(parse("ghk_prod_ünïcødé"), Err(Malformed::Format));
        assert_eq!(parse(&key[..key.len() - 1]), Err(Malformed::Format));
        assert_eq!(parse("ghk_production"), Err(Malformed::Format));
        let mut swapped = key.clone().into_bytes();
        let n = swapped.len();
        swapped.swap(n - 10, n - 9);
        let swapped = String::from_utf8(swapped).unwrap();
        if swapped != key {
            assert_eq!(parse(&swapped), Err(Malformed::Checksum));
        }
    }

    #[test]
    fn markers_of_one_to_twelve_letters_or_digits_are_the_only_ones_accepted() {
        // Keys made as issued keys are (a valid checksum over the whole), whatever the marker.
        let key = |marker: &str| with_lookup(marker, "Ab3xAb3x");
        for marker in ["p", "prod2", "abcdefghijkl"] {
            let key = key(marker);
            assert_eq!(parse(&key).unwrap().environment, marker, "{key}");
        }
        // Thirteen characters make the key longer than any key: refused before its shape.
        assert_eq!(parse(&key("abcdefghijklm")), Err(Malformed::TooLong));
        // The rest only the shape refuses.
        for marker in ["", "pr_od", "Prod", "pröd", "pr-od", "abcdefghijk_"] {
            let key = key(marker);
            assert_eq!(parse(&key), Err(Malformed::Format), "{key}");
        }
        // The body one character short or long, with the marker absorbing the difference.
        let key = key("prod");
        assert_eq!(parse(&key.replacen("_", "", 1)), Err(Malformed::Format));
        assert_eq!(
            parse(&key.replacen("prod_", "prod__", 1)),
            Err(Malformed::Format)
        );
    }

    #[test]
    fn a_large_sample_has_no_duplicates() {
        let mut seen = HashSet::new();
        for _ in 0..100_000 {
            assert!(seen.insert(generate("production").0));
        }
    }

    #[test]
    fn the_stored_hash_depends_on_the_pepper() {
        let (key, _) = generate("production");
        assert_ne!(
            keyed_hash(b"pepper-one", &key),
            keyed_hash(b"pepper-two", &key)
        );
        assert_eq!(keyed_hash(b"pepper-one", &key).len(), 64);
        // The prepared hasher agrees with a fresh HMAC over the same pepper.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"pepper-one").unwrap();
        mac.update(key.as_bytes());
        assert_eq!(
            KeyHasher::new(b"pepper-one").hash(&key).as_slice(),
            mac.finalize().into_bytes().as_slice()
        );
    }
}
