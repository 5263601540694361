//! Reports of content or users, and what moderators do about them.

use crate::{Timestamp, UserId, ValidationError};
use serde::{Deserialize, Serialize};

/// Longest free-text detail on a report or a moderator's note.
pub const DETAILS_MAX: usize = 1000;

/// What is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportTarget {
    /// A user account.
    User,
    /// A post.
    Post,
    /// A comment.
    Comment,
    /// A scoop.
    Scoop,
}

impl ReportTarget {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Post => "post",
            Self::Comment => "comment",
            Self::Scoop => "scoop",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::User, Self::Post, Self::Comment, Self::Scoop]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Why it is reported (a fixed list, so moderators can sort and count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// Unwanted commercial or repetitive content.
    Spam,
    /// Targeted abuse.
    Harassment,
    /// Hate speech.
    Hate,
    /// Violence or threats.
    Violence,
    /// Sexual content.
    Nudity,
    /// Self-harm.
    SelfHarm,
    /// Pretending to be someone else.
    Impersonation,
    /// Anything else (explain in `details`).
    Other,
}

impl ReportReason {
    const ALL: [Self; 8] = [
        Self::Spam,
        Self::Harassment,
        Self::Hate,
        Self::Violence,
        Self::Nudity,
        Self::SelfHarm,
        Self::Impersonation,
        Self::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Harassment => "harassment",
            Self::Hate => "hate",
            Self::Violence => "violence",
            Self::Nudity => "nudity",
            Self::SelfHarm => "self_harm",
            Self::Impersonation => "impersonation",
            Self::Other => "other",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Whether a report still awaits a moderator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Awaiting a moderator.
    Open,
    /// A moderator acted on it.
    Resolved,
}

impl ReportStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }
}

/// What a moderator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// Nothing wrong.
    Dismiss,
    /// The reported content is removed.
    RemoveContent,
    /// The responsible account is suspended.
    SuspendUser,
}

impl ModerationAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dismiss => "dismiss",
            Self::RemoveContent => "remove_content",
            Self::SuspendUser => "suspend_user",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Dismiss, Self::RemoveContent, Self::SuspendUser]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// Free text of at most [`DETAILS_MAX`] characters; blank becomes `None`.
pub fn parse_note(
    field: &'static str,
    input: Option<&str>,
) -> Result<Option<String>, ValidationError> {
    let Some(s) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ValidationError::new(
            field,
            format!("{field} contains control characters"),
        ));
    }
    if s.chars().count() > DETAILS_MAX {
        return Err(ValidationError::new(
            field,
            format!("{field} must be at most {DETAILS_MAX} characters"),
        ));
    }
    Ok(Some(s.to_owned()))
}

/// A moderator's decision on a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// What was done.
    pub action: ModerationAction,
    /// The moderator's note.
    pub note: Option<String>,
    /// Which moderator (absent if their account is gone).
    pub by: Option<UserId>,
    /// When.
    pub at: Timestamp,
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Opaque, time-sortable id.
    pub id: String,
    /// Who reported (absent once their account is deleted).
    pub reporter: Option<UserId>,
    /// What kind of thing is reported.
    pub target_type: ReportTarget,
    /// Its id.
    pub target_id: String,
    /// The account responsible for it (the user, or the content's author), while it exists.
    pub target_user: Option<UserId>,
    /// Why.
    pub reason: ReportReason,
    /// The reporter's words.
    pub details: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// The decision, once made.
    pub resolution: Option<Resolution>,
}

impl Report {
    /// Open or resolved.
    pub fn status(&self) -> ReportStatus {
        if self.resolution.is_some() {
            ReportStatus::Resolved
        } else {
            ReportStatus::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_their_stored_names() {
        for r in ReportReason::ALL {
            assert_eq!(ReportReason::from_stored(r.as_str()), Some(r));
        }
        assert_eq!(ReportReason::from_stored("rude"), None);
    }

    #[test]
    fn notes_are_trimmed_bounded_and_blank_is_none() {
        assert_eq!(parse_note("note", Some("  ")), Ok(None));
        assert_eq!(parse_note("note", Some(" ok ")), Ok(Some("ok".into())));
        assert!(parse_note("note", Some(&"x".repeat(1001))).is_err());
    }
}
