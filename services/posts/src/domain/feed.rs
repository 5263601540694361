//! The home feed and one user's posts.

use crate::domain::timeline;
use crate::error::PostsError;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::post::Post;
use scooter_core::user::User;
use scooter_social::domain::visibility;
use scooter_store::{Store, TimelineSettings};

/// My posts and those of everyone I follow, newest first, from my home timeline.
pub async fn home(
    store: &dyn Store,
    settings: TimelineSettings,
    me: &User,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<Post>, PostsError> {
    let before: Option<String> = cursor.map(decode_cursor).transpose()?;
    let posts = timeline::page(store, settings, &me.id, before.as_deref(), limit.fetch()).await?;
    Ok(Page::from_rows(posts, limit, |p| p.id.clone()))
}

/// One user's posts, newest first; 404 when that user is hidden from me.
pub async fn by_handle(
    store: &dyn Store,
    me: &User,
    handle: &str,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<Post>, PostsError> {
    let owner = visibility::visible_by_handle(store, me, handle)
        .await?
        .ok_or(PostsError::NotFound("user"))?;
    let before: Option<String> = cursor.map(decode_cursor).transpose()?;
    let posts = store
        .user_posts(&owner.user.id, before.as_deref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(posts, limit, |p| p.id.clone()))
}
