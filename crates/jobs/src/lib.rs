//! The job worker. Jobs are written to the outbox by the store call that causes them;
//! a worker claims due jobs with a lease, runs each with the handler for its kind, and
//! then deletes it, schedules a retry with exponential backoff and jitter, or, after
//! the last attempt, leaves it dead for an operator to inspect
//! (`scooterbooter jobs --failed`). A worker that dies mid-job loses nothing: the lease
//! runs out and another worker (or the same one restarted) runs the job again, so
//! handlers are written to be idempotent. An outcome that cannot be written because the
//! store is briefly unavailable (the database locked by another process) is retried
//! for a while inside the lease, so a finished job is not left claimed and run again.

use async_trait::async_trait;
use scooter_core::Timestamp;
use scooter_core::notification::{Job, NewJob};
use scooter_store::jobs::{MAINTENANCE_JOB, STORE_TAIL_JOB};
use scooter_store::{JobKinds, Store, StoreError, StoreResult, TimelineSettings};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt later (a dependency is down, throttled, …).
    #[error("retryable: {0}")]
    Retry(String),
    /// Will never succeed; give up now.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// Runs the jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// The kind this handler runs.
    fn kind(&self) -> &'static str;

    /// Runs one job. Must be idempotent: a job can run again after a crash.
    async fn run(&self, job: &Job) -> Result<(), JobError>;

    /// Whether its jobs take long (a transcode: seconds to minutes). Slow kinds run in
    /// a lane of their own, so a push never waits behind a video.
    fn slow(&self) -> bool {
        false
    }
}

/// Worker tuning, all configurable.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// Jobs run at once (in the lane of every kind but the slow ones).
    pub concurrency: usize,
    /// Slow jobs (transcodes) run at once, in their own lane.
    pub slow_concurrency: usize,
    /// Pause between polls when the outbox is empty.
    pub poll_interval: Duration,
    /// How long a claimed job is reserved before another worker may take it over.
    pub lease: Duration,
    /// Attempts before a job is left dead.
    pub max_attempts: u32,
    /// First retry delay; doubles with each attempt.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            slow_concurrency: 1,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(120),
            max_attempts: 8,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(15 * 60),
        }
    }
}

/// How long at most a job's outcome is retried while the store is unavailable (each
/// try may itself wait out the database's busy timeout), and the first pause between
/// tries (doubling, at most [`OUTCOME_RETRY_MAX_PAUSE`]).
const OUTCOME_RETRY_WINDOW: Duration = Duration::from_secs(30);
const OUTCOME_RETRY_FIRST_PAUSE: Duration = Duration::from_millis(100);
const OUTCOME_RETRY_MAX_PAUSE: Duration = Duration::from_secs(2);

/// Claims and runs jobs.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    handlers: Arc<HashMap<&'static str, Arc<dyn JobHandler>>>,
    settings: WorkerSettings,
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, times a
/// random factor in [0.5, 1.5) so that a burst of failures does not retry in lockstep.
pub fn backoff(settings: &WorkerSettings, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let raw = settings
        .backoff_base
        .saturating_mul(1u32 << exp)
        .min(settings.backoff_max);
    let mut byte = [0u8; 1];
    let jitter = if getrandom::fill(&mut byte).is_ok() {
        0.5 + f64::from(byte[0]) / 256.0
    } else {
        1.0
    };
    raw.mul_f64(jitter)
}

impl Worker {
    /// A worker over `store` running `handlers`.
    pub fn new(
        store: Arc<dyn Store>,
        handlers: Vec<Arc<dyn JobHandler>>,
        settings: WorkerSettings,
    ) -> Self {
        let handlers = handlers.into_iter().map(|h| (h.kind(), h)).collect();
        Self {
            store,
            handlers: Arc::new(handlers),
            settings,
        }
    }

    /// Claims one batch of due jobs of the kinds it can run and runs it to the end;
    /// returns how many ran.
    pub async fn run_once(&self) -> usize {
        let kinds = self.kinds(None);
        self.run_batch(JobKinds::Only(&kinds), self.settings.concurrency)
            .await
    }

    /// The kinds this worker has a handler for (slow ones, fast ones, or all). A worker
    /// claims only these: a job another worker could run (a push where this one has
    /// no push credentials, a video where it has no FFmpeg) is left for that worker,
    /// never failed or dropped here.
    pub fn kinds(&self, slow: Option<bool>) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self
            .handlers
            .iter()
            .filter(|(_, h)| slow.is_none_or(|s| h.slow() == s))
            .map(|(k, _)| *k)
            .collect();
        kinds.sort_unstable();
        kinds
    }

    /// Runs due jobs of `kinds` batch after batch until none is due or `deadline` is
    /// too near to start another batch safely (a function invocation's end: a batch
    /// needs up to a lease); queues the hourly clean-up first when `schedules`. For a
    /// worker that is invoked (a Lambda function) rather than one that polls. An error
    /// means the store could not be reached to claim anything.
    pub async fn drain(
        &self,
        kinds: JobKinds<'_>,
        concurrency: usize,
        schedules: bool,
        deadline: std::time::Instant,
    ) -> Result<usize, scooter_store::StoreError> {
        if schedules {
            self.schedule_maintenance().await;
        }
        // Of the kinds asked for, only those this worker can run.
        let mine: Vec<&'static str> = self
            .kinds(None)
            .into_iter()
            .filter(|k| match kinds {
                JobKinds::All => true,
                JobKinds::Only(only) => only.contains(k),
                JobKinds::Except(except) => !except.contains(k),
            })
            .collect();
        let mut total = 0;
        while std::time::Instant::now() + self.settings.lease < deadline {
            let ran = self
                .try_run_batch(JobKinds::Only(&mine), concurrency)
                .await?;
            if ran == 0 {
                break;
            }
            total += ran;
        }
        Ok(total)
    }

    /// Claims one batch of due jobs of `kinds`, up to `concurrency`, and runs it to the
    /// end; returns how many ran.
    async fn run_batch(&self, kinds: JobKinds<'_>, concurrency: usize) -> usize {
        match self.try_run_batch(kinds, concurrency).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim jobs");
                0
            }
        }
    }

    /// [`Worker::run_batch`], saying when no job could be claimed for a store error.
    async fn try_run_batch(
        &self,
        kinds: JobKinds<'_>,
        concurrency: usize,
    ) -> Result<usize, scooter_store::StoreError> {
        let limit = u32::try_from(concurrency.max(1)).unwrap_or(1);
        // Before the claim, so leases are reckoned never to end later than they do.
        let claimed = Instant::now();
        let jobs = self
            .store
            .claim_jobs_of(Timestamp::now(), self.settings.lease, limit, kinds)
            .await?;
        let n = jobs.len();
        let gate = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut tasks = Vec::with_capacity(n);
        for job in jobs {
            let (worker, gate) = (self.clone(), gate.clone());
            let who = (job.id.clone(), job.attempts);
            let task = tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                worker.run_job(job, claimed).await;
            });
            tasks.push((task, who));
        }
        for (t, (id, attempts)) in tasks {
            if let Err(e) = t.await {
                // A panicking handler counts as a failed attempt, so it ends up dead
                // instead of being claimed again forever.
                tracing::error!(job = %id, error = %e, "job panicked");
                let retry_at =
                    (attempts < self.settings.max_attempts).then(|| self.retry_at(attempts));
                self.record(&id, claimed, || {
                    self.store
                        .fail_job(&id, attempts, "the job panicked", retry_at)
                })
                .await;
            }
        }
        Ok(n)
    }

    fn retry_at(&self, attempts: u32) -> Timestamp {
        let wait = backoff(&self.settings, attempts);
        Timestamp::from_millis(
            Timestamp::now()
                .millis()
                .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// Writes a job's outcome with `write`, trying again while the store is
    /// unavailable (a lock another process holds, a pool briefly out of connections),
    /// for at most [`OUTCOME_RETRY_WINDOW`] and only while the lease taken at `claimed`
    /// has an eighth of its length left: past it another worker may have taken the job
    /// over, and the fenced write would change nothing anyway. An outcome never written
    /// leaves the job claimed until its lease runs out; then it runs again (handlers
    /// are idempotent).
    async fn record<F, Fut>(&self, id: &str, claimed: Instant, write: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StoreResult<()>>,
    {
        let lease_end = claimed + self.settings.lease.saturating_sub(self.settings.lease / 8);
        let deadline = lease_end.min(Instant::now() + OUTCOME_RETRY_WINDOW);
        let mut pause = OUTCOME_RETRY_FIRST_PAUSE;
        let mut tries = 1u32;
        loop {
            match write().await {
                Ok(()) => {
                    if tries > 1 {
                        tracing::info!(job = %id, tries, "job outcome recorded after retrying");
                    }
                    return;
                }
                Err(e @ StoreError::Unavailable(_)) if Instant::now() + pause < deadline => {
                    tracing::warn!(job = %id, error = %e, tries, "cannot record the job's outcome yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2).min(OUTCOME_RETRY_MAX_PAUSE);
                    tries += 1;
                }
                Err(e) => {
                    tracing::warn!(job = %id, error = %e, tries, "cannot record the job's outcome; it runs again when its lease runs out");
                    return;
                }
            }
        }
    }

    async fn run_job(&self, job: Job, claimed: Instant) {
        // A run must end well inside its lease, or another worker could take the job
        // over while this one still runs it.
        let budget = self.settings.lease.saturating_sub(self.settings.lease / 4);
        let outcome = match self.handlers.get(job.kind.as_str()) {
            Some(h) => tokio::time::timeout(budget, h.run(&job))
                .await
                .unwrap_or_else(|_| {
                    Err(JobError::Retry(format!(
                        "the job took longer than {budget:?}"
                    )))
                }),
            None => Err(JobError::Fatal(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
        };
        let (id, attempts) = (job.id.as_str(), job.attempts);
        match outcome {
            Ok(()) => {
                self.record(id, claimed, || self.store.complete_job(id, attempts))
                    .await;
            }
            Err(JobError::Retry(why)) if attempts < self.settings.max_attempts => {
                let at = self.retry_at(attempts);
                tracing::info!(job = %id, kind = %job.kind, attempts, error = %why, "job will retry");
                self.record(id, claimed, || {
                    self.store.fail_job(id, attempts, &why, Some(at))
                })
                .await;
            }
            Err(e) => {
                tracing::error!(job = %id, kind = %job.kind, attempts, error = %e, "job failed for good");
                let why = e.to_string();
                self.record(id, claimed, || {
                    self.store.fail_job(id, attempts, &why, None)
                })
                .await;
            }
        }
    }

    /// Queues the next hour's clean-up, due at the top of that hour. One runs per hour
    /// however many workers there are: the dedupe key names the hour, and a job's key
    /// is free again only once it has run, when every worker has moved on to queueing
    /// the hour after (queueing the current hour instead let each worker queue it
    /// again after another had run it: one run per worker per hour).
    async fn schedule_maintenance(&self) {
        let next = Timestamp::now().seconds() / 3600 + 1;
        let job = NewJob {
            id: scooter_core::ids::new_id(),
            kind: MAINTENANCE_JOB.to_owned(),
            payload: next.to_string(),
            dedupe: Some(format!("maintenance:{next}")),
            run_at: Timestamp::from_millis(next.saturating_mul(3_600_000)),
        };
        if let Err(e) = self.store.enqueue_job(job).await {
            tracing::warn!(error = %e, "cannot queue the hourly clean-up");
        }
    }

    /// Polls until `shutdown` resolves, finishing the batches in hand before returning
    /// (a backlog never keeps a stopping process alive past its current batch). Slow
    /// kinds (see [`JobHandler::slow`]) run in a lane of their own, `slow_concurrency`
    /// at a time, beside the lane of every other kind.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (slow, fast) = (self.kinds(Some(true)), self.kinds(Some(false)));
        tracing::info!(
            kinds = %self.kinds(None).join(","),
            "the job worker takes these kinds (others are left to workers that can run them)"
        );
        if slow.is_empty() {
            self.lane(
                JobKinds::Only(&fast),
                self.settings.concurrency,
                true,
                shutdown,
            )
            .await;
            return;
        }
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let fast = self.lane(
            JobKinds::Only(&fast),
            self.settings.concurrency,
            true,
            stop(rx.clone()),
        );
        let slow_lane = self.lane(
            JobKinds::Only(&slow),
            self.settings.slow_concurrency,
            false,
            stop(rx),
        );
        let signal = async move {
            shutdown.await;
            let _ = tx.send(true);
        };
        tokio::join!(fast, slow_lane, signal);
    }

    /// One lane: claims and runs batches of `kinds` until `shutdown`; the lane that
    /// `schedules` also queues the hourly clean-up.
    async fn lane(
        &self,
        kinds: JobKinds<'_>,
        concurrency: usize,
        schedules: bool,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut last_hour = None;
        loop {
            let hour = Timestamp::now().seconds() / 3600;
            if schedules && last_hour != Some(hour) {
                self.schedule_maintenance().await;
                last_hour = Some(hour);
            }
            let ran = tokio::select! {
                biased;
                () = &mut shutdown => return,
                ran = self.run_batch(kinds, concurrency) => ran,
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }
}

/// The hourly clean-up: stale refresh tokens, idempotency keys, old dead jobs, and home
/// timelines grown past their length.
pub struct MaintenanceJob {
    store: Arc<dyn Store>,
    timelines: TimelineSettings,
}

impl MaintenanceJob {
    /// The clean-up of `store`, trimming timelines back to their length and dropping
    /// idle ones.
    pub fn new(store: Arc<dyn Store>, timelines: TimelineSettings) -> Self {
        Self { store, timelines }
    }
}

#[async_trait]
impl JobHandler for MaintenanceJob {
    fn kind(&self) -> &'static str {
        MAINTENANCE_JOB
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let gone = self
            .store
            .purge_stale(Timestamp::now())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        // A quarter of slack: a timeline is trimmed after it grew by that much, not at
        // every post.
        let keep = self.timelines.keep;
        let trimmed = self
            .store
            .trim_timelines(keep, keep / 4)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        // With the feed pulled, timelines left from a `FEED=timeline` run receive no
        // fan-out and would be stale if it were switched back on: drop them all.
        let cutoff = if self.timelines.enabled {
            let idle_secs = i64::try_from(self.timelines.idle.as_secs()).unwrap_or(i64::MAX);
            Timestamp::now().plus_seconds(-idle_secs)
        } else {
            Timestamp::now().plus_seconds(1)
        };
        let expired = self
            .store
            .expire_timelines(cutoff)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        tracing::info!(
            rows = gone,
            timeline_entries = trimmed,
            idle_timelines = expired,
            "hourly clean-up done"
        );
        Ok(())
    }
}

/// Resumes a use case's tail that a crash cut off, in the backend that queued it.
pub struct StoreTailJob(pub Arc<dyn Store>);

#[async_trait]
impl JobHandler for StoreTailJob {
    fn kind(&self) -> &'static str {
        STORE_TAIL_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0
            .resume_tail(&job.payload)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let s = WorkerSettings {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            ..WorkerSettings::default()
        };
        let first = backoff(&s, 1);
        assert!(
            first >= Duration::from_secs(1) && first < Duration::from_secs(3),
            "{first:?}"
        );
        let third = backoff(&s, 3);
        assert!(
            third >= Duration::from_secs(4) && third < Duration::from_secs(12),
            "{third:?}"
        );
        let huge = backoff(&s, 40);
        assert!(huge < Duration::from_secs(90), "{huge:?}");
    }
}
