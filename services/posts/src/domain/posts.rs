//! Creating, reading and deleting one post, and the visibility of a post.

use crate::domain::idempotency::Fingerprinted;
use crate::dto::MediaInput;
use crate::error::PostsError;
use scooter_core::ValidationError;
use scooter_core::ids::new_id;
use scooter_core::media::{MEDIA_PER_POST, MediaPurpose};
use scooter_core::post::{Attachment, Post, mentioned_handles, parse_alt, parse_post_text};
use scooter_core::user::User;
use scooter_core::{Handle, Timestamp, UserId};
use scooter_media_service::domain::uploads::usable;
use scooter_media_service::error::MediaServiceError;
use scooter_notifications::domain::compose::{self, About};
use scooter_social::domain::visibility;
use scooter_store::{Created, NewPost, Store};

/// The existing users among the handles mentioned in `text`, in one store call.
pub async fn resolve_mentions(store: &dyn Store, text: &str) -> Result<Vec<User>, PostsError> {
    let handles: Vec<Handle> = mentioned_handles(text)
        .iter()
        .filter_map(|h| Handle::parse(h).ok())
        .collect();
    Ok(store.users_by_handles(&handles).await?)
}

/// The ids of mentioned users, for storing.
pub fn ids_of(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id.clone()).collect()
}

/// The media I may attach to a post, with their alt text: at most 10, no repeats, each
/// my own ready upload for posts (a video still processing is 409), each alt text within
/// the rules ([`parse_alt`]).
async fn attachable(
    store: &dyn Store,
    me: &User,
    media: &[MediaInput],
) -> Result<Vec<Attachment>, PostsError> {
    if media.len() > MEDIA_PER_POST {
        let msg = format!("at most {MEDIA_PER_POST} media per post");
        return Err(ValidationError::new("media", msg).into());
    }
    let mut attachments = Vec::with_capacity(media.len());
    for (i, m) in media.iter().enumerate() {
        let alt = parse_alt("media", m.alt())
            .map_err(|e| ValidationError::new("media", format!("media[{i}].alt: {}", e.message)))?;
        attachments.push(Attachment {
            key: m.key().to_owned(),
            alt,
        });
    }
    let keys: Vec<String> = attachments.iter().map(|a| a.key.clone()).collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != keys.len() {
        return Err(ValidationError::new("media", "the same media twice").into());
    }
    let found = store.media_by_keys(&keys).await?;
    for key in &keys {
        let m = found
            .iter()
            .find(|m| &m.key == key)
            .ok_or_else(|| PostsError::Media(MediaServiceError::NotFound))?;
        usable(m, me, MediaPurpose::Post).map_err(PostsError::Media)?;
    }
    Ok(attachments)
}

/// What a post request is fingerprinted by, as sent: the text, then each medium's key
/// and, when it has alt text, that text marked as such (so a list of bare keys keeps
/// the fingerprint it had before alt text existed).
fn fingerprint_parts<'a>(text: &'a str, media: &'a [MediaInput]) -> Vec<&'a str> {
    let mut parts = vec![text];
    for m in media {
        parts.push(m.key());
        if let Some(alt) = m.alt() {
            parts.extend(["\0alt", alt]);
        }
    }
    parts
}

/// Creates a post, with up to 10 of my ready uploads.
pub async fn create(
    store: &dyn Store,
    me: &User,
    text: &str,
    media: &[MediaInput],
    idempotency_key: Option<&str>,
) -> Result<Post, PostsError> {
    let parts = fingerprint_parts(text, media);
    let media = attachable(store, me, media).await?;
    let text = parse_post_text(text, !media.is_empty())?;
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
        mentions: ids_of(&mentions),
        media,
        created_at: Timestamp::now(),
    };
    let idempotency = idempotency_key.map(|k| Fingerprinted::new(k, "post", &parts));
    match store
        .create_post(
            new,
            idempotency.as_ref().map(Fingerprinted::as_idempotency),
            &notes,
        )
        .await?
    {
        Created::New(post) => Ok(post),
        Created::Replayed(id) => store
            .get_post(&id)
            .await?
            .ok_or(PostsError::NotFound("post")),
        Created::KeyReused => Err(PostsError::IdempotencyKeyReused),
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
