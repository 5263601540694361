//! Access patterns of moderation: reports and suspensions.

use crate::StoreResult;
use scooter_core::UserId;
use scooter_core::report::{Report, Resolution};
use scooter_core::user::{Suspension, User};

/// The result of filing a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// A new report.
    Created(Box<Report>),
    /// The reporter already has an open report on this target; it is returned instead.
    Duplicate(Box<Report>),
}

/// The result of deciding a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveOutcome {
    /// Decided; the report as it now stands.
    Resolved(Box<Report>),
    /// No such report.
    NotFound,
    /// Someone decided it first; nothing was written.
    AlreadyResolved,
    /// A suspension was asked for but the responsible account no longer exists.
    TargetGone,
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

    /// Decides the open report `id` in one transaction: suspends the account responsible
    /// for its target when `suspend` is given, and closes every open report on the same
    /// target with `resolution`. Nothing is written unless all of it is.
    async fn resolve_report(
        &self,
        id: &str,
        resolution: &Resolution,
        suspend: Option<Suspension>,
    ) -> StoreResult<ResolveOutcome>;

    /// Suspends (`Some`) or reinstates (`None`) a user, correcting the follower and
    /// following counts of everyone connected to them in the same transaction. Returns
    /// the updated user; `None` if there is none. Idempotent.
    async fn set_suspension(
        &self,
        user: &UserId,
        suspension: Option<Suspension>,
    ) -> StoreResult<Option<User>>;
}
