//! The media jobs: transcoding videos, and deleting files of removed uploads and of
//! deleted accounts. All idempotent: a re-run finds the work done.

use async_trait::async_trait;
use scooter_core::media::{MediaKind, MediaStatus};
use scooter_core::notification::Job;
use scooter_jobs::{JobError, JobHandler};
use scooter_media::MediaError;
use scooter_media::blobs::{BlobStore, thumb_key};
use scooter_media::images;
use scooter_media::video::VideoTools;
use scooter_store::media::{PROCESS_VIDEO_JOB, PURGE_MEDIA_JOB, PURGE_USER_MEDIA_JOB};
use scooter_store::{MediaUpdate, Store};
use std::sync::Arc;

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retry(e.to_string())
}

/// Transcodes an uploaded video and records the result.
pub struct VideoJob {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    tools: VideoTools,
}

impl VideoJob {
    /// A handler using these tools.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, tools: VideoTools) -> Self {
        Self {
            store,
            blobs,
            tools,
        }
    }
}

#[async_trait]
impl JobHandler for VideoJob {
    fn kind(&self) -> &'static str {
        PROCESS_VIDEO_JOB
    }

    fn slow(&self) -> bool {
        true
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let Some(m) = self.store.get_media(&job.payload).await.map_err(retry)? else {
            return Ok(());
        };
        if m.kind != MediaKind::Video || m.status != MediaStatus::Processing {
            return Ok(());
        }
        // The original: the committed file (local folder) or a copy of the client's
        // direct upload (S3). Outputs are made in scratch files and stored under the key.
        let input = match self.blobs.fetch_upload(&m.key).await {
            Ok(f) => f,
            Err(MediaError::Rejected(why)) => {
                let failed = MediaUpdate {
                    status: Some(MediaStatus::Failed),
                    error: Some(why),
                    ..MediaUpdate::default()
                };
                self.store
                    .update_media(&m.key, failed)
                    .await
                    .map_err(retry)?;
                return Ok(());
            }
            Err(e) => return Err(retry(e)),
        };
        let output = self.blobs.scratch(&m.key).map_err(retry)?;
        let poster = self.blobs.scratch(&m.key).map_err(retry)?;
        let outcome = async {
            let probe = self.tools.probe(input.path()).await?;
            self.tools
                .transcode(input.path(), &output, &poster, probe.hdr)
                .await?;
            let out = self.tools.probe(&output).await?;
            let frame = tokio::fs::read(&poster)
                .await
                .map_err(|e| MediaError::io(&e))?;
            let blurhash = tokio::task::spawn_blocking(move || images::blurhash_of(&frame))
                .await
                .map_err(|e| MediaError::Internal(e.to_string()))??;
            self.blobs.store_file(&thumb_key(&m.key), &poster).await?;
            self.blobs.store_file(&m.key, &output).await?;
            Ok::<_, MediaError>((probe, out, blurhash))
        }
        .await;
        drop(input);
        for scratch in [&output, &poster] {
            // Stored files were moved away; these are what a failure left.
            let _ = tokio::fs::remove_file(scratch).await;
        }
        let update = match outcome {
            Ok((probe, out, blurhash)) => MediaUpdate {
                status: Some(MediaStatus::Ready),
                content_type: Some("video/mp4".into()),
                width: Some(out.width),
                height: Some(out.height),
                duration_ms: Some(probe.duration_ms),
                thumb_key: Some(thumb_key(&m.key)),
                blurhash: Some(blurhash),
                ..MediaUpdate::default()
            },
            Err(MediaError::Rejected(why)) => {
                let _ = self.blobs.drop_upload(&m.key).await;
                MediaUpdate {
                    status: Some(MediaStatus::Failed),
                    error: Some(why),
                    ..MediaUpdate::default()
                }
            }
            Err(MediaError::Internal(why)) => return Err(JobError::Retry(why)),
            Err(MediaError::StorageFull(why)) => {
                // Not the video's fault: try again later, with the job's backoff, once
                // space is freed.
                tracing::error!(key = %m.key, error = %why, "transcoding stopped: out of storage space");
                return Err(JobError::Retry(format!("out of storage space: {why}")));
            }
        };
        let ready = update.status == Some(MediaStatus::Ready);
        self.store
            .update_media(&m.key, update)
            .await
            .map_err(retry)?;
        if ready && let Err(e) = self.blobs.drop_upload(&m.key).await {
            // Recorded ready first, so a re-run finds the work done; the sweep deletes
            // an original left behind.
            tracing::warn!(key = %m.key, error = %e, "could not delete a transcoded video's original");
        }
        Ok(())
    }
}

/// Deletes the files of a removed upload.
pub struct PurgeMediaJob(pub Arc<dyn BlobStore>);

#[async_trait]
impl JobHandler for PurgeMediaJob {
    fn kind(&self) -> &'static str {
        PURGE_MEDIA_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0.delete(&job.payload).await.map_err(retry)?;
        self.0.drop_upload(&job.payload).await.map_err(retry)
    }
}

/// Deletes every file of a deleted account.
pub struct PurgeUserMediaJob(pub Arc<dyn BlobStore>);

#[async_trait]
impl JobHandler for PurgeUserMediaJob {
    fn kind(&self) -> &'static str {
        PURGE_USER_MEDIA_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0.delete_owner(&job.payload).await.map_err(retry)
    }
}
