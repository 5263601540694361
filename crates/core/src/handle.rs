//! Handles: the public `@name` of a user. Case is kept for display; uniqueness and
//! lookups ignore it (the store keeps a lower-case copy).

use crate::ValidationError;
use serde::Serialize;
use std::fmt;

/// Words that would impersonate the service or collide with app routes.
const RESERVED: &[&str] = &[
    "about",
    "admin",
    "administrator",
    "api",
    "app",
    "auth",
    "blocked",
    "comments",
    "docs",
    "explore",
    "feed",
    "help",
    "login",
    "logout",
    "me",
    "media",
    "moderator",
    "notifications",
    "null",
    "official",
    "posts",
    "reactions",
    "root",
    "scooterbooter",
    "scoops",
    "search",
    "security",
    "settings",
    "signup",
    "staff",
    "support",
    "system",
    "undefined",
    "username",
];

/// A validated handle: 3–30 characters of `a-z`, `A-Z`, `0-9` and `_`, not reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Handle(String);

/// Why a string cannot be a handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleProblem {
    /// Not 3–30 characters of `a-z`, `A-Z`, `0-9` and `_`.
    Invalid,
    /// Kept for the service (`admin`, `support`, …).
    Reserved,
}

impl From<HandleProblem> for ValidationError {
    fn from(p: HandleProblem) -> Self {
        match p {
            HandleProblem::Invalid => {
                ValidationError::new("handle", "handle must be 3-30 characters of a-z, 0-9 and _")
            }
            HandleProblem::Reserved => ValidationError::new("handle", "that handle is reserved"),
        }
    }
}

impl Handle {
    /// Parses a handle as typed by a user; one leading `@` is ignored.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        Self::check(input).map_err(ValidationError::from)
    }

    /// [`Handle::parse`], saying why not as a [`HandleProblem`].
    pub fn check(input: &str) -> Result<Self, HandleProblem> {
        let s = input.trim();
        let s = s.strip_prefix('@').unwrap_or(s);
        let valid_chars = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !(3..=30).contains(&s.len()) || !valid_chars {
            return Err(HandleProblem::Invalid);
        }
        let lower = s.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            return Err(HandleProblem::Reserved);
        }
        Ok(Self(s.to_owned()))
    }

    /// Rebuilds a handle read back from the store, which only ever holds parsed ones.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The handle as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key uniqueness and lookups use.
    pub fn lowercase(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_handles_are_accepted_with_case_kept() {
        for ok in ["abc", "Scooter_Sam", "a_1", &"x".repeat(30), "@rider42"] {
            assert!(Handle::parse(ok).is_ok(), "{ok} should be valid");
        }
        assert_eq!(
            Handle::parse("@Rider42").map(|h| h.lowercase()),
            Ok("rider42".into())
        );
    }

    #[test]
    fn handles_breaking_a_rule_are_refused_with_the_field_named() {
        for bad in [
            "ab",
            &"x".repeat(31),
            "has space",
            "dash-es",
            "émile",
            "",
            "a.b",
            "@@abc",
        ] {
            let err = Handle::parse(bad).err();
            assert_eq!(
                err.map(|e| e.field),
                Some("handle"),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn reserved_words_are_refused_in_any_case() {
        assert!(Handle::parse("Admin").is_err());
        assert!(Handle::parse("SUPPORT").is_err());
    }
}
