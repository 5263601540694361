//! The built-in issuer's signing key: one P-256 key kept as PKCS#8 PEM in the data
//! folder (mode 0600), created on first start. ES256 keeps keys small and key
//! generation instant; the `kid` is derived from the public key so it never drifts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the key inside the keys folder.
const KEY_FILE: &str = "signing-es256.pem";

/// Why the signing key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("signing key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not hold a P-256 PKCS#8 key.
    #[error("signing key file {0} is not a P-256 PKCS#8 PEM key")]
    Malformed(PathBuf),
    /// The operating system's random source failed.
    #[error("no randomness available to create a signing key")]
    Random,
}

/// A private signing key with its id and public JWK.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    x: String,
    y: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads the key from `dir`, creating it (and `dir`) on first use. Safe when two
    /// processes start at once: the file appears complete or not at all.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| KeyError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(KEY_FILE);
        if !path.exists() {
            let pem = Self::generate_pem()?;
            let tmp = dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
            write_private(&tmp, pem.as_bytes()).map_err(io(&tmp))?;
            // A hard link never replaces an existing file: if another process won the
            // race, its key stays and ours is discarded.
            let linked = std::fs::hard_link(&tmp, &path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        let pem = std::fs::read_to_string(&path).map_err(io(&path))?;
        Self::from_pem(&pem).ok_or(KeyError::Malformed(path))
    }

    /// A fresh key (for tests and for a second, untrusted issuer in tests).
    pub fn generate() -> Result<Self, KeyError> {
        let pem = Self::generate_pem()?;
        Self::from_pem(&pem).ok_or_else(|| KeyError::Malformed(PathBuf::from("<generated>")))
    }

    fn generate_pem() -> Result<String, KeyError> {
        // Retry in the astronomically unlikely case the bytes are not a valid scalar.
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|_| KeyError::Random)?;
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                let pem = secret
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|_| KeyError::Random)?;
                return Ok(pem.to_string());
            }
        }
        Err(KeyError::Random)
    }

    /// Parses a PKCS#8 PEM P-256 key.
    pub fn from_pem(pem: &str) -> Option<Self> {
        let secret = SecretKey::from_pkcs8_pem(pem).ok()?;
        let point = secret.public_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x()?);
        let y = URL_SAFE_NO_PAD.encode(point.y()?);
        let digest = Sha256::digest(point.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..12]);
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).ok()?;
        Some(Self {
            kid,
            encoding,
            x,
            y,
        })
    }

    /// The key id put in token headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key for signing.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public key for verifying.
    pub fn decoding_key(&self) -> Option<DecodingKey> {
        DecodingKey::from_ec_components(&self.x, &self.y).ok()
    }

    /// The public key as a JWK (RFC 7517), as published at `/.well-known/jwks.json`.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_and_reloaded_with_the_same_kid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = SigningKey::load_or_create(dir.path()).expect("create");
        let second = SigningKey::load_or_create(dir.path()).expect("load");
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.public_jwk(), second.public_jwk());
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        SigningKey::load_or_create(dir.path()).expect("create");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }

    #[test]
    fn a_corrupt_key_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), "garbage").expect("write");
        assert!(matches!(
            SigningKey::load_or_create(dir.path()),
            Err(KeyError::Malformed(_))
        ));
    }
}
