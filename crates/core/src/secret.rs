//! Secrets typed by users. Their `Debug` never prints the value, so a stray log line
//! cannot leak a password.

use crate::ValidationError;
use std::fmt;

/// A password as submitted: 8–128 characters.
pub struct Password(String);

impl Password {
    /// Parses a password for sign-up (length rules apply).
    pub fn parse_new(input: String) -> Result<Self, ValidationError> {
        let n = input.chars().count();
        if !(8..=128).contains(&n) {
            return Err(ValidationError::new(
                "password",
                "password must be 8-128 characters",
            ));
        }
        Ok(Self(input))
    }

    /// Wraps a password for a log-in attempt; an overlong one is refused (never hashed).
    pub fn parse_attempt(input: String) -> Result<Self, ValidationError> {
        if input.len() > 1024 {
            return Err(ValidationError::new("password", "password is too long"));
        }
        Ok(Self(input))
    }

    /// The password bytes, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let p = Password::parse_new("correct horse".into());
        assert_eq!(format!("{:?}", p.ok()), "Some(Password(***))");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(Password::parse_new("short".into()).is_err());
    }
}
