//! Public profiles and their follower and following lists.

use crate::domain::visibility::{self, Visible};
use crate::error::SocialError;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::user::User;
use scooter_store::{EdgeKey, Store};

/// Which list of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Who follows them.
    Followers,
    /// Whom they follow.
    Following,
}

/// The profile with this handle, as `viewer` may see it.
pub async fn profile(
    store: &dyn Store,
    viewer: &User,
    handle: &str,
) -> Result<Visible, SocialError> {
    visibility::visible_by_handle(store, viewer, handle)
        .await?
        .ok_or(SocialError::UserNotFound)
}

/// One page of a profile's followers or following, newest first, without the users
/// hidden from `viewer`.
pub async fn list(
    store: &dyn Store,
    viewer: &User,
    handle: &str,
    which: List,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<User>, SocialError> {
    let owner = profile(store, viewer, handle).await?.user;
    let after: Option<EdgeKey> = cursor.map(decode_cursor).transpose()?;
    let edges = match which {
        List::Followers => {
            store
                .list_followers(&owner.id, &viewer.id, after.as_ref(), limit.fetch())
                .await?
        }
        List::Following => {
            store
                .list_following(&owner.id, &viewer.id, after.as_ref(), limit.fetch())
                .await?
        }
    };
    Ok(Page::from_rows(edges, limit, |e| e.key.clone()).map(|e| e.user))
}
