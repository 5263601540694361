//! Comments: list, add, delete.

use crate::domain::idempotency::Fingerprinted;
use crate::domain::posts::{ids_of, resolve_mentions, visible_post};
use crate::error::PostsError;
use scooter_core::Timestamp;
use scooter_core::ids::new_id;
use scooter_core::notification::NotificationType;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::post::{Comment, parse_comment_text};
use scooter_core::user::User;
use scooter_notifications::domain::compose::{self, About};
use scooter_social::domain::visibility;
use scooter_store::{CommentKey, Created, Store};

/// Comments on a post I can see, oldest first, without hidden commenters.
pub async fn list(
    store: &dyn Store,
    me: &User,
    post_id: &str,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<Comment>, PostsError> {
    visible_post(store, me, post_id)
        .await?
        .ok_or(PostsError::NotFound("post"))?;
    let after: Option<CommentKey> = cursor.map(decode_cursor).transpose()?;
    let rows = store
        .list_comments(post_id, &me.id, after.as_ref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(rows, limit, |c| c.id.clone()))
}

/// Comments on a post I can see.
pub async fn add(
    store: &dyn Store,
    me: &User,
    post_id: &str,
    text: &str,
    idempotency_key: Option<&str>,
) -> Result<Comment, PostsError> {
    let raw_text = text;
    let text = parse_comment_text(text)?;
    let (_, post_author) = visible_post(store, me, post_id)
        .await?
        .ok_or(PostsError::NotFound("post"))?;
    let mentions = resolve_mentions(store, &text).await?;
    let id = new_id();
    let about = About {
        post_id: Some(post_id.to_owned()),
        comment_id: Some(id.clone()),
        reaction: None,
    };
    let key = format!("comment:{id}");
    // The post's author hears of the comment once, as a comment, even when mentioned.
    let others: Vec<_> = mentions
        .iter()
        .filter(|u| u.id != post_author.id)
        .cloned()
        .collect();
    let mut notes = compose::mentions(store, me, &others, about.clone(), &key).await?;
    let kind = NotificationType::Comment;
    notes.extend(compose::notification(store, me, &post_author, kind, about, key).await?);
    let comment = Comment {
        id,
        post_id: post_id.to_owned(),
        author: me.id.clone(),
        text,
        created_at: Timestamp::now(),
    };
    let idempotency =
        idempotency_key.map(|k| Fingerprinted::new(k, "comment", &[post_id, raw_text]));
    match store
        .add_comment(
            comment,
            ids_of(&mentions),
            idempotency.as_ref().map(Fingerprinted::as_idempotency),
            &notes,
        )
        .await?
    {
        Some(Created::New(c)) => Ok(c),
        Some(Created::Replayed(id)) => store
            .get_comment(post_id, &id)
            .await?
            .ok_or(PostsError::NotFound("comment")),
        Some(Created::KeyReused) => Err(PostsError::IdempotencyKeyReused),
        // Deleted between the check and the write.
        None => Err(PostsError::NotFound("post")),
    }
}

/// Deletes a comment: its author, the post's author or an administrator may. Anyone
/// else gets 403 if they can see the comment, 404 if not.
pub async fn delete(
    store: &dyn Store,
    me: &User,
    is_admin: bool,
    post_id: &str,
    comment_id: &str,
) -> Result<(), PostsError> {
    let post = store
        .get_post(post_id)
        .await?
        .ok_or(PostsError::NotFound("comment"))?;
    let comment = store
        .get_comment(post_id, comment_id)
        .await?
        .ok_or(PostsError::NotFound("comment"))?;
    let allowed = comment.author == me.id || post.author == me.id || is_admin;
    if !allowed {
        let post_visible = visibility::visible_by_id(store, me, &post.author)
            .await?
            .is_some();
        let author_visible = visibility::visible_by_id(store, me, &comment.author)
            .await?
            .is_some();
        if post_visible && author_visible {
            return Err(PostsError::NotAllowed(
                "only the comment's author, the post's author or an administrator can delete it",
            ));
        }
        return Err(PostsError::NotFound("comment"));
    }
    store.delete_comment(post_id, comment_id).await?;
    Ok(())
}
