//! Upload URLs signed with HMAC-SHA256 over the method, key, content type, exact size
//! and expiry, with a secret kept in the data folder. A URL that differs in any of
//! those is refused, so a client can write only what the server allowed, where it
//! allowed, for as long as it allowed.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

const SECRET_FILE: &str = "media-upload.key";

/// Signs and checks upload URLs.
#[derive(Clone)]
pub struct UploadSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for UploadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadSigner(***)")
    }
}

fn message(key: &str, content_type: &str, size: u64, expires: i64) -> String {
    format!("PUT\n{key}\n{content_type}\n{size}\n{expires}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl UploadSigner {
    /// A signer with this secret.
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    /// Loads the secret from `dir`, creating 32 random bytes on first use.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(SECRET_FILE);
        if !path.exists() {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
            let tmp = dir.join(format!(".{SECRET_FILE}.{}", std::process::id()));
            write_private(&tmp, &secret)?;
            match std::fs::hard_link(&tmp, &path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(Self {
            secret: std::fs::read(path)?,
        })
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("any key length works"))
    }

    /// The signature of an upload.
    pub fn sign(&self, key: &str, content_type: &str, size: u64, expires: i64) -> String {
        let mut mac = self.mac();
        mac.update(message(key, content_type, size, expires).as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `signature` is the signature of this upload (constant-time comparison).
    pub fn verify(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires: i64,
        signature: &str,
    ) -> bool {
        let Some(sig) = unhex(signature) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(message(key, content_type, size, expires).as_bytes());
        mac.verify_slice(&sig).is_ok()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
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
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_to_the_signed_upload_breaks_the_signature() {
        let s = UploadSigner::new(b"secret".to_vec());
        let sig = s.sign("post/u/1.jpg", "image/jpeg", 100, 1000);
        assert!(s.verify("post/u/1.jpg", "image/jpeg", 100, 1000, &sig));
        assert!(!s.verify("post/u/2.jpg", "image/jpeg", 100, 1000, &sig));
        assert!(!s.verify("post/u/1.jpg", "image/png", 100, 1000, &sig));
        assert!(!s.verify("post/u/1.jpg", "image/jpeg", 101, 1000, &sig));
        assert!(!s.verify("post/u/1.jpg", "image/jpeg", 100, 1001, &sig));
        assert!(!s.verify("post/u/1.jpg", "image/jpeg", 100, 1000, "zz"));
        let other = UploadSigner::new(b"other".to_vec());
        assert!(!other.verify("post/u/1.jpg", "image/jpeg", 100, 1000, &sig));
    }
}
