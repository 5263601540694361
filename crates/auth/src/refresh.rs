//! Refresh tokens: 256 random bits, handed to the client once and stored only as a
//! SHA-256 hash, so a database leak yields no usable tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Prefix that makes refresh tokens recognisable in leaks and logs.
const PREFIX: &str = "sbr_";

/// A new refresh token and its hash; `None` only if the OS random source fails.
pub fn generate() -> Option<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    Some((token, hash))
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let (a, ha) = generate().expect("random");
        let (b, _) = generate().expect("random");
        assert_ne!(a, b);
        assert_eq!(hash(&a), ha);
        assert_eq!(ha.len(), 64);
    }
}
