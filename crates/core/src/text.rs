//! Free text a user writes about themselves. Lengths count Unicode scalar values, the
//! unit the app's text fields count too.

use crate::ValidationError;

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 50;
/// Longest bio, in characters.
pub const BIO_MAX: usize = 300;

fn has_forbidden_controls(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
}

/// A display name: 1–50 characters after trimming, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim();
        let n = s.chars().count();
        if n == 0 || n > DISPLAY_NAME_MAX || has_forbidden_controls(s, false) {
            return Err(ValidationError::new(
                "displayName",
                format!("displayName must be 1-{DISPLAY_NAME_MAX} characters on one line"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A bio: up to 300 characters; newlines allowed; empty clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    /// Parses a bio.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim();
        if s.chars().count() > BIO_MAX || has_forbidden_controls(s, true) {
            return Err(ValidationError::new(
                "bio",
                format!("bio must be at most {BIO_MAX} characters"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The bio; `None` when empty.
    pub fn into_option(self) -> Option<String> {
        (!self.0.is_empty()).then_some(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_count_characters_not_bytes() {
        assert!(DisplayName::parse(&"é".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(51)).is_err());
    }

    #[test]
    fn blank_or_multiline_display_names_are_refused() {
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("two\nlines").is_err());
    }

    #[test]
    fn bios_keep_newlines_and_empty_clears() {
        assert!(Bio::parse("line one\nline two").is_ok());
        assert_eq!(Bio::parse("  ").map(Bio::into_option), Ok(None));
        assert!(Bio::parse(&"x".repeat(301)).is_err());
        assert!(Bio::parse("bell\u{7}").is_err());
    }
}
