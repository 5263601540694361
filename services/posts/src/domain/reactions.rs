//! Reactions: toggle (the original API), set or take back idempotently, and list.

use crate::domain::posts::visible_post;
use crate::error::PostsError;
use scooter_core::Timestamp;
use scooter_core::ValidationError;
use scooter_core::notification::NotificationType;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::post::{Reaction, ReactionType};
use scooter_core::user::User;
use scooter_notifications::domain::compose::{self, About};
use scooter_store::{ReactionChange, ReactionKey, Store, Toggled};

/// Adds, removes or toggles my reaction of `kind` on a post I can see.
pub async fn change(
    store: &dyn Store,
    me: &User,
    post_id: &str,
    kind: ReactionType,
    change: ReactionChange,
) -> Result<Toggled, PostsError> {
    let (_, author) = visible_post(store, me, post_id)
        .await?
        .ok_or(PostsError::NotFound("post"))?;
    let about = About {
        post_id: Some(post_id.to_owned()),
        comment_id: None,
        reaction: Some(kind),
    };
    let dedupe = format!("reaction:{post_id}:{}:{}", kind.as_str(), me.id);
    let note = compose::notification(
        store,
        me,
        &author,
        NotificationType::Reaction,
        about,
        dedupe,
    )
    .await?;
    store
        .react(
            post_id,
            &me.id,
            kind,
            change,
            Timestamp::now(),
            note.as_ref(),
        )
        .await?
        .ok_or(PostsError::NotFound("post"))
}

/// Who reacted with what, newest first, without hidden users.
pub async fn list(
    store: &dyn Store,
    me: &User,
    post_id: &str,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<Reaction>, PostsError> {
    visible_post(store, me, post_id)
        .await?
        .ok_or(PostsError::NotFound("post"))?;
    let after: Option<ReactionKey> = cursor.map(decode_cursor).transpose()?;
    let rows = store
        .list_reactions(post_id, &me.id, after.as_ref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(rows, limit, |r| {
        (
            r.created_at.millis(),
            r.user.to_string(),
            r.kind.as_str().to_owned(),
        )
    }))
}

/// A reaction type named in a path (`/reactions/{postId}/{type}`).
pub fn parse_kind(s: &str) -> Result<ReactionType, PostsError> {
    ReactionType::from_stored(s).ok_or_else(|| {
        ValidationError::new(
            "type",
            "unknown reaction type: use like, fire, scooter, laugh, wow or sad",
        )
        .into()
    })
}
