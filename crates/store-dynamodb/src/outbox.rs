//! Writes that many use cases add to their own transaction: jobs (with their dedupe
//! markers) and notifications (with their dedupe markers and push jobs).
//!
//! SQL says `ON CONFLICT DO NOTHING`; a DynamoDB transaction has no "skip this action":
//! a failed condition cancels all of it. So the markers are read first (strongly
//! consistent), only new entries are written, each marker with a condition marked
//! [`Write::replan_on_fail`]; a marker that appears between the read and the write
//! cancels the transaction and the caller plans again (up to [`crate::REPLANS`] times).

use crate::DynamoStore;
use crate::item::{ItemBuilder, get_flag};
use crate::keys;
use crate::write::Write;
use scooter_core::Timestamp;
use scooter_core::ids::new_id;
use scooter_core::notification::{NewJob, NewNotification, PUSH_JOB_KIND};
use scooter_core::post::ReactionType;
use scooter_store::StoreResult;
use std::collections::HashSet;

impl DynamoStore {
    /// The writes that add `job` (and its dedupe marker): empty when a job with its
    /// dedupe key exists.
    pub(crate) async fn job_writes(&self, job: &NewJob) -> StoreResult<Vec<Write>> {
        if let Some(d) = &job.dedupe
            && self
                .db
                .get(&self.t.jobs, &keys::job_dedupe(d), keys::ONE)
                .await?
                .is_some()
        {
            return Ok(Vec::new());
        }
        Ok(self.job_writes_unchecked(job, Timestamp::now()))
    }

    /// The writes that add `job`, assuming its dedupe key is free (a fresh key, or one
    /// just read absent); the marker's condition still guards a race.
    pub(crate) fn job_writes_unchecked(&self, job: &NewJob, now: Timestamp) -> Vec<Write> {
        let shard = fastrand::u32(0..keys::JOB_SHARDS);
        let item = ItemBuilder::key(keys::job(&job.id), keys::ONE)
            .s("id", &job.id)
            .s("kind", &job.kind)
            .s("payload", &job.payload)
            .opt_s("dedupe", job.dedupe.clone())
            .s("state", "pending")
            .n("run_at", job.run_at.millis())
            .n("attempts", 0)
            .n("created_at", now.millis())
            .n("shard", i64::from(shard))
            .s("gsi1pk", keys::due(shard))
            .s("gsi1sk", keys::at_then(job.run_at.millis(), &job.id))
            .build();
        let mut writes = vec![Write::put_new(&self.t.jobs, item)];
        if let Some(d) = &job.dedupe {
            let marker = ItemBuilder::key(keys::job_dedupe(d), keys::ONE)
                .s("job_id", &job.id)
                .build();
            writes.push(Write::put_new(&self.t.jobs, marker).replan_on_fail());
        }
        writes
    }

    /// The writes that add each notification new under its dedupe key, with a push job
    /// when its recipient wants push. Recipients that no longer exist get nothing.
    pub(crate) async fn notification_writes(
        &self,
        notes: &[NewNotification],
    ) -> StoreResult<Vec<Write>> {
        if notes.is_empty() {
            return Ok(Vec::new());
        }
        let markers: Vec<(String, String)> = notes
            .iter()
            .map(|n| {
                (
                    keys::notification_dedupe(n.recipient.as_str(), &n.dedupe),
                    keys::ONE.to_owned(),
                )
            })
            .collect();
        let taken: HashSet<String> = self
            .db
            .batch_get(&self.t.notifications, &markers)
            .await?
            .iter()
            .filter_map(|i| crate::item::get_s(i, "pk").map(str::to_owned))
            .collect();
        let profiles: Vec<(String, String)> = notes
            .iter()
            .map(|n| (keys::user(n.recipient.as_str()), keys::PROFILE.to_owned()))
            .collect();
        let wants_push: std::collections::HashMap<String, bool> = self
            .db
            .batch_get(&self.t.users, &profiles)
            .await?
            .iter()
            .filter_map(|i| {
                Some((
                    crate::item::get_s(i, "id")?.to_owned(),
                    get_flag(i, "pref_push").unwrap_or(false),
                ))
            })
            .collect();
        let now = Timestamp::now();
        let mut writes = Vec::new();
        let mut seen = HashSet::new();
        for (n, (marker, _)) in notes.iter().zip(&markers) {
            let Some(&push) = wants_push.get(n.recipient.as_str()) else {
                continue;
            };
            if taken.contains(marker) || !seen.insert(marker.clone()) {
                continue;
            }
            writes.push(Write::put_new(&self.t.notifications, notification_item(n)));
            writes.push(
                Write::put_new(
                    &self.t.notifications,
                    ItemBuilder::key(marker.clone(), keys::ONE)
                        .s("notification_id", &n.id)
                        .build(),
                )
                .replan_on_fail(),
            );
            if push {
                let job = NewJob {
                    id: new_id(),
                    kind: PUSH_JOB_KIND.to_owned(),
                    payload: n.id.clone(),
                    dedupe: Some(format!("push:{}", n.id)),
                    run_at: n.created_at,
                };
                writes.extend(self.job_writes_unchecked(&job, now));
            }
        }
        Ok(writes)
    }
}

/// A notification as stored: the SQL columns, the recipient's list (`gsi1`) and, while
/// unread, the unread list (`gsi2`).
pub(crate) fn notification_item(n: &NewNotification) -> crate::item::Item {
    let recipient = n.recipient.as_str();
    ItemBuilder::key(keys::notification(&n.id), keys::ONE)
        .s("id", &n.id)
        .s("recipient_id", recipient)
        .s("kind", n.kind.as_str())
        .s("actor_id", n.actor.as_str())
        .opt_s("post_id", n.post_id.clone())
        .opt_s("comment_id", n.comment_id.clone())
        .opt_s("reaction", n.reaction.map(ReactionType::as_str))
        .s("dedupe", &n.dedupe)
        .n("created_at", n.created_at.millis())
        .s("gsi1pk", keys::notifications_of(recipient))
        .s("gsi1sk", n.id.clone())
        .s("gsi2pk", keys::unread_of(recipient))
        .s("gsi2sk", n.id.clone())
        .build()
}
