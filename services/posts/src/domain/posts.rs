//! Creating, reading and deleting one post, and the visibility of a post.

use crate::error::PostsError;
use scooter_core::ids::new_id;
use scooter_core::post::{Post, mentioned_handles, parse_post_text};
use scooter_core::user::User;
use scooter_core::{Handle, Timestamp, UserId};
use scooter_notifications::domain::compose::{self, About};
use scooter_social::domain::visibility;
use scooter_store::{Created, NewPost, Store};

/// The existing users among the handles mentioned in `text`.
pub async fn resolve_mentions(store: &dyn Store, text: &str) -> Result<Vec<UserId>, PostsError> {
    let mut ids = Vec::new();
    for handle in mentioned_handles(text) {
        let Ok(handle) = Handle::parse(&handle) else {
            continue;
        };
        if let Some(u) = store.user_by_handle(&handle).await? {
            ids.push(u.id);
        }
    }
    Ok(ids)
}

/// Creates a post. Media arrives with the media service; until then it is refused
/// rather than silently dropped.
pub async fn create(
    store: &dyn Store,
    me: &User,
    text: &str,
    media: &[String],
    idempotency_key: Option<&str>,
) -> Result<Post, PostsError> {
    if !media.is_empty() {
        return Err(PostsError::MediaNotSupported);
    }
    let text = parse_post_text(text, false)?;
    let mentions = resolve_mentions(store, &text).await?;
    let id = new_id();
    let about = About {
        post_id: Some(id.clone()),
        ..About::default()
    };
    let notes = compose::mentions(store, me, &mentions, about, &format!("post:{id}")).await?;
    let new = NewPost {
        id,
        author: me.id.clone(),
        text,
        mentions,
        media: vec![],
        created_at: Timestamp::now(),
    };
    match store.create_post(new, idempotency_key, &notes).await? {
        Created::New(post) => Ok(post),
        Created::Replayed(id) => store
            .get_post(&id)
            .await?
            .ok_or(PostsError::NotFound("post")),
    }
}

/// A post and its author, if `viewer` may see them (the author is not suspended and no
/// block stands between them).
pub async fn visible_post(
    store: &dyn Store,
    viewer: &User,
    id: &str,
) -> Result<Option<(Post, User)>, PostsError> {
    let Some(post) = store.get_post(id).await? else {
        return Ok(None);
    };
    let Some(v) = visibility::visible_by_id(store, viewer, &post.author).await? else {
        return Ok(None);
    };
    Ok(Some((post, v.user)))
}

/// The post, or 404.
pub async fn get(store: &dyn Store, viewer: &User, id: &str) -> Result<Post, PostsError> {
    visible_post(store, viewer, id)
        .await?
        .map(|(p, _)| p)
        .ok_or(PostsError::NotFound("post"))
}

/// Deletes a post: its author or an administrator may; anyone else who can see it gets
/// 403, and anyone who cannot gets 404.
pub async fn delete(
    store: &dyn Store,
    me: &User,
    is_admin: bool,
    id: &str,
) -> Result<(), PostsError> {
    let (post, _) = visible_post(store, me, id)
        .await?
        .ok_or(PostsError::NotFound("post"))?;
    if post.author != me.id && !is_admin {
        return Err(PostsError::NotAllowed(
            "only the author or an administrator can delete this post",
        ));
    }
    store.delete_post(&post.id).await?;
    Ok(())
}
