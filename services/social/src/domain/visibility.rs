//! Who may see whom: the one rule (`scooter_core::social::can_see`) applied to stored
//! users. Every service that shows a user, their posts or their scoops asks here.

use scooter_core::social::{Relationship, can_see};
use scooter_core::user::User;
use scooter_core::{Handle, UserId};
use scooter_store::{Store, StoreError};

/// Another user as the viewer may see them, with how the two stand.
#[derive(Debug, Clone)]
pub struct Visible {
    /// The other user.
    pub user: User,
    /// The viewer's relationship to them.
    pub rel: Relationship,
}

/// `other` if `viewer` may see them; `None` when they do not exist, are suspended, or a
/// block stands between the two.
pub async fn visible(
    store: &dyn Store,
    viewer: &User,
    other: User,
) -> Result<Option<Visible>, StoreError> {
    let rel = if other.id == viewer.id {
        Relationship::default()
    } else {
        store.relationship(&viewer.id, &other.id).await?
    };
    Ok(can_see(viewer, &other, &rel).then_some(Visible { user: other, rel }))
}

/// The user with this id, if `viewer` may see them.
pub async fn visible_by_id(
    store: &dyn Store,
    viewer: &User,
    id: &UserId,
) -> Result<Option<Visible>, StoreError> {
    match store.get_user(id).await? {
        Some(other) => visible(store, viewer, other).await,
        None => Ok(None),
    }
}

/// The user with this handle, if `viewer` may see them. A string that cannot be a
/// handle names nobody.
pub async fn visible_by_handle(
    store: &dyn Store,
    viewer: &User,
    handle: &str,
) -> Result<Option<Visible>, StoreError> {
    let Ok(handle) = Handle::parse(handle) else {
        return Ok(None);
    };
    match store.user_by_handle(&handle).await? {
        Some(other) => visible(store, viewer, other).await,
        None => Ok(None),
    }
}
