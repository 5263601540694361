//! Turning stored posts into what a viewer sees, in one store call however long the
//! page: the authors, media and the viewer's reactions come back together.

use crate::dto::PostView;
use scooter_core::UserId;
use scooter_core::post::{Post, ReactionType};
use scooter_core::user::User;
use scooter_http::{AttachmentView, UserSummary};
use scooter_store::{Store, StoreError};
use std::collections::HashMap;

/// The users with these ids, by id, in one store call.
pub async fn users_by_id(
    store: &dyn Store,
    ids: impl IntoIterator<Item = UserId>,
) -> Result<HashMap<UserId, User>, StoreError> {
    let mut ids: Vec<UserId> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    Ok(store
        .get_users(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect())
}

/// Views of `posts` for `viewer`, in order. A post whose author vanished between the
/// queries is left out.
pub async fn render(
    store: &dyn Store,
    viewer: &UserId,
    posts: Vec<Post>,
) -> Result<Vec<PostView>, StoreError> {
    let context = store.post_context(viewer, &posts).await?;
    let authors: HashMap<UserId, User> = context
        .authors
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    let mut media: HashMap<String, Vec<AttachmentView>> = HashMap::new();
    for m in context.media {
        media
            .entry(m.post_id)
            .or_default()
            .push(AttachmentView::new(&m.media, m.alt));
    }
    let mut mine: HashMap<String, Vec<ReactionType>> = HashMap::new();
    for (post, kind) in context.my_reactions {
        mine.entry(post).or_default().push(kind);
    }
    Ok(posts
        .into_iter()
        .filter_map(|p| {
            let author = authors.get(&p.author)?;
            let mut my_reactions = mine.remove(&p.id).unwrap_or_default();
            my_reactions.sort();
            Some(PostView {
                author: UserSummary::from(author),
                media: media.remove(&p.id).unwrap_or_default(),
                created_at: p.created_at,
                comment_count: p.comment_count,
                reaction_counts: p.reactions,
                my_reactions,
                text: p.text,
                id: p.id,
            })
        })
        .collect())
}
