//! Access patterns of uploaded media.

use crate::StoreResult;
use scooter_core::Timestamp;
use scooter_core::UserId;
use scooter_core::media::{Media, MediaStatus};
use scooter_core::user::User;

/// What processing found out about an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaUpdate {
    /// The new status.
    pub status: Option<MediaStatus>,
    /// The content type found in the bytes.
    pub content_type: Option<String>,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// Videos only.
    pub duration_ms: Option<u64>,
    /// The thumbnail or poster frame.
    pub thumb_key: Option<String>,
    /// The BlurHash of the picture.
    pub blurhash: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Queue the video's transcode in the same write, so an upload marked processing
    /// always has its job.
    pub transcode: bool,
}

/// Job kind that deletes one upload's files (payload: the key).
pub const PURGE_MEDIA_JOB: &str = "purge_media";
/// Job kind that deletes every file of a deleted account (payload: the user id).
pub const PURGE_USER_MEDIA_JOB: &str = "purge_user_media";
/// Job kind that transcodes an uploaded video (payload: the key).
pub const PROCESS_VIDEO_JOB: &str = "process_video";

/// Uploaded media.
#[async_trait::async_trait]
pub trait MediaStore: Send + Sync {
    /// Records an upload URL just issued (status pending).
    async fn create_media(&self, media: Media) -> StoreResult<()>;

    /// One upload.
    async fn get_media(&self, key: &str) -> StoreResult<Option<Media>>;

    /// Several uploads by key, in one round trip.
    async fn media_by_keys(&self, keys: &[String]) -> StoreResult<Vec<Media>>;

    /// Claims a pending upload for the bytes about to arrive, at `now`; `false` when it
    /// is not pending (a second write to a key is refused). An upload claimed before
    /// `stale_before` and never finished was cut off by a crash: it is claimed again.
    async fn begin_upload(
        &self,
        key: &str,
        now: Timestamp,
        stale_before: Timestamp,
    ) -> StoreResult<bool>;

    /// Returns an upload that broke off to pending, so the client may try again.
    async fn abort_upload(&self, key: &str) -> StoreResult<()>;

    /// Applies what processing found out.
    async fn update_media(&self, key: &str, update: MediaUpdate) -> StoreResult<Option<Media>>;

    /// Queues video processing for an uploaded video (idempotent per key).
    async fn queue_video(&self, key: &str) -> StoreResult<()>;

    /// Marks an upload removed and queues the deletion of its files, atomically.
    /// `false` when there is no such upload or it was removed already.
    async fn remove_media(&self, key: &str) -> StoreResult<bool>;

    /// The media of these posts with their alt text, in each post's order.
    async fn media_for_posts(&self, post_ids: &[String]) -> StoreResult<Vec<crate::PostMedia>>;

    /// Sets or clears a user's avatar (the key of its thumbnail).
    async fn set_avatar(&self, user: &UserId, thumb_key: Option<&str>)
    -> StoreResult<Option<User>>;
}
