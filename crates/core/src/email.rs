//! Email addresses: trimmed and lower-cased so that one mailbox is one account.

use crate::ValidationError;
use serde::Serialize;
use std::fmt;

/// A plausible email address (shape only; ownership is the identity provider's job).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address; refuses anything without a local part, an `@` and a dotted domain.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim().to_lowercase();
        let err = || ValidationError::new("email", "email must be a valid address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err());
        }
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(err());
        }
        Ok(Self(s))
    }

    /// Rebuilds an address read back from the store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_to_lower_case() {
        assert_eq!(
            Email::parse("  Rider@Example.COM ").map(|e| e.0),
            Ok("rider@example.com".into())
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@b",
            "a@.com",
            "a@com.",
            "a b@c.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
