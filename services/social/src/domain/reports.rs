//! Filing reports.

use crate::error::SocialError;
use scooter_core::ids::new_id;
use scooter_core::report::{Report, ReportReason, ReportTarget, parse_note};
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_store::{ReportOutcome, Store};

/// A report as submitted.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// What kind of thing.
    pub target_type: ReportTarget,
    /// Its id.
    pub target_id: String,
    /// Why.
    pub reason: ReportReason,
    /// The reporter's words.
    pub details: Option<String>,
}

/// The account responsible for a target, if the target exists. A user may report
/// anyone who exists, including someone they blocked or who blocked them.
async fn responsible(
    store: &dyn Store,
    target_type: ReportTarget,
    target_id: &str,
) -> Result<UserId, SocialError> {
    match target_type {
        ReportTarget::User => {
            let id = UserId::parse(target_id).ok_or(SocialError::TargetNotFound)?;
            store
                .get_user(&id)
                .await?
                .map(|u| u.id)
                .ok_or(SocialError::TargetNotFound)
        }
        // Posts, comments and scoops arrive with their services; until then none exist.
        ReportTarget::Post | ReportTarget::Comment | ReportTarget::Scoop => {
            Err(SocialError::TargetNotFound)
        }
    }
}

/// Files a report; a repeat of an open one returns the open one (accepted, not duplicated).
pub async fn report(store: &dyn Store, me: &User, new: NewReport) -> Result<Report, SocialError> {
    let details = parse_note("details", new.details.as_deref())?;
    let target_user = responsible(store, new.target_type, &new.target_id).await?;
    if target_user == me.id && new.target_type == ReportTarget::User {
        return Err(SocialError::SelfTarget);
    }
    let report = Report {
        id: new_id(),
        reporter: Some(me.id.clone()),
        target_type: new.target_type,
        target_id: new.target_id,
        target_user: Some(target_user),
        reason: new.reason,
        details,
        created_at: Timestamp::now(),
        resolution: None,
    };
    match store.create_report(report).await? {
        ReportOutcome::Created(r) | ReportOutcome::Duplicate(r) => Ok(*r),
    }
}
