//! The scoops service's rules: a scoop is live until `expires_at` and gone at once
//! after (every read passes `now`); the author must be visible to the viewer (blocks
//! hide scoops both ways, suspended authors vanish); only the author sees the view
//! count and the viewers.

use crate::dto::{ScoopAuthorView, ScoopView};
use crate::error::ScoopsError as E;
use async_trait::async_trait;
use scooter_core::ids::new_id;
use scooter_core::media::{Media, MediaPurpose};
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::post::parse_alt;
use scooter_core::scoop::{Scoop, parse_caption};
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_http::{AttachmentView, UserSummary};
use scooter_jobs::{JobError, JobHandler};
use scooter_media_service::domain::uploads::usable;
use scooter_media_service::error::MediaServiceError;
use scooter_social::domain::visibility;
use scooter_store::scoops::PURGE_SCOOP_JOB;
use scooter_store::{ScoopFeedKey, SeenScoop, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Renders scoops with their authors and media, in two batched store calls.
pub async fn render(
    store: &dyn Store,
    me: &UserId,
    scoops: Vec<SeenScoop>,
) -> Result<Vec<ScoopView>, E> {
    let mut ids: Vec<UserId> = scoops.iter().map(|s| s.scoop.author.clone()).collect();
    ids.sort();
    ids.dedup();
    let authors = store.get_users(&ids).await?;
    render_by(store, me, scoops, &authors).await
}

/// Renders scoops whose authors the caller already holds: one store call, for the media.
pub async fn render_by(
    store: &dyn Store,
    me: &UserId,
    scoops: Vec<SeenScoop>,
    authors: &[User],
) -> Result<Vec<ScoopView>, E> {
    let keys: Vec<String> = scoops.iter().map(|s| s.scoop.media_key.clone()).collect();
    let media = store.media_by_keys(&keys).await?;
    Ok(assemble(me, scoops, authors, &media))
}

/// Views of `scoops` from authors and media already loaded; a scoop whose author or
/// media is missing (deleted meanwhile) is left out.
pub fn assemble(
    me: &UserId,
    scoops: Vec<SeenScoop>,
    authors: &[User],
    media: &[Media],
) -> Vec<ScoopView> {
    let authors: HashMap<&UserId, &User> = authors.iter().map(|u| (&u.id, u)).collect();
    let media: HashMap<&str, &Media> = media.iter().map(|m| (m.key.as_str(), m)).collect();
    scoops
        .into_iter()
        .filter_map(|s| {
            let author = *authors.get(&s.scoop.author)?;
            let media =
                AttachmentView::new(media.get(s.scoop.media_key.as_str())?, s.scoop.media_alt);
            let mine = s.scoop.author == *me;
            Some(ScoopView {
                author: UserSummary::from(author),
                media,
                caption: s.scoop.caption,
                created_at: s.scoop.created_at,
                expires_at: s.scoop.expires_at,
                seen: s.seen,
                view_count: mine.then_some(s.scoop.view_count),
                id: s.scoop.id,
            })
        })
        .collect()
}

/// Posts a scoop from my ready scoop upload, with its alt text; returns it with its
/// media, so the answer needs no second read.
pub async fn create(
    store: &dyn Store,
    me: &User,
    media_key: &str,
    alt: Option<&str>,
    caption: Option<&str>,
    ttl: Duration,
) -> Result<(Scoop, Media), E> {
    let caption = parse_caption(caption)?;
    let media_alt = parse_alt("alt", alt)?;
    let found = store.media_by_keys(&[media_key.to_owned()]).await?;
    let m = found
        .into_iter()
        .next()
        .ok_or(E::Media(MediaServiceError::NotFound))?;
    usable(&m, me, MediaPurpose::Scoop).map_err(E::Media)?;
    let now = Timestamp::now();
    let scoop = Scoop {
        id: new_id(),
        author: me.id.clone(),
        media_key: media_key.to_owned(),
        media_alt,
        caption,
        created_at: now,
        expires_at: now.plus_seconds(i64::try_from(ttl.as_secs()).unwrap_or(86_400)),
        view_count: 0,
    };
    store.create_scoop(scoop.clone()).await?;
    Ok((scoop, m))
}

/// A live scoop whose author I may see, with my seen flag (one store call).
pub async fn visible(store: &dyn Store, me: &User, id: &str) -> Result<SeenScoop, E> {
    store
        .visible_scoop(id, &me.id, Timestamp::now())
        .await?
        .ok_or(E::NotFound("scoop"))
}

/// My own live scoops (I always see myself: no visibility check, no reload of me).
pub async fn mine(store: &dyn Store, me: &User) -> Result<Vec<ScoopView>, E> {
    let live = store
        .live_scoops_of(&me.id, &me.id, Timestamp::now())
        .await?;
    render_by(store, &me.id, live, std::slice::from_ref(me)).await
}

/// One user's live scoops (404 when the user is hidden from me).
pub async fn of_user(store: &dyn Store, me: &User, user: &str) -> Result<Vec<SeenScoop>, E> {
    let id = UserId::parse(user).ok_or(E::NotFound("user"))?;
    let v = visibility::visible_by_id(store, me, &id)
        .await?
        .ok_or(E::NotFound("user"))?;
    Ok(store
        .live_scoops_of(&v.user.id, &me.id, Timestamp::now())
        .await?)
}

/// Deletes a scoop: its author or an administrator. A moderator acts on content hidden
/// from them too (a suspended author's, or one who blocked them); anyone else only on
/// what they can see.
pub async fn delete(store: &dyn Store, me: &User, is_admin: bool, id: &str) -> Result<(), E> {
    let author = if is_admin {
        store
            .get_scoop(id, Timestamp::now())
            .await?
            .ok_or(E::NotFound("scoop"))?
            .author
    } else {
        visible(store, me, id).await?.scoop.author
    };
    if author != me.id && !is_admin {
        return Err(E::NotAllowed);
    }
    store.delete_scoop(id).await?;
    Ok(())
}

/// Records my view of a scoop I can see.
pub async fn view(store: &dyn Store, me: &User, id: &str) -> Result<(), E> {
    visible(store, me, id).await?;
    if !store.record_view(id, &me.id, Timestamp::now()).await? {
        return Err(E::NotFound("scoop"));
    }
    Ok(())
}

/// The viewers of my scoop, newest first; anyone else's scoop is 404.
pub async fn viewers(
    store: &dyn Store,
    me: &User,
    id: &str,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<(User, Timestamp)>, E> {
    let scoop = store
        .get_scoop(id, Timestamp::now())
        .await?
        .filter(|s| s.author == me.id)
        .ok_or(E::NotFound("scoop"))?;
    let after: Option<(i64, String)> = cursor.map(decode_cursor).transpose()?;
    let rows = store
        .list_viewers(&scoop.id, &me.id, after.as_ref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(rows, limit, |(u, at)| {
        (at.millis(), u.id.to_string())
    }))
}

/// One page of the scoops feed.
pub async fn feed(
    store: &dyn Store,
    me: &User,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<ScoopAuthorView>, E> {
    let after: Option<ScoopFeedKey> = cursor.map(decode_cursor).transpose()?;
    let rows = store
        .scoop_feed(&me.id, Timestamp::now(), after.as_ref(), limit.fetch())
        .await?;
    let page = Page::from_rows(rows, limit, |a| a.key.clone());
    // Every author's scoops are rendered together: two store calls for the page, not
    // two per author.
    let mut order = Vec::with_capacity(page.items.len());
    let mut all = Vec::new();
    for entry in page.items {
        order.push((
            entry.author.to_string(),
            entry.scoops.iter().all(|s| s.seen),
        ));
        all.extend(entry.scoops);
    }
    let mut by_author: HashMap<String, Vec<ScoopView>> = HashMap::new();
    for view in render(store, &me.id, all).await? {
        by_author
            .entry(view.author.id.clone())
            .or_default()
            .push(view);
    }
    let mut items = Vec::with_capacity(order.len());
    for (author_id, all_seen) in order {
        let Some(scoops) = by_author.remove(&author_id) else {
            continue;
        };
        let Some(author) = scoops.first().map(|s| s.author.clone()) else {
            continue;
        };
        items.push(ScoopAuthorView {
            author,
            scoops,
            all_seen,
        });
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// The purge job: deletes an expired scoop, its views and its media.
pub struct PurgeScoopJob(pub Arc<dyn Store>);

#[async_trait]
impl JobHandler for PurgeScoopJob {
    fn kind(&self) -> &'static str {
        PURGE_SCOOP_JOB
    }

    async fn run(&self, job: &scooter_core::notification::Job) -> Result<(), JobError> {
        self.0
            .purge_expired_scoop(&job.payload, Timestamp::now())
            .await
            .map(|_| ())
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}
