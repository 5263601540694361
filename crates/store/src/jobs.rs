//! Access patterns of the job outbox. Jobs are inserted by the use case that causes
//! them, in its transaction; workers claim them with a lease, so a worker that dies
//! mid-job leaves it to be claimed again when the lease runs out, and two workers never
//! hold the same job at once.

use crate::StoreResult;
use scooter_core::Timestamp;
use scooter_core::notification::{Job, NewJob};
use std::time::Duration;

/// Job kind of the hourly clean-up (payload: the hour, for the dedupe key).
pub const MAINTENANCE_JOB: &str = "maintenance";

/// The job outbox.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job on its own (most jobs are enqueued by the call that causes them).
    /// With a dedupe key already pending, nothing is added.
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<()>;

    /// Claims up to `limit` due jobs (pending and due, or running with an expired
    /// lease), leasing them for `lease` and counting the attempt.
    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;

    /// The job succeeded: remove it. Fenced by `attempt` (the job's `attempts` when
    /// claimed): a worker whose lease ran out and was taken over changes nothing.
    async fn complete_job(&self, id: &str, attempt: u32) -> StoreResult<()>;

    /// The attempt failed: run again at `run_at`, or, with `None`, give up (dead).
    /// Fenced like [`JobStore::complete_job`].
    async fn fail_job(
        &self,
        id: &str,
        attempt: u32,
        error: &str,
        run_at: Option<Timestamp>,
    ) -> StoreResult<()>;

    /// Deletes what has outlived its use, as of `now`: refresh tokens expired or revoked
    /// over a week ago, idempotency keys over a day old, dead jobs over 30 days old.
    /// Returns how many rows went.
    async fn purge_stale(&self, now: Timestamp) -> StoreResult<u64>;

    /// Jobs that gave up, newest first.
    async fn dead_jobs(&self, limit: u32) -> StoreResult<Vec<Job>>;
}
