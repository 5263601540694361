//! My uploads: status, video processing, deletion.

use crate::error::MediaServiceError as E;
use scooter_core::UserId;
use scooter_core::media::{Media, MediaKind, MediaStatus, is_valid_key};
use scooter_http::MediaContext;
use scooter_store::Store;

/// My upload with this key (anyone else's is 404).
pub async fn mine(store: &dyn Store, me: &UserId, key: &str) -> Result<Media, E> {
    if !is_valid_key(key) {
        return Err(E::NotFound);
    }
    store
        .get_media(key)
        .await?
        .filter(|m| m.owner == *me && m.status != MediaStatus::Removed)
        .ok_or(E::NotFound)
}

/// Queues the processing of my uploaded video.
pub async fn process_video(
    store: &dyn Store,
    media: &MediaContext,
    me: &UserId,
    key: &str,
) -> Result<Media, E> {
    let m = mine(store, me, key).await?;
    if m.kind != MediaKind::Video {
        return Err(E::Rejected("only videos are processed".into()));
    }
    match m.status {
        MediaStatus::Pending | MediaStatus::Uploading => {
            Err(E::WrongState("the video was not uploaded yet"))
        }
        MediaStatus::Processing => {
            if media.video.is_none() {
                return Err(E::VideoOff);
            }
            store.queue_video(&m.key).await?;
            Ok(m)
        }
        _ => Ok(m),
    }
}

/// Deletes my upload: it shows as removed wherever it was used, and its files go.
pub async fn delete(store: &dyn Store, me: &UserId, key: &str) -> Result<(), E> {
    let m = mine(store, me, key).await?;
    store.remove_media(&m.key).await?;
    Ok(())
}
