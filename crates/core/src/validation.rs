//! The error every input parser returns: which field, and a message for people.

/// Input that does not satisfy a rule. `field` is the JSON name of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The request field (camelCase, as the client sent it).
    pub field: &'static str,
    /// What is wrong, written for the app's developers and users.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
