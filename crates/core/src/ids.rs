//! Opaque identifiers. New ids are UUIDv7 (time-sortable); a user id is the identity
//! provider's `sub`, which for external issuers may be any short string.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id we accept from outside; Cognito subs are 36 characters.
const MAX_ID_LEN: usize = 128;

/// A new time-sortable id as a string.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether `s` is acceptable as an id: 1–128 visible ASCII characters.
fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A user's id: the `sub` claim of their token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// A fresh id for an account created by the built-in issuer.
    pub fn generate() -> Self {
        Self(new_id())
    }

    /// Accepts an id from a token or a path; `None` when it cannot be an id.
    pub fn parse(s: &str) -> Option<Self> {
        is_valid_id(s).then(|| Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_sort_by_creation_time() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(a < b);
    }

    #[test]
    fn ids_with_spaces_or_control_characters_are_refused() {
        assert!(UserId::parse("abc def").is_none());
        assert!(UserId::parse("abc\0").is_none());
        assert!(UserId::parse("").is_none());
        assert!(UserId::parse(&"a".repeat(129)).is_none());
        assert!(UserId::parse("3f0c2b1e-0000-4000-8000-000000000000").is_some());
    }
}
