//! The moderation queue and suspensions (administrators only; the routes enforce it).

use crate::error::SocialError;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::report::{ModerationAction, Report, ReportTarget, Resolution, parse_note};
use scooter_core::user::{Suspension, User};
use scooter_core::{Timestamp, UserId};
use scooter_store::{ReportFilter, ResolveOutcome, Store};
use std::collections::HashMap;

/// A page of reports with the users they mention, fetched in one batch.
pub struct ReportPage {
    /// The reports.
    pub page: Page<Report>,
    /// Reporters, reported users and moderators that still exist, by id.
    pub users: HashMap<UserId, User>,
}

/// The users a set of reports mentions, in one store call.
pub async fn users_of(
    store: &dyn Store,
    reports: &[Report],
) -> Result<HashMap<UserId, User>, SocialError> {
    let mut ids: Vec<UserId> = reports
        .iter()
        .flat_map(|r| {
            [
                r.reporter.clone(),
                r.target_user.clone(),
                r.resolution.as_ref().and_then(|x| x.by.clone()),
            ]
        })
        .flatten()
        .collect();
    ids.sort();
    ids.dedup();
    let users = store.get_users(&ids).await?;
    Ok(users.into_iter().map(|u| (u.id.clone(), u)).collect())
}

/// Reports newest first.
pub async fn list(
    store: &dyn Store,
    filter: ReportFilter,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<ReportPage, SocialError> {
    let after: Option<String> = cursor.map(decode_cursor).transpose()?;
    let rows = store
        .list_reports(filter, after.as_deref(), limit.fetch())
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    let users = users_of(store, &page.items).await?;
    Ok(ReportPage { page, users })
}

/// Decides a report; the decision closes every open report on the same target, and a
/// suspension it orders lands in the same transaction.
pub async fn resolve(
    store: &dyn Store,
    admin: &User,
    report_id: &str,
    action: ModerationAction,
    note: Option<&str>,
) -> Result<Report, SocialError> {
    let note = parse_note("note", note)?;
    let report = store
        .get_report(report_id)
        .await?
        .ok_or(SocialError::ReportNotFound)?;
    let suspension = match action {
        ModerationAction::Dismiss => None,
        ModerationAction::SuspendUser => {
            if report.target_user.as_ref() == Some(&admin.id) {
                return Err(SocialError::SelfTarget);
            }
            let reason = note
                .clone()
                .unwrap_or_else(|| format!("reported for {}", report.reason.as_str()));
            Some(Suspension {
                reason,
                at: Timestamp::now(),
            })
        }
        ModerationAction::RemoveContent => {
            remove_content(store, report.target_type, &report.target_id).await?;
            None
        }
    };
    let resolution = Resolution {
        action,
        note,
        by: Some(admin.id.clone()),
        at: Timestamp::now(),
    };
    match store
        .resolve_report(report_id, &resolution, suspension)
        .await?
    {
        ResolveOutcome::Resolved(r) => Ok(*r),
        ResolveOutcome::NotFound => Err(SocialError::ReportNotFound),
        ResolveOutcome::AlreadyResolved => Err(SocialError::AlreadyResolved),
        ResolveOutcome::TargetGone => Err(SocialError::TargetGone),
    }
}

/// Removes reported content (idempotent: content already gone is fine).
async fn remove_content(
    store: &dyn Store,
    target: ReportTarget,
    id: &str,
) -> Result<(), SocialError> {
    match target {
        ReportTarget::User => {
            return Err(SocialError::ActionNotApplicable(
                "an account is not content; use suspend_user",
            ));
        }
        ReportTarget::Post => {
            store.delete_post(id).await?;
        }
        ReportTarget::Comment => {
            if let Some(c) = store.comment_by_id(id).await? {
                store.delete_comment(&c.post_id, &c.id).await?;
            }
        }
        ReportTarget::Scoop => {
            store.delete_scoop(id).await?;
        }
    }
    Ok(())
}

/// Suspends a user with a reason shown to them. An administrator cannot suspend
/// themselves (the one mistake that cannot be undone from the API).
pub async fn suspend(
    store: &dyn Store,
    admin: &User,
    user: &UserId,
    reason: &str,
) -> Result<User, SocialError> {
    if *user == admin.id {
        return Err(SocialError::SelfTarget);
    }
    let reason = parse_note("reason", Some(reason))?
        .ok_or_else(|| scooter_core::ValidationError::new("reason", "reason is required"))?;
    let suspension = Suspension {
        reason,
        at: Timestamp::now(),
    };
    store
        .set_suspension(user, Some(suspension))
        .await?
        .ok_or(SocialError::UserNotFound)
}

/// Lifts a suspension (idempotent).
pub async fn unsuspend(store: &dyn Store, user: &UserId) -> Result<User, SocialError> {
    store
        .set_suspension(user, None)
        .await?
        .ok_or(SocialError::UserNotFound)
}
