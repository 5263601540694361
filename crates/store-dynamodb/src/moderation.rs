//! `ModerationStore`: reports (social table) and suspensions (users table profiles).
//!
//! Items (social table; prefixes private to this module):
//! - report `REP#id` / `_`: the report columns; gsi1 `REPS#open` or `REPS#resolved` /
//!   id (moderators' lists, newest first); once resolved by a moderator, gsi2
//!   `REPR#moderator` / id (to unlink the moderator when their account goes).
//! - open marker `REPO#reporter#type#target` / `_` (`report_id`): one open report per
//!   reporter and target, the uniqueness SQL gets from a partial unique index.
//! - target index `REPT#type#target` / id (`reporter_id`), present while the report is
//!   open: a strongly consistent query finds every open report on a target.
//! - user pointers `REPU#user` / `BY#id` (reports the user filed) and `ON#id` (reports
//!   about the user), for account deletion ([`DynamoStore::tail_reports`]).
//!
//! A suspension is an atomic head (profile `suspended_at`/`suspension_reason` set or
//! removed, plus a tail job) and a tail ([`DynamoStore::tail_recount`]) that walks the
//! user's follow edges and moves each in or out of the other end's counter, one flag
//! flip per edge with a condition on its old value (see `social.rs`).

use crate::db::Query;
use crate::item::{Item, ItemBuilder, Rec, get_s, n, s};
use crate::social::{COUNTED_FOLLOWERS, COUNTED_FOLLOWING, flag_unchanged};
use crate::write::Write;
use crate::{DynamoStore, REPLANS, kept_racing, keys, tail_job};
use async_trait::async_trait;
use scooter_core::notification::NewJob;
use scooter_core::report::{Report, Resolution};
use scooter_core::user::{Suspension, User};
use scooter_core::{Timestamp, UserId};
use scooter_store::{
    ModerationStore, ReportFilter, ReportOutcome, ResolveOutcome, StoreError, StoreResult,
};
use scooter_store_sql::rows;

/// Tail op: move a user's follow edges in or out of the other ends' counters.
pub(crate) const RECOUNT_OP: &str = "recount";
/// Tail op: close the open reports on a target that a resolution's head left over.
pub(crate) const CLOSE_REPORTS_OP: &str = "close_reports";

/// Other open reports closed in a resolution's own transaction (3 actions each); the
/// rest are closed by the `close_reports` tail.
const HEAD_REPORTS: usize = 25;
/// Edges recounted per transaction (2 actions each, plus one check).
const RECOUNT_CHUNK: usize = 40;

fn report_key(id: &str) -> String {
    format!("REP#{id}")
}

fn reports_in(open: bool) -> String {
    format!("REPS#{}", if open { "open" } else { "resolved" })
}

fn resolved_by_list(moderator: &str) -> String {
    format!("REPR#{moderator}")
}

fn open_marker(reporter: &str, target_type: &str, target: &str) -> String {
    format!("REPO#{reporter}#{target_type}#{target}")
}

fn target_index(target_type: &str, target: &str) -> String {
    format!("REPT#{target_type}#{target}")
}

fn user_reports(user: &str) -> String {
    format!("REPU#{user}")
}

/// The condition that a profile exists and is (`true`) or is not suspended.
pub(crate) fn suspended_cond(suspended: bool) -> &'static str {
    if suspended {
        "attribute_exists(#pk) AND attribute_exists(#suspended_at)"
    } else {
        "attribute_exists(#pk) AND attribute_not_exists(#suspended_at)"
    }
}

/// A report as stored, open.
fn report_item(r: &Report) -> Item {
    ItemBuilder::key(report_key(&r.id), keys::ONE)
        .s("id", &r.id)
        .opt_s("reporter_id", r.reporter.as_ref().map(UserId::as_str))
        .s("target_type", r.target_type.as_str())
        .s("target_id", &r.target_id)
        .opt_s("target_user_id", r.target_user.as_ref().map(UserId::as_str))
        .s("reason", r.reason.as_str())
        .opt_s("details", r.details.clone())
        .n("created_at", r.created_at.millis())
        .s("gsi1pk", reports_in(true))
        .s("gsi1sk", &r.id)
        .build()
}

/// The writes that close the open report `id` (filed by `reporter` on `target`) with
/// `resolution`: the report (noting `close_upto` when a tail closes the rest), its
/// marker, its target index item.
fn close_writes(
    table: &str,
    id: &str,
    reporter: Option<&str>,
    (target_type, target_id): (&str, &str),
    resolution: &Resolution,
    close_upto: Option<&str>,
) -> Vec<Write> {
    let mut set = "SET #resolved_at = :at, #resolution_action = :act, #gsi1pk = :state".to_owned();
    let mut values = vec![
        (":at", n(resolution.at.millis())),
        (":act", s(resolution.action.as_str())),
        (":state", s(reports_in(false))),
    ];
    if let Some(by) = &resolution.by {
        set.push_str(", #resolved_by = :by, #gsi2pk = :byl, #gsi2sk = :id");
        values.push((":by", s(by.as_str())));
        values.push((":byl", s(resolved_by_list(by.as_str()))));
        values.push((":id", s(id)));
    }
    if let Some(note) = &resolution.note {
        set.push_str(", #resolution_note = :note");
        values.push((":note", s(note.clone())));
    }
    if let Some(upto) = close_upto {
        set.push_str(", #close_upto = :upto");
        values.push((":upto", s(upto)));
    }
    let update = values.into_iter().fold(
        Write::update(table, &report_key(id), keys::ONE, set)
            .cond("attribute_exists(#pk) AND attribute_not_exists(#resolved_at)")
            .replan_on_fail(),
        |w, (k, v)| w.value(k, v),
    );
    let mut writes = vec![update];
    if let Some(r) = reporter {
        let marker = open_marker(r, target_type, target_id);
        writes.push(Write::delete(table, &marker, keys::ONE));
    }
    writes.push(Write::delete(
        table,
        &target_index(target_type, target_id),
        id,
    ));
    writes
}

/// One side of a user's follow edges, for the recount.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// `U#user / F#other`: `user` follows `other`; counted in `other`'s followers.
    Following,
    /// `U#user / FR#other`: `other` follows `user`; counted in `other`'s following.
    Followers,
}

impl Side {
    fn prefix(self) -> &'static str {
        match self {
            Side::Following => "F#",
            Side::Followers => "FR#",
        }
    }

    /// The flag on the forward item that says the edge is in `other`'s counter.
    fn flag(self) -> &'static str {
        match self {
            Side::Following => COUNTED_FOLLOWERS,
            Side::Followers => COUNTED_FOLLOWING,
        }
    }

    fn counter(self) -> &'static str {
        match self {
            Side::Following => "followers_count",
            Side::Followers => "following_count",
        }
    }

    /// The key of the forward item (which carries the flags).
    fn forward(self, user: &str, other: &str) -> (String, String) {
        match self {
            Side::Following => (keys::user(user), keys::follows(other)),
            Side::Followers => (keys::user(other), keys::follows(user)),
        }
    }
}

/// What a resolution comes to: an answer without writing, or the head transaction.
enum ResolvePlan {
    Decided(ResolveOutcome),
    Write {
        /// The report as the writes leave it.
        decided: Box<Report>,
        writes: Vec<Write>,
        /// The user whose suspended state changes (their edges need recounting).
        recount: Option<String>,
        /// Open reports on the target left for the `close_reports` tail.
        rest: bool,
    },
}

impl DynamoStore {
    async fn report_by_id(&self, id: &str) -> StoreResult<Option<Report>> {
        let item = self
            .db
            .get(&self.t.social, &report_key(id), keys::ONE)
            .await?;
        item.as_ref().map(|i| rows::report(&Rec(i))).transpose()
    }

    /// The update that suspends (keeping an earlier start, updating the reason) or
    /// reinstates a user whose profile exists.
    fn suspension_write(&self, user: &str, suspension: Option<&Suspension>) -> Write {
        let (pk, t) = (keys::user(user), &self.t.users);
        let w = match suspension {
            Some(s_) => Write::update(
                t,
                &pk,
                keys::PROFILE,
                "SET #suspended_at = if_not_exists(#suspended_at, :at), #suspension_reason = :r",
            )
            .value(":at", n(s_.at.millis()))
            .value(":r", s(s_.reason.clone())),
            None => Write::update(
                t,
                &pk,
                keys::PROFILE,
                "REMOVE #suspended_at, #suspension_reason",
            ),
        };
        w.cond("attribute_exists(#pk)").replan_on_fail()
    }

    /// Tail of a suspension change (op `recount`, arg the user id): moves every follow
    /// edge of `user` in or out of the counter at its other end, as the user's current
    /// state says. Each flip is conditioned on the flag's old value and the user's
    /// state, so concurrent follows, unfollows and recounts stay exact; resumable from
    /// any point, and a no-op once done.
    pub(crate) async fn tail_recount(&self, user: &str) -> StoreResult<()> {
        for side in [Side::Following, Side::Followers] {
            if !self.recount_side(user, side).await? {
                break;
            }
        }
        self.end_tail_job(RECOUNT_OP, user).await
    }

    /// Recounts one side, chunk by chunk; `false` once the user no longer exists (its
    /// deletion takes the edges out of the counts).
    async fn recount_side(&self, user: &str, side: Side) -> StoreResult<bool> {
        let q = Query::new(&self.t.social, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::user(user)))
            .value(":p", s(side.prefix()))
            .project("#sk")
            .page_size(u32::try_from(RECOUNT_CHUNK).unwrap_or(40));
        let mut start = None;
        loop {
            let (items, next) = self.db.query_page(&q, start).await?;
            let others: Vec<String> = items
                .iter()
                .filter_map(|i| get_s(i, "sk")?.strip_prefix(side.prefix()))
                .map(str::to_owned)
                .collect();
            if !self.recount_chunk(user, side, &others).await? {
                return Ok(false);
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(true),
            }
        }
    }

    /// Flips the flags of these edges that disagree with `user`'s state, in one
    /// transaction, planned again from fresh reads if anything moved meanwhile.
    async fn recount_chunk(&self, user: &str, side: Side, others: &[String]) -> StoreResult<bool> {
        if others.is_empty() {
            return Ok(true);
        }
        let keys: Vec<(String, String)> = others.iter().map(|o| side.forward(user, o)).collect();
        let mut users = others.to_vec();
        users.push(user.to_owned());
        for _ in 0..REPLANS {
            // The user's profile with the other ends', and the edges: two reads at once.
            let (forwards, profiles) = tokio::try_join!(
                self.db.batch_get(&self.t.social, &keys),
                self.profile_items(&users)
            )?;
            let Some(profile) = profiles.iter().find(|p| get_s(p, "id") == Some(user)) else {
                return Ok(false);
            };
            let suspended = profile.contains_key("suspended_at");
            let counted = !suspended;
            let live: std::collections::HashSet<&str> =
                profiles.iter().filter_map(|i| get_s(i, "id")).collect();
            let mut writes = Vec::new();
            let mut checked = false;
            for f in &forwards {
                let other = match side {
                    Side::Following => get_s(f, "followee_id"),
                    Side::Followers => get_s(f, "follower_id"),
                };
                let Some(other) = other else { continue };
                let read = crate::item::get_flag(f, side.flag());
                // A deleted other end has no counter left to correct.
                if read.unwrap_or(false) == counted || !live.contains(other) {
                    continue;
                }
                let (pk, sk) = side.forward(user, other);
                let flip = Write::update(
                    &self.t.social,
                    &pk,
                    &sk,
                    format!("SET #{} = :new", side.flag()),
                )
                .value(":new", crate::item::flag(counted));
                let (flip, unchanged) = flag_unchanged(flip, side.flag(), ":old", read);
                writes.push(flip.cond(unchanged));
                // A self-follow: the profile update carries the state condition.
                let cond = if other == user {
                    checked = true;
                    suspended_cond(suspended)
                } else {
                    "attribute_exists(#pk)"
                };
                writes.push(
                    Write::update(
                        &self.t.users,
                        &keys::user(other),
                        keys::PROFILE,
                        format!("ADD #{} :d", side.counter()),
                    )
                    .cond(cond)
                    .value(":d", n(if counted { 1 } else { -1 })),
                );
            }
            if writes.is_empty() {
                return Ok(true);
            }
            if !checked {
                writes.push(Write::check(
                    &self.t.users,
                    &keys::user(user),
                    keys::PROFILE,
                    suspended_cond(suspended),
                ));
            }
            if self.db.transact(writes).await?.is_ok() {
                return Ok(true);
            }
        }
        Err(kept_racing())
    }

    /// Tail of a resolution (op `close_reports`, arg the resolved report's id): closes,
    /// with the same resolution, the open reports on its target that were open when it
    /// was decided (ids up to its `close_upto`) and did not fit in its transaction.
    pub(crate) async fn tail_close_reports(&self, id: &str) -> StoreResult<()> {
        let item = self
            .db
            .get(&self.t.social, &report_key(id), keys::ONE)
            .await?;
        let decided = match &item {
            Some(i) => Some((
                rows::report(&Rec(i))?,
                get_s(i, "close_upto").map(str::to_owned),
            )),
            None => None,
        };
        if let Some((report, Some(upto))) = decided
            && let Some(resolution) = &report.resolution
        {
            self.close_open_reports(&report, &upto, resolution).await?;
        }
        self.end_tail_job(CLOSE_REPORTS_OP, id).await
    }

    async fn close_open_reports(
        &self,
        report: &Report,
        upto: &str,
        resolution: &Resolution,
    ) -> StoreResult<()> {
        let target = (report.target_type.as_str(), report.target_id.as_str());
        let q = Query::new(&self.t.social, "#pk = :pk AND #sk <= :upto")
            .value(":pk", s(target_index(target.0, target.1)))
            .value(":upto", s(upto));
        for open in self.db.query_all(&q, None).await? {
            let Some(other) = get_s(&open, "sk") else {
                continue;
            };
            let writes = close_writes(
                &self.t.social,
                other,
                get_s(&open, "reporter_id"),
                target,
                resolution,
                None,
            );
            // Cancelled: someone else decided or deleted it meanwhile.
            let _ = self.db.transact(writes).await?;
        }
        Ok(())
    }

    /// Reads and decides a resolution; the head's conditions fail if what was read
    /// changed, and the caller plans again.
    async fn plan_resolve(
        &self,
        id: &str,
        resolution: &Resolution,
        suspend: Option<&Suspension>,
    ) -> StoreResult<ResolvePlan> {
        let Some(report) = self.report_by_id(id).await? else {
            return Ok(ResolvePlan::Decided(ResolveOutcome::NotFound));
        };
        if report.resolution.is_some() {
            return Ok(ResolvePlan::Decided(ResolveOutcome::AlreadyResolved));
        }
        let t = &self.t.social;
        // Suspending needs the user the report names.
        let suspend = match (suspend, report.target_user.as_ref()) {
            (Some(sus), Some(user)) => Some((sus, user.as_str())),
            (Some(_), None) => return Ok(ResolvePlan::Decided(ResolveOutcome::TargetGone)),
            (None, _) => None,
        };
        let target = (report.target_type.as_str(), report.target_id.as_str());
        let q = Query::new(t, "#pk = :pk").value(":pk", s(target_index(target.0, target.1)));
        // That user's profile and the open reports on the target, at once.
        let (profile, open) = tokio::try_join!(
            async {
                match suspend {
                    Some((_, user)) => self.profile_of(user).await,
                    None => Ok(None),
                }
            },
            self.db.query_all(&q, None),
        )?;
        let mut recount = None;
        let mut writes = Vec::new();
        if let Some((sus, user)) = suspend {
            let Some(profile) = profile else {
                return Ok(ResolvePlan::Decided(ResolveOutcome::TargetGone));
            };
            writes.push(self.suspension_write(user, Some(sus)));
            if !profile.contains_key("suspended_at") {
                recount = Some(user.to_owned());
            }
        }
        let others: Vec<&Item> = open
            .iter()
            .filter(|i| get_s(i, "sk").is_some_and(|sk| sk != id))
            .collect();
        let rest = others.len() > HEAD_REPORTS;
        let now = Timestamp::now();
        let queue = |job: Option<NewJob>| async move {
            match job {
                Some(job) => self.job_writes(&job).await,
                None => Ok(Vec::new()),
            }
        };
        let (recount_job, close_job) = tokio::try_join!(
            queue(recount.as_deref().map(|u| tail_job(RECOUNT_OP, u, now))),
            queue(rest.then(|| tail_job(CLOSE_REPORTS_OP, id, now))),
        )?;
        writes.extend(recount_job);
        writes.extend(close_job);
        let upto = open.iter().filter_map(|i| get_s(i, "sk")).max();
        let reporter = report.reporter.as_ref().map(UserId::as_str);
        writes.extend(close_writes(
            t,
            id,
            reporter,
            target,
            resolution,
            upto.filter(|_| rest),
        ));
        for other in others.iter().take(HEAD_REPORTS) {
            let Some(oid) = get_s(other, "sk") else {
                continue;
            };
            writes.extend(close_writes(
                t,
                oid,
                get_s(other, "reporter_id"),
                target,
                resolution,
                None,
            ));
        }
        let decided = Report {
            resolution: Some(resolution.clone()),
            ..report
        };
        Ok(ResolvePlan::Write {
            decided: Box::new(decided),
            writes,
            recount,
            rest,
        })
    }

    /// Account deletion: the reports `user` filed go (with their markers, index items
    /// and pointers); reports about `user` and reports `user` resolved stay, without
    /// the link. Idempotent and resumable; the account-deletion tail calls it.
    pub(crate) async fn tail_reports(&self, user: &str) -> StoreResult<()> {
        let t = &self.t.social;
        let pk = user_reports(user);
        let q = Query::new(t, "#pk = :pk").value(":pk", s(pk.clone()));
        let pointers = self.db.query_all(&q, None).await?;
        for sk in pointers.iter().filter_map(|p| get_s(p, "sk")) {
            if let Some(id) = sk.strip_prefix("BY#") {
                self.delete_report(id).await?;
            } else if let Some(id) = sk.strip_prefix("ON#") {
                let unlink = Write::update(t, &report_key(id), keys::ONE, "REMOVE #target_user_id")
                    .cond("attribute_exists(#pk)");
                self.db.write(unlink, false).await?.ok();
            }
        }
        // Each handled: the pointers can go.
        let handled = pointers.iter().filter_map(|p| get_s(p, "sk"));
        self.db
            .delete_keys(t, handled.map(|sk| (pk.clone(), sk.to_owned())).collect())
            .await?;
        let q = Query::new(t, "#gsi2pk = :pk")
            .index("gsi2")
            .value(":pk", s(resolved_by_list(user)));
        for resolved in self.db.query_all(&q, None).await? {
            let Some(rpk) = get_s(&resolved, "pk") else {
                continue;
            };
            let unlink = Write::update(t, rpk, keys::ONE, "REMOVE #resolved_by, #gsi2pk, #gsi2sk")
                .cond("attribute_exists(#pk)");
            // Gone meanwhile: nothing to unlink.
            self.db.write(unlink, false).await?.ok();
        }
        Ok(())
    }

    /// Deletes one report with its marker, index item and the target user's pointer.
    async fn delete_report(&self, id: &str) -> StoreResult<()> {
        let t = &self.t.social;
        let Some(r) = self.report_by_id(id).await? else {
            return Ok(());
        };
        let (tt, tid) = (r.target_type.as_str(), r.target_id.as_str());
        let mut writes = vec![Write::delete(t, &report_key(id), keys::ONE)];
        if r.resolution.is_none() {
            if let Some(rep) = &r.reporter {
                writes.push(Write::delete(
                    t,
                    &open_marker(rep.as_str(), tt, tid),
                    keys::ONE,
                ));
            }
            writes.push(Write::delete(t, &target_index(tt, tid), id));
        }
        if let Some(tu) = &r.target_user {
            writes.push(Write::delete(
                t,
                &user_reports(tu.as_str()),
                &format!("ON#{id}"),
            ));
        }
        self.db
            .transact(writes)
            .await?
            .map_err(|_| StoreError::Backend("unconditional report delete cancelled".into()))
    }

    /// The writes that file `report`, with its marker written over `stale` (a marker
    /// whose report is no longer open), and the checks that the users it names exist.
    /// Returns the writes and the index of the marker write.
    fn report_writes(&self, report: &Report, stale: Option<&str>) -> (Vec<Write>, Option<usize>) {
        let t = &self.t.social;
        let (tt, tid) = (report.target_type.as_str(), report.target_id.as_str());
        let id = report.id.as_str();
        let mut writes = vec![
            Write::put_new(t, report_item(report)),
            Write::put(
                t,
                ItemBuilder::key(target_index(tt, tid), id)
                    .opt_s("reporter_id", report.reporter.as_ref().map(UserId::as_str))
                    .build(),
            ),
        ];
        let mut marker_at = None;
        if let Some(rep) = report.reporter.as_ref().map(UserId::as_str) {
            let marker = ItemBuilder::key(open_marker(rep, tt, tid), keys::ONE)
                .s("report_id", id)
                .build();
            let w = match stale {
                Some(old) => Write::put(t, marker)
                    .cond("attribute_not_exists(#pk) OR #report_id = :old")
                    .value(":old", s(old)),
                None => Write::put_new(t, marker),
            };
            marker_at = Some(writes.len());
            writes.push(w.replan_on_fail());
            let by = ItemBuilder::key(user_reports(rep), format!("BY#{id}")).build();
            writes.push(Write::put(t, by));
        }
        if let Some(tu) = report.target_user.as_ref().map(UserId::as_str) {
            let on = ItemBuilder::key(user_reports(tu), format!("ON#{id}")).build();
            writes.push(Write::put(t, on));
        }
        let mut named: Vec<&str> = report
            .reporter
            .iter()
            .chain(report.target_user.iter())
            .map(UserId::as_str)
            .collect();
        named.dedup();
        for u in named {
            writes.push(Write::check(
                &self.t.users,
                &keys::user(u),
                keys::PROFILE,
                "attribute_exists(#pk)",
            ));
        }
        (writes, marker_at)
    }
}

#[async_trait]
impl ModerationStore for DynamoStore {
    async fn create_report(&self, report: Report) -> StoreResult<ReportOutcome> {
        let t = &self.t.social;
        let (tt, tid) = (report.target_type.as_str(), report.target_id.as_str());
        for _ in 0..REPLANS {
            let mut stale = None;
            if let Some(rep) = report.reporter.as_ref().map(UserId::as_str) {
                let marker = self
                    .db
                    .get(t, &open_marker(rep, tt, tid), keys::ONE)
                    .await?;
                if let Some(old) = marker.as_ref().and_then(|m| get_s(m, "report_id")) {
                    match self.report_by_id(old).await? {
                        Some(r) if r.resolution.is_none() => {
                            return Ok(ReportOutcome::Duplicate(Box::new(r)));
                        }
                        _ => stale = Some(old.to_owned()),
                    }
                }
            }
            let (writes, marker_at) = self.report_writes(&report, stale.as_deref());
            let Err(c) = self.db.transact(writes).await? else {
                return Ok(ReportOutcome::Created(Box::new(report)));
            };
            if c.failed(0) {
                return Err(StoreError::Conflict("report"));
            }
            if marker_at.is_some_and(|i| c.failed(i)) {
                continue;
            }
            return Err(StoreError::MissingReference);
        }
        Err(kept_racing())
    }

    async fn get_report(&self, id: &str) -> StoreResult<Option<Report>> {
        self.report_by_id(id).await
    }

    async fn list_reports(
        &self,
        filter: ReportFilter,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Report>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let open = matches!(filter, ReportFilter::Open);
        let key = if after.is_some() {
            "#gsi1pk = :p AND #gsi1sk < :after"
        } else {
            "#gsi1pk = :p"
        };
        let mut q = Query::new(&self.t.social, key)
            .index("gsi1")
            .value(":p", s(reports_in(open)))
            .backward()
            .page_size(limit);
        if let Some(a) = after {
            q = q.value(":after", s(a));
        }
        let max = usize::try_from(limit).unwrap_or(usize::MAX);
        let items = self.db.query_all(&q, Some(max)).await?;
        items.iter().map(|i| rows::report(&Rec(i))).collect()
    }

    async fn resolve_report(
        &self,
        id: &str,
        resolution: &Resolution,
        suspend: Option<Suspension>,
    ) -> StoreResult<ResolveOutcome> {
        for _ in 0..REPLANS {
            let (decided, writes, recount, rest) =
                match self.plan_resolve(id, resolution, suspend.as_ref()).await? {
                    ResolvePlan::Decided(outcome) => return Ok(outcome),
                    ResolvePlan::Write {
                        decided,
                        writes,
                        recount,
                        rest,
                    } => (decided, writes, recount, rest),
                };
            if self.db.transact(writes).await?.is_err() {
                continue;
            }
            if let Some(user) = recount {
                self.tail_recount(&user).await?;
            }
            if rest {
                self.tail_close_reports(id).await?;
            }
            return Ok(ResolveOutcome::Resolved(decided));
        }
        Err(kept_racing())
    }

    async fn set_suspension(
        &self,
        user: &UserId,
        suspension: Option<Suspension>,
    ) -> StoreResult<Option<User>> {
        let u = user.as_str();
        let mut changed = false;
        let mut done = false;
        for _ in 0..REPLANS {
            let Some(profile) = self.profile_of(u).await? else {
                return Ok(None);
            };
            changed = profile.contains_key("suspended_at") != suspension.is_some();
            let mut writes = vec![self.suspension_write(u, suspension.as_ref())];
            if changed {
                let job = tail_job(RECOUNT_OP, u, Timestamp::now());
                writes.extend(self.job_writes(&job).await?);
            }
            if self.db.transact(writes).await?.is_ok() {
                done = true;
                break;
            }
        }
        if !done {
            return Err(kept_racing());
        }
        if changed {
            self.tail_recount(u).await?;
        }
        // Read again: the recount may have moved the user's own counters (a self-follow).
        let profile = self.profile_of(u).await?;
        profile.as_ref().map(|i| rows::user(&Rec(i))).transpose()
    }
}
