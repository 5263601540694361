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

/// Job kind that finishes, after a crash, the unbounded part of a use case a backend
/// could not make one transaction (DynamoDB: deleting an account's rows, recounting a
/// suspended user's edges). The backend queues it with the use case's atomic head and
/// deletes it once it has finished the rest itself; payload: the backend's own.
pub const STORE_TAIL_JOB: &str = "store_tail";

/// Which kinds of job a claim takes: worker lanes claim separately, so one slow kind
/// (a transcode) never holds back the others (a push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKinds<'a> {
    /// Every kind.
    All,
    /// Only these.
    Only(&'a [&'a str]),
    /// All but these.
    Except(&'a [&'a str]),
}

impl JobKinds<'_> {
    /// `(mode, kinds)` for SQL: mode 0 all, 1 only, 2 except.
    pub fn as_filter(&self) -> (i64, Vec<&str>) {
        match self {
            Self::All => (0, Vec::new()),
            Self::Only(k) => (1, k.to_vec()),
            Self::Except(k) => (2, k.to_vec()),
        }
    }
}

/// The job outbox.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job on its own (most jobs are enqueued by the call that causes them).
    /// With a dedupe key already pending, nothing is added.
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<()>;

    /// Claims up to `limit` due jobs of the kinds `kinds` names (pending and due, or
    /// running with an expired lease), leasing them for `lease` and counting the
    /// attempt.
    async fn claim_jobs_of(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
        kinds: JobKinds<'_>,
    ) -> StoreResult<Vec<Job>>;

    /// [`JobStore::claim_jobs_of`] any kind.
    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        self.claim_jobs_of(now, lease, limit, JobKinds::All).await
    }

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
