//! Invite codes: short, random, easy to read aloud (no 0/O or 1/I/L).

use crate::{Timestamp, UserId, ValidationError};

/// Characters of a code.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Length of a code: 31^10 ≈ 8e14 codes, far beyond guessing under the rate limit.
const CODE_LEN: usize = 10;

/// A well-formed invite code (upper case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl InviteCode {
    /// Builds a code from random bytes (one byte per character).
    pub fn from_random(bytes: [u8; CODE_LEN]) -> Self {
        let code = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        Self(code)
    }

    /// Parses a code typed by a user; case, spaces and dashes are ignored.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if s.len() != CODE_LEN || !s.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(ValidationError::new("code", "not a valid invite code"));
        }
        Ok(Self(s))
    }

    /// Rebuilds a code read back from the store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An invite code and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The code to share.
    pub code: InviteCode,
    /// Who created it.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was redeemed, if it was.
    pub used_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_ignore_case_spaces_and_dashes() {
        let code = InviteCode::from_random([7; CODE_LEN]);
        let typed = format!("{}-{}", &code.as_str()[..5], &code.as_str()[5..]).to_lowercase();
        assert_eq!(InviteCode::parse(&typed), Ok(code));
    }

    #[test]
    fn malformed_codes_are_refused() {
        assert!(InviteCode::parse("SHORT").is_err());
        assert!(InviteCode::parse("OOOOOOOOOO").is_err());
    }
}
