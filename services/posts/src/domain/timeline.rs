//! The home timeline's moving parts in this service: the fan-out job a new post queues,
//! and reading a page (building the timeline on first read).

use async_trait::async_trait;
use scooter_core::notification::Job;
use scooter_core::post::Post;
use scooter_core::{Timestamp, UserId};
use scooter_jobs::{JobError, JobHandler};
use scooter_store::timelines::{FAN_OUT_JOB, FanOut};
use scooter_store::{Store, StoreError, TimelineSettings};
use std::sync::Arc;

/// How stale a timeline's recorded read may get before a read refreshes it.
const TOUCH_EVERY_SECS: i64 = 24 * 3600;

/// A page of `user`'s home timeline; a user without one (new, or after a restore or a
/// `timelines rebuild`) gets it built first.
pub async fn page(
    store: &dyn Store,
    settings: TimelineSettings,
    user: &UserId,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<Post>, StoreError> {
    if !settings.enabled {
        return store.home_feed(user, before, limit).await;
    }
    let now = Timestamp::now();
    if let Some(page) = store.timeline_page(user, before, limit).await? {
        // Reads keep a timeline alive (and fanned out to); recorded at most daily.
        if page.read_at.plus_seconds(TOUCH_EVERY_SECS) < now
            && let Err(e) = store.touch_timeline(user, now).await
        {
            tracing::warn!(error = %e, "could not record a timeline read");
        }
        return Ok(page.posts);
    }
    store.rebuild_timeline(user, settings.keep, now).await?;
    match store.timeline_page(user, before, limit).await? {
        Some(page) => Ok(page.posts),
        // Dropped again in between (an operator's rebuild): the pull answers alike.
        None => store.home_feed(user, before, limit).await,
    }
}

/// Copies a new post into its author's followers' timelines (payload: the post id).
pub struct FanOutJob {
    store: Arc<dyn Store>,
    max_followers: u64,
}

impl FanOutJob {
    /// The fan-out over `store`; authors with `max_followers` or more are pulled.
    pub fn new(store: Arc<dyn Store>, max_followers: u64) -> Self {
        Self {
            store,
            max_followers,
        }
    }
}

#[async_trait]
impl JobHandler for FanOutJob {
    fn kind(&self) -> &'static str {
        FAN_OUT_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let started = std::time::Instant::now();
        let outcome = self
            .store
            .fan_out_post(&job.payload, self.max_followers)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        // `scripts/bench.sh` reads these (at debug level) for the fan-out's cost.
        let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match outcome {
            FanOut::Written(n) => {
                tracing::debug!(post = %job.payload, timelines = n, elapsed_us, "fanned out");
            }
            FanOut::Pulled => {
                tracing::debug!(post = %job.payload, elapsed_us, "author pulled at read");
            }
            FanOut::Gone => tracing::debug!(post = %job.payload, "post deleted before its fan-out"),
        }
        Ok(())
    }
}
