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
/// anyone who exists, including someone they blocked or who blocked them, and any
/// post, comment or live scoop.
async fn responsible(
    store: &dyn Store,
    target_type: ReportTarget,
    target_id: &str,
) -> Result<UserId, SocialError> {
    let found = match target_type {
        ReportTarget::User => match UserId::parse(target_id) {
            Some(id) => store.get_user(&id).await?.map(|u| u.id),
            None => None,
        },
        ReportTarget::Post => store.get_post(target_id).await?.map(|p| p.author),
        ReportTarget::Comment => store.comment_by_id(target_id).await?.map(|c| c.author),
        ReportTarget::Scoop => store
            .get_scoop(target_id, Timestamp::now())
            .await?
            .map(|s| s.author),
    };
    found.ok_or(SocialError::TargetNotFound)
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
