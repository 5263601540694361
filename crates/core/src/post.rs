//! Posts, comments and reactions: text rules, mentions, and the stored records.

use crate::{Timestamp, UserId, ValidationError};
use serde::{Deserialize, Serialize};

/// Longest post text, in characters.
pub const POST_TEXT_MAX: usize = 2000;
/// Longest comment, in characters.
pub const COMMENT_TEXT_MAX: usize = 1000;
/// Longest alt text of an attached image or video, in characters.
pub const ALT_MAX: usize = 1500;
/// Mentions recorded per post or comment; more are left as plain text.
const MAX_MENTIONS: usize = 20;

fn parse_text(
    field: &'static str,
    input: &str,
    max: usize,
    allow_blank: bool,
) -> Result<String, ValidationError> {
    let s = input.trim();
    if s.is_empty() && !allow_blank {
        return Err(ValidationError::new(
            field,
            format!("{field} must not be blank"),
        ));
    }
    if s.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ValidationError::new(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(s.to_owned())
}

/// The text of a post: at most 2,000 characters; blank only when the post has media.
pub fn parse_post_text(input: &str, has_media: bool) -> Result<String, ValidationError> {
    parse_text("text", input, POST_TEXT_MAX, has_media)
}

/// The text of a comment: 1–1,000 characters.
pub fn parse_comment_text(input: &str) -> Result<String, ValidationError> {
    parse_text("text", input, COMMENT_TEXT_MAX, false)
}

/// The alt text of an attached image or video, for screen readers: at most 1,500
/// characters after trimming, newlines allowed and no other control characters (tabs
/// neither: a screen reader has nothing to do with them); blank or absent is none.
/// `field` is the request field it came in, for the error.
pub fn parse_alt(
    field: &'static str,
    input: Option<&str>,
) -> Result<Option<String>, ValidationError> {
    let Some(s) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > ALT_MAX {
        return Err(ValidationError::new(
            field,
            format!("alt text must be at most {ALT_MAX} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ValidationError::new(
            field,
            "alt text must not contain control characters other than newlines",
        ));
    }
    Ok(Some(s.to_owned()))
}

/// An upload attached to a post or a scoop: its key and what it shows, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The upload's key.
    pub key: String,
    /// Alt text (already checked by [`parse_alt`]).
    pub alt: Option<String>,
}

impl Attachment {
    /// An attachment without alt text.
    pub fn key(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            alt: None,
        }
    }
}

/// The lower-case handles `@mentioned` in a text, in order, without repeats. A mention
/// is `@` at the start or after a character that cannot be part of a handle, followed
/// by 3–30 handle characters (so `me@example.com` mentions nobody).
pub fn mentioned_handles(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let is_handle_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() && out.len() < MAX_MENTIONS {
        let starts =
            chars[i] == '@' && (i == 0 || !(is_handle_char(chars[i - 1]) || chars[i - 1] == '@'));
        if !starts {
            i += 1;
            continue;
        }
        let end = (i + 1..chars.len())
            .find(|&j| !is_handle_char(chars[j]))
            .unwrap_or(chars.len());
        let len = end - i - 1;
        if (3..=30).contains(&len) {
            let handle: String = chars[i + 1..end]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            if !out.contains(&handle) {
                out.push(handle);
            }
        }
        i = end;
    }
    out
}

/// The kinds of reaction.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReactionType {
    /// 👍
    Like,
    /// 🔥
    Fire,
    /// 🛴
    Scooter,
    /// 😂
    Laugh,
    /// 😮
    Wow,
    /// 😢
    Sad,
}

impl ReactionType {
    /// Every type, in display order.
    pub const ALL: [Self; 6] = [
        Self::Like,
        Self::Fire,
        Self::Scooter,
        Self::Laugh,
        Self::Wow,
        Self::Sad,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Fire => "fire",
            Self::Scooter => "scooter",
            Self::Laugh => "laugh",
            Self::Wow => "wow",
            Self::Sad => "sad",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// How many reactions of each type a post has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReactionCounts {
    /// 👍
    pub like: i64,
    /// 🔥
    pub fire: i64,
    /// 🛴
    pub scooter: i64,
    /// 😂
    pub laugh: i64,
    /// 😮
    pub wow: i64,
    /// 😢
    pub sad: i64,
}

impl ReactionCounts {
    /// The count of one type.
    pub fn get(&self, t: ReactionType) -> i64 {
        match t {
            ReactionType::Like => self.like,
            ReactionType::Fire => self.fire,
            ReactionType::Scooter => self.scooter,
            ReactionType::Laugh => self.laugh,
            ReactionType::Wow => self.wow,
            ReactionType::Sad => self.sad,
        }
    }
}

/// A post as stored, with its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// UUIDv7: ordering by id is ordering by creation.
    pub id: String,
    /// Who wrote it.
    pub author: UserId,
    /// The text.
    pub text: String,
    /// When.
    pub created_at: Timestamp,
    /// Comments on it.
    pub comment_count: i64,
    /// Reactions on it, by type.
    pub reactions: ReactionCounts,
}

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// UUIDv7.
    pub id: String,
    /// The post it is on.
    pub post_id: String,
    /// Who wrote it.
    pub author: UserId,
    /// The text.
    pub text: String,
    /// When.
    pub created_at: Timestamp,
}

/// One user's reaction to a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// Who.
    pub user: UserId,
    /// Which.
    pub kind: ReactionType,
    /// When.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_once_in_order_and_emails_are_not_mentions() {
        let text = "@Sam and @bo rode with @sam_2 (cc @SAM) — mail me@example.com @@x @ok_then!";
        assert_eq!(mentioned_handles(text), vec!["sam", "sam_2", "ok_then"]);
    }

    #[test]
    fn post_text_may_be_blank_only_with_media() {
        assert!(parse_post_text("   ", false).is_err());
        assert_eq!(parse_post_text("   ", true), Ok(String::new()));
        assert!(parse_post_text(&"é".repeat(2000), false).is_ok());
        assert!(parse_post_text(&"é".repeat(2001), false).is_err());
    }

    #[test]
    fn comments_must_have_text_within_the_limit() {
        assert!(parse_comment_text("").is_err());
        assert!(parse_comment_text(&"x".repeat(1001)).is_err());
        assert_eq!(parse_comment_text(" nice ride "), Ok("nice ride".into()));
    }

    #[test]
    fn alt_text_is_optional_trimmed_bounded_and_one_kind_of_control_only() {
        assert_eq!(parse_alt("alt", None), Ok(None));
        assert_eq!(parse_alt("alt", Some(" \n ")), Ok(None));
        assert_eq!(
            parse_alt("alt", Some("  a red scooter\nby the sea ")),
            Ok(Some("a red scooter\nby the sea".into()))
        );
        assert!(parse_alt("alt", Some(&"é".repeat(ALT_MAX))).is_ok());
        let long = parse_alt("alt", Some(&"é".repeat(ALT_MAX + 1)));
        assert_eq!(long.map_err(|e| e.field), Err("alt"));
        for refused in ["tab\there", "bell\u{7}", "c\rr", "c1\u{9b}", "nul\u{0}"] {
            assert!(parse_alt("media", Some(refused)).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn reaction_types_round_trip() {
        for t in ReactionType::ALL {
            assert_eq!(ReactionType::from_stored(t.as_str()), Some(t));
        }
        assert_eq!(ReactionType::from_stored("love"), None);
    }
}
