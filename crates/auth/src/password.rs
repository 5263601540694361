//! Password hashing with argon2id (OWASP's first choice), run on the blocking pool so
//! a burst of sign-ins never stalls the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use scooter_core::secret::Password;
use std::sync::LazyLock;

/// Hashing failed (the blocking pool is gone, or the RNG failed).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn salt() -> Result<SaltString, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| HashError(e.to_string()))?;
    SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))
}

fn hash_now(password: &str) -> Result<String, HashError> {
    let salt = salt()?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| HashError(e.to_string()))?;
    Ok(hash.to_string())
}

/// A hash of a random password, verified against when an address has no account, so
/// that "no such account" takes as long as "wrong password".
static DECOY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).ok()?;
    hash_now(&format!("{bytes:?}")).ok()
});

/// Hashes a new password (argon2id, default parameters: 19 MiB, 2 passes).
pub async fn hash(password: Password) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_now(password.expose()))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

/// Checks a password against a stored PHC string; `None` checks against a decoy and
/// is always false.
pub async fn verify(password: Password, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let Some(phc) = stored.or_else(|| DECOY_HASH.clone()) else {
            return false;
        };
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::parse_attempt(s.to_owned()).expect("password")
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let stored = hash(pw("correct horse battery")).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(pw("correct horse battery"), Some(stored.clone())).await);
        assert!(!verify(pw("wrong horse battery"), Some(stored)).await);
    }

    #[tokio::test]
    async fn an_absent_account_never_verifies() {
        assert!(!verify(pw("anything at all"), None).await);
    }
}
