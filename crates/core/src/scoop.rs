//! Scoops: stories that vanish after their lifetime (`SCOOP_TTL`, 24 hours by default).

use crate::{Timestamp, UserId, ValidationError};

/// Longest caption, in characters.
pub const CAPTION_MAX: usize = 200;

/// A scoop as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoop {
    /// UUIDv7.
    pub id: String,
    /// Who posted it.
    pub author: UserId,
    /// The image or video.
    pub media_key: String,
    /// What the image or video shows, in words, for screen readers.
    pub media_alt: Option<String>,
    /// Optional words.
    pub caption: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// When it vanishes.
    pub expires_at: Timestamp,
    /// Distinct viewers other than the author.
    pub view_count: i64,
}

impl Scoop {
    /// Whether it is still visible at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}

/// A caption: at most 200 characters, one paragraph; blank is none.
pub fn parse_caption(input: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(s) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > CAPTION_MAX || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(
            "caption",
            format!("caption must be at most {CAPTION_MAX} characters"),
        ));
    }
    Ok(Some(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_are_optional_and_bounded() {
        assert_eq!(parse_caption(None), Ok(None));
        assert_eq!(parse_caption(Some("  ")), Ok(None));
        assert_eq!(
            parse_caption(Some(" sunset ride ")),
            Ok(Some("sunset ride".into()))
        );
        assert!(parse_caption(Some(&"x".repeat(201))).is_err());
    }
}
