//! Response shapes shared by every service.

use scooter_core::Timestamp;
use scooter_core::user::{Suspension, User};
use serde::{Deserialize, Deserializer, Serialize};

/// A user as embedded in posts, comments, notifications and lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// Opaque user id.
    pub id: String,
    /// Public handle; `null` until chosen.
    pub handle: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar thumbnail URL.
    pub avatar_url: Option<String>,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            handle: u.handle.as_ref().map(ToString::to_string),
            display_name: u.display_name.clone(),
            // Avatars arrive with the media service.
            avatar_url: None,
        }
    }
}

/// Why and since when an account is suspended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspensionView {
    /// The moderator's reason.
    pub reason: String,
    /// Since when.
    pub since: Timestamp,
}

impl From<&Suspension> for SuspensionView {
    fn from(s: &Suspension) -> Self {
        Self {
            reason: s.reason.clone(),
            since: s.at,
        }
    }
}

/// Deserialises a field that may be absent (outer `None`), `null` (`Some(None)`) or a
/// value (`Some(Some(v))`), for PATCH bodies. Use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
