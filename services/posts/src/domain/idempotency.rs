//! What an `Idempotency-Key` is remembered with: a digest of the request it came with,
//! so the key sent again with a different request answers 422 (as the IETF
//! Idempotency-Key draft asks) instead of the first request's result.

use scooter_store::Idempotency;
use sha2::{Digest, Sha256};

/// A key and the digest of the request's parts, in order.
pub struct Fingerprinted {
    key: String,
    fingerprint: String,
}

impl Fingerprinted {
    /// `key` for a request of `kind` made of `parts` (as sent, before any cleaning, so
    /// that a byte-identical retry always matches).
    pub fn new(key: &str, kind: &str, parts: &[&str]) -> Self {
        let mut h = Sha256::new();
        h.update(kind.as_bytes());
        for part in parts {
            // Lengths first: ("ab", "c") and ("a", "bc") differ.
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let fingerprint = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self {
            key: key.to_owned(),
            fingerprint,
        }
    }

    /// What the store is given.
    pub fn as_idempotency(&self) -> Idempotency<'_> {
        Idempotency {
            key: &self.key,
            fingerprint: &self.fingerprint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_matches_and_any_difference_does_not() {
        let f = |parts: &[&str]| Fingerprinted::new("k", "post", parts).fingerprint;
        assert_eq!(f(&["hello", "m1"]), f(&["hello", "m1"]));
        assert_ne!(f(&["hello", "m1"]), f(&["hello", "m2"]));
        assert_ne!(f(&["ab", "c"]), f(&["a", "bc"]));
        assert_ne!(
            Fingerprinted::new("k", "post", &["x"]).fingerprint,
            Fingerprinted::new("k", "comment", &["x"]).fingerprint
        );
    }
}
