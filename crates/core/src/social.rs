//! How two users stand to each other, and the visibility rule every service applies.

use crate::user::User;

/// The follow and block edges between a viewer and another user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relationship {
    /// The viewer follows the other user.
    pub following: bool,
    /// The other user follows the viewer.
    pub followed_by: bool,
    /// The viewer blocks the other user.
    pub blocking: bool,
    /// The other user blocks the viewer.
    pub blocked_by: bool,
}

impl Relationship {
    /// A block in either direction: the two users do not see each other at all.
    pub fn blocked_either_way(&self) -> bool {
        self.blocking || self.blocked_by
    }
}

/// The one visibility rule: a viewer sees another user unless that user is suspended
/// or a block stands between them (in either direction). Everyone sees themselves.
/// Deleted users do not exist, so they are never passed here.
pub fn can_see(viewer: &User, other: &User, rel: &Relationship) -> bool {
    viewer.id == other.id || (!other.is_suspended() && !rel.blocked_either_way())
}
