//! Reports: one open per reporter and target, resolution, listing, deletion.

use crate::fixtures::{Db, user_with_handle};
use scooter_core::ids::new_id;
use scooter_core::report::{ModerationAction, Report, ReportReason, ReportTarget, Resolution};
use scooter_core::user::Suspension;
use scooter_core::{Timestamp, UserId};
use scooter_store::{ReportFilter, ReportOutcome, ResolveOutcome};

fn report(reporter: &UserId, target: &UserId, reason: ReportReason) -> Report {
    Report {
        id: new_id(),
        reporter: Some(reporter.clone()),
        target_type: ReportTarget::User,
        target_id: target.to_string(),
        target_user: Some(target.clone()),
        reason,
        details: Some("details".into()),
        created_at: Timestamp::now(),
        resolution: None,
    }
}

/// A reporter has at most one open report per target; others may report it too.
pub async fn one_open_report_per_reporter_and_target(db: Db) {
    let a = user_with_handle(&db, "ra_user").await;
    let b = user_with_handle(&db, "rb_user").await;
    let t = user_with_handle(&db, "rt_user").await;
    let first = db
        .create_report(report(&a, &t, ReportReason::Spam))
        .await
        .unwrap();
    let ReportOutcome::Created(first) = first else {
        panic!("{first:?}")
    };
    let again = db
        .create_report(report(&a, &t, ReportReason::Hate))
        .await
        .unwrap();
    assert_eq!(again, ReportOutcome::Duplicate(first.clone()));
    assert!(matches!(
        db.create_report(report(&b, &t, ReportReason::Spam))
            .await
            .unwrap(),
        ReportOutcome::Created(_)
    ));
    let open = db.list_reports(ReportFilter::Open, None, 10).await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(db.get_report(&first.id).await.unwrap(), Some(*first));
}

/// Resolving closes every open report on the target at once, only once; a new report
/// may then be filed.
pub async fn resolution_closes_all_open_reports_on_the_target(db: Db) {
    let a = user_with_handle(&db, "qa_user").await;
    let b = user_with_handle(&db, "qb_user").await;
    let mod_ = user_with_handle(&db, "qmod").await;
    let t = user_with_handle(&db, "qt_user").await;
    let other = user_with_handle(&db, "qo_user").await;
    let first = report(&a, &t, ReportReason::Spam);
    let first_id = first.id.clone();
    db.create_report(first).await.unwrap();
    db.create_report(report(&b, &t, ReportReason::Spam))
        .await
        .unwrap();
    db.create_report(report(&a, &other, ReportReason::Spam))
        .await
        .unwrap();
    let resolution = Resolution {
        action: ModerationAction::Dismiss,
        note: Some("fine".into()),
        by: Some(mod_.clone()),
        at: Timestamp::now(),
    };
    let out = db
        .resolve_report(&first_id, &resolution, None)
        .await
        .unwrap();
    let ResolveOutcome::Resolved(decided) = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        decided.resolution.as_ref().map(|r| r.action),
        Some(ModerationAction::Dismiss)
    );
    assert_eq!(
        db.resolve_report(&first_id, &resolution, None)
            .await
            .unwrap(),
        ResolveOutcome::AlreadyResolved
    );
    assert_eq!(
        db.resolve_report("nope", &resolution, None).await.unwrap(),
        ResolveOutcome::NotFound
    );
    let open = db.list_reports(ReportFilter::Open, None, 10).await.unwrap();
    assert_eq!(
        open.iter().map(|r| r.target_id.clone()).collect::<Vec<_>>(),
        vec![other.to_string()]
    );
    let resolved = db
        .list_reports(ReportFilter::Resolved, None, 10)
        .await
        .unwrap();
    assert_eq!(resolved.len(), 2);
    assert!(matches!(
        db.create_report(report(&a, &t, ReportReason::Spam))
            .await
            .unwrap(),
        ReportOutcome::Created(_)
    ));
}

/// A suspension decided on a report lands with the resolution, or not at all.
pub async fn a_suspension_from_a_report_is_atomic(db: Db) {
    let a = user_with_handle(&db, "sa_user").await;
    let t = user_with_handle(&db, "st_user").await;
    let fan = user_with_handle(&db, "sf_user").await;
    db.follow(&fan, &t, Timestamp::now(), None).await.unwrap();
    let r = report(&a, &t, ReportReason::Harassment);
    let id = r.id.clone();
    db.create_report(r).await.unwrap();
    let resolution = Resolution {
        action: ModerationAction::SuspendUser,
        note: None,
        by: None,
        at: Timestamp::now(),
    };
    let suspension = Suspension {
        reason: "harassment".into(),
        at: Timestamp::now(),
    };
    let out = db
        .resolve_report(&id, &resolution, Some(suspension.clone()))
        .await
        .unwrap();
    assert!(matches!(out, ResolveOutcome::Resolved(_)));
    let target = db.get_user(&t).await.unwrap().expect("user");
    assert_eq!(
        target.suspension.map(|s| s.reason),
        Some("harassment".into())
    );
    assert_eq!(
        db.get_user(&fan)
            .await
            .unwrap()
            .expect("user")
            .following_count,
        0
    );
    // A report whose account is gone resolves to TargetGone and writes nothing.
    let gone = user_with_handle(&db, "sg_user").await;
    let r = report(&a, &gone, ReportReason::Spam);
    let gone_id = r.id.clone();
    db.create_report(r).await.unwrap();
    db.delete_user(&gone, Timestamp::now()).await.unwrap();
    let out = db
        .resolve_report(&gone_id, &resolution, Some(suspension))
        .await
        .unwrap();
    assert_eq!(out, ResolveOutcome::TargetGone);
    let still = db.get_report(&gone_id).await.unwrap().expect("report");
    assert!(still.resolution.is_none());
}

/// Reports page newest first by id.
pub async fn reports_page_newest_first(db: Db) {
    let t = user_with_handle(&db, "pt_user").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = user_with_handle(&db, &format!("pr{i}")).await;
        let made = report(&r, &t, ReportReason::Other);
        ids.push(made.id.clone());
        db.create_report(made).await.unwrap();
    }
    ids.reverse();
    let first = db.list_reports(ReportFilter::Open, None, 3).await.unwrap();
    let rest = db
        .list_reports(ReportFilter::Open, Some(&first[2].id), 3)
        .await
        .unwrap();
    let seen: Vec<String> = first.into_iter().chain(rest).map(|r| r.id).collect();
    assert_eq!(seen, ids);
}

/// A reporter's reports go with their account; reports about a deleted account stay
/// without the link to it.
pub async fn deletion_removes_own_reports_and_keeps_reports_about_the_user(db: Db) {
    let reporter = user_with_handle(&db, "dr_user").await;
    let target = user_with_handle(&db, "dt_user").await;
    let witness = user_with_handle(&db, "dw_user").await;
    db.create_report(report(&reporter, &witness, ReportReason::Spam))
        .await
        .unwrap();
    let about = report(&witness, &target, ReportReason::Harassment);
    let about_id = about.id.clone();
    db.create_report(about).await.unwrap();
    db.delete_user(&reporter, Timestamp::now()).await.unwrap();
    db.delete_user(&target, Timestamp::now()).await.unwrap();
    let open = db.list_reports(ReportFilter::Open, None, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, about_id);
    assert_eq!(open[0].target_user, None);
    assert_eq!(open[0].target_id, target.to_string());
}
