//! Access patterns of moderation: reports and suspensions.

use crate::StoreResult;
use scooter_core::UserId;
use scooter_core::report::{Report, ReportTarget, Resolution};
use scooter_core::user::{Suspension, User};

/// The result of filing a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// A new report.
    Created(Box<Report>),
    /// The reporter already has an open report on this target; it is returned instead.
    Duplicate(Box<Report>),
}

/// Which reports to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFilter {
    /// Awaiting a moderator.
    Open,
    /// Decided.
    Resolved,
}

/// Reports and suspensions.
#[async_trait::async_trait]
pub trait ModerationStore: Send + Sync {
    /// Files a report, unless the reporter has an open one on the same target.
    async fn create_report(&self, report: Report) -> StoreResult<ReportOutcome>;

    /// One report.
    async fn get_report(&self, id: &str) -> StoreResult<Option<Report>>;

    /// Reports newest first, after the report with id `after`.
    async fn list_reports(
        &self,
        filter: ReportFilter,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Report>>;

    /// Resolves every open report on the target at once; returns how many.
    async fn resolve_reports(
        &self,
        target_type: ReportTarget,
        target_id: &str,
        resolution: &Resolution,
    ) -> StoreResult<u64>;

    /// Suspends (`Some`) or reinstates (`None`) a user, correcting the follower and
    /// following counts of everyone connected to them in the same transaction. Returns
    /// the updated user; `None` if there is none. Idempotent.
    async fn set_suspension(
        &self,
        user: &UserId,
        suspension: Option<Suspension>,
    ) -> StoreResult<Option<User>>;
}
