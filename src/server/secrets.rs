//! Server secrets: the session key and the pepper for keyed hashes of API keys and tokens. Taken
//! from configuration, or generated once into the data directory with owner-only permissions.

use super::config::Config;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Secret bytes. No `Serialize`, and `Debug` shows nothing of the content.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<[u8]>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Clone, Debug)]
pub struct Secrets {
    pub session_key: Secret,
    pub key_pepper: Secret,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SecretsError {
    path: PathBuf,
    message: String,
}

impl Secrets {
    pub fn load_or_create(config: &Config) -> Result<Self, SecretsError> {
        let dir = config.data_dir.join("secrets");
        let get = |configured: &Option<super::config::SecretString>, file: &str| match configured {
            Some(value) => Ok(Secret(value.expose().as_bytes().into())),
            None => load_or_generate(&dir.join(file)),
        };
        Ok(Self {
            session_key: get(&config.session_key, "session.key")?,
            key_pepper: get(&config.key_pepper, "key-pepper.key")?,
        })
    }
}

fn load_or_generate(path: &Path) -> Result<Secret, SecretsError> {
    let fail = |message: String| SecretsError {
        path: path.to_owned(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create the directory: {e}")))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail(format!("cannot restrict the directory: {e}")))?;
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)
                .map_err(|e| fail(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(fail(format!(
                    "is readable by others (mode {:o}); run chmod 600 on it",
                    mode & 0o777
                )));
            }
            let bytes = decode_hex(text.trim())
                .filter(|b| b.len() >= 32)
                .ok_or_else(|| fail("is not 64 or more hex digits".to_owned()))?;
            Ok(Secret(bytes.into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| fail(format!("no randomness available: {e}")))?;
            // create_new: two processes starting at once never overwrite each other's secret.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(mut file) => {
                    file.write_all(encode_hex(&bytes).as_bytes())
                        .map_err(|e| fail(e.to_string()))?;
                    file.sync_all().map_err(|e| fail(e.to_string()))?;
                    Ok(Secret(bytes.into()))
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_generate(path),
                Err(e) => Err(fail(format!("cannot create: {e}"))),
            }
        }
        Err(e) => Err(fail(format!("cannot read: {e}"))),
    }
}

pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The SHA-256 of a secret, hex-encoded: what the store keeps of session ids, sign-in cookies
/// and invitation links, and how presented tokens are compared.
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    use sha2::{Digest, Sha256};
    encode_hex(&Sha256::digest(data.as_ref()))
}

/// Equality that takes the same time wherever the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Fresh random bytes from the operating system, hex-encoded.
pub fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    encode_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_owner_only_and_stable_across_loads() {
        let dir = crate::server::temp_dir::TempDir::new("secrets");
        let path = dir.join("secrets").join("session.key");
        let first = load_or_generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_generate(&path).unwrap(), first);
        assert_eq!(format!("{first:?}"), "Secret(…)");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_generate(&path).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            decode_hex(&encode_hex(&[0, 1, 254, 255])),
            Some(vec![0, 1, 254, 255])
        );
        assert_eq!(decode_hex("zz"), None);
    }
}
