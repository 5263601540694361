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

/// Whether `c` overrides or isolates the direction of the text around it (U+202A–U+202E,
/// U+2066–U+2069). In a name shown beside other text these reverse what follows ("Trojan
/// Source"), so a user could make their name read as someone else's words.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn bidi_refused(field: &'static str) -> ValidationError {
    ValidationError::new(
        field,
        format!("{field} must not contain text-direction override or isolate characters"),
    )
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
        if s.chars().any(is_bidi_control) {
            return Err(bidi_refused("displayName"));
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
        if s.chars().any(is_bidi_control) {
            return Err(bidi_refused("bio"));
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
    fn direction_overrides_and_isolates_are_refused_but_rtl_text_is_not() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            let name = format!("Sam{c}nimda");
            let err = DisplayName::parse(&name).expect_err("refused");
            assert_eq!(err.field, "displayName");
            assert!(Bio::parse(&format!("hi {c} there")).is_err());
        }
        // Right-to-left scripts themselves are names like any other.
        assert!(DisplayName::parse("سامي").is_ok());
        assert!(Bio::parse("שלום, I ride every day").is_ok());
    }

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
