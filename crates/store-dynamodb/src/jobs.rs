//! `JobStore`: the outbox that workers claim with a lease.
//!
//! Items (jobs table, written by `outbox::job_writes_unchecked`): the job `J#id` / `_`
//! and, with a dedupe key, its marker `JD#dedupe` / `_` (`job_id`), present as long as
//! the job exists (dead ones included, as SQL's `UNIQUE (dedupe)` keeps a dead row's
//! key taken until the clean-up deletes it).
//!
//! The due list is `gsi1`, sharded: `DUE#n` / `ts13(due)#id`, where "due" is `run_at`
//! while pending and the lease end while running, so an expired lease is simply due
//! again. Dead jobs move to `DEAD` / `ts13(created_at)#id` (newest first for
//! `dead_jobs`, a range for the 30-day clean-up, which SQL bases on `created_at`).
//!
//! The index is only a hint (eventually consistent): a claim is an update of the base
//! item conditioned on the index entry it was read from (`gsi1pk`, `gsi1sk`,
//! `attempts` unchanged), so two workers never hold one job; completing and failing
//! are fenced by `attempts` and `state = running`.

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, Rec, get_n, get_s, n, s};
use crate::keys;
use crate::write::Write;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use scooter_core::Timestamp;
use scooter_core::notification::{Job, NewJob};
use scooter_store::{JobKinds, JobStore, StoreError, StoreResult};
use scooter_store_sql::rows;
use std::time::Duration;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Dead jobs older than this (by `created_at`) are deleted by the clean-up.
const DEAD_KEPT_MS: i64 = 30 * DAY_MS;
/// Conditional writes in flight at once (claims, the clean-up).
const PARALLEL: usize = 16;

/// One shard's walk of its due entries.
struct DueWalk {
    q: Query,
    next: Option<Item>,
    done: bool,
}

fn wants(kinds: JobKinds<'_>, item: &Item) -> bool {
    let kind = get_s(item, "kind").unwrap_or_default();
    match kinds {
        JobKinds::All => true,
        JobKinds::Only(k) => k.contains(&kind),
        JobKinds::Except(k) => !k.contains(&kind),
    }
}

fn sort_key(item: &Item) -> &str {
    get_s(item, "gsi1sk").unwrap_or_default()
}

impl DynamoStore {
    /// A job item by id (strongly consistent).
    async fn job_item(&self, id: &str) -> StoreResult<Option<Item>> {
        self.db.get(&self.t.jobs, &keys::job(id), keys::ONE).await
    }

    /// Deletes a job with its dedupe marker, if `cond` holds on the job; `false` if not.
    async fn delete_job(
        &self,
        job: &Item,
        cond: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> StoreResult<bool> {
        let id = crate::item::req_s(job, "id")?;
        let mut del = Write::delete(&self.t.jobs, &keys::job(&id), keys::ONE).cond(cond);
        for (name, v) in values {
            del = del.value(name, v);
        }
        let mut writes = vec![del];
        if let Some(d) = get_s(job, "dedupe") {
            writes.push(
                Write::delete(&self.t.jobs, &keys::job_dedupe(d), keys::ONE)
                    .cond("attribute_not_exists(#pk) OR #job_id = :id")
                    .value(":id", s(id.clone())),
            );
        }
        Ok(self.db.transact(writes).await?.is_ok())
    }

    /// Claims one candidate read from the index: only if the base item still has the
    /// entry and attempt count it was read with.
    async fn claim_one(&self, seen: &Item, until: Timestamp) -> StoreResult<Option<Job>> {
        let (Some(id), Some(pk), Some(attempts)) = (
            get_s(seen, "id"),
            get_s(seen, "gsi1pk"),
            get_n(seen, "attempts"),
        ) else {
            return Ok(None);
        };
        let w = Write::update(
            &self.t.jobs,
            &keys::job(id),
            keys::ONE,
            "SET #state = :running, #gsi1sk = :lease, #locked_until = :until ADD #attempts :one",
        )
        .cond("#gsi1pk = :pk AND #gsi1sk = :sk AND #attempts = :a")
        .value(":running", s("running"))
        .value(":lease", s(keys::at_then(until.millis(), id)))
        .value(":until", n(until.millis()))
        .value(":one", n(1))
        .value(":pk", s(pk))
        .value(":sk", s(sort_key(seen)))
        .value(":a", n(attempts));
        match self.db.write(w, true).await? {
            Ok(Some(item)) => rows::job(&Rec(&item)).map(Some),
            Ok(None) => Err(StoreError::Backend("claimed job came back empty".into())),
            Err(_) => Ok(None),
        }
    }

    /// One walk per shard over the entries due at `now` (`~` sorts after every id, so
    /// an entry due exactly at `now` is in). A page per shard is twice the claims
    /// wanted (races lost to other workers leave gaps); a lane of some kinds only reads
    /// bigger pages, since it skips the other kinds' entries.
    fn due_walks(&self, now: Timestamp, limit: u32, kinds: JobKinds<'_>) -> Vec<DueWalk> {
        let due = keys::at_then(now.millis(), "~");
        let least = if matches!(kinds, JobKinds::All) {
            4
        } else {
            25
        };
        let page = limit.saturating_mul(2).clamp(least, 200);
        (0..keys::JOB_SHARDS)
            .map(|shard| DueWalk {
                q: Query::new(&self.t.jobs, "#gsi1pk = :pk AND #gsi1sk <= :due")
                    .index("gsi1")
                    .value(":pk", s(keys::due(shard)))
                    .value(":due", s(due.clone()))
                    .page_size(page),
                next: None,
                done: false,
            })
            .collect()
    }

    /// Reads the next page of every unfinished shard walk: candidates of the kinds
    /// wanted, oldest due first.
    async fn next_candidates(
        &self,
        walks: &mut [DueWalk],
        kinds: JobKinds<'_>,
    ) -> StoreResult<Vec<Item>> {
        let reads = walks
            .iter()
            .filter(|w| !w.done)
            .map(|w| self.db.query_page(&w.q, w.next.clone()));
        let pages = futures_util::future::try_join_all(reads).await?;
        let mut found = Vec::new();
        for (walk, (items, next)) in walks.iter_mut().filter(|w| !w.done).zip(pages) {
            walk.done = next.is_none();
            walk.next = next;
            found.extend(items.into_iter().filter(|i| wants(kinds, i)));
        }
        found.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
        Ok(found)
    }

    /// Deletes dead jobs created before `cutoff`; returns how many went.
    async fn purge_dead_jobs(&self, cutoff: i64) -> StoreResult<u64> {
        let q = Query::new(&self.t.jobs, "#gsi1pk = :dead AND #gsi1sk < :bound")
            .index("gsi1")
            .value(":dead", s(keys::DEAD))
            .value(":bound", s(keys::at_then(cutoff, "")));
        let stale = self.db.query_all(&q, None).await?;
        let mut gone = 0;
        for chunk in stale.chunks(PARALLEL) {
            let done = futures_util::future::try_join_all(
                chunk
                    .iter()
                    .map(|j| self.delete_job(j, "#state = :dead", vec![(":dead", s("dead"))])),
            )
            .await?;
            gone += done.into_iter().filter(|&d| d).count() as u64;
        }
        Ok(gone)
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn enqueue_job(&self, job: NewJob) -> StoreResult<()> {
        for _ in 0..crate::REPLANS {
            let writes = self.job_writes(&job).await?;
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(()),
                // The dedupe key was taken meanwhile: the next plan finds it pending.
                Err(c) if c.replan => continue,
                Err(_) => {
                    return Err(StoreError::Backend(
                        format!("job id {} is taken", job.id).into(),
                    ));
                }
            }
        }
        Err(crate::kept_racing())
    }

    async fn claim_jobs_of(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
        kinds: JobKinds<'_>,
    ) -> StoreResult<Vec<Job>> {
        let until = now.plus_seconds(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX));
        let mut walks = self.due_walks(now, limit, kinds);
        let want = limit as usize;
        let mut claimed = Vec::new();
        let mut pool: std::collections::VecDeque<Item> = Default::default();
        while claimed.len() < want {
            if pool.is_empty() {
                if walks.iter().all(|w| w.done) {
                    break;
                }
                pool.extend(self.next_candidates(&mut walks, kinds).await?);
                continue;
            }
            // As many at once as are still wanted; a lost race just leaves a gap that
            // the next candidates fill.
            let take = (want - claimed.len()).min(pool.len()).min(PARALLEL);
            let batch: Vec<Item> = pool.drain(..take).collect();
            let won =
                futures_util::future::try_join_all(batch.iter().map(|c| self.claim_one(c, until)))
                    .await?;
            claimed.extend(won.into_iter().flatten());
        }
        Ok(claimed)
    }

    async fn complete_job(&self, id: &str, attempt: u32) -> StoreResult<()> {
        let Some(job) = self.job_item(id).await? else {
            return Ok(());
        };
        if get_n(&job, "attempts") == Some(i64::from(attempt))
            && get_s(&job, "state") == Some("running")
        {
            // A cancelled delete means the lease was taken over meanwhile: fenced.
            let values = vec![(":a", n(i64::from(attempt))), (":running", s("running"))];
            self.delete_job(&job, "#attempts = :a AND #state = :running", values)
                .await?;
        }
        Ok(())
    }

    async fn fail_job(
        &self,
        id: &str,
        attempt: u32,
        error: &str,
        run_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let mut w = match run_at {
            Some(t) => Write::update(
                &self.t.jobs,
                &keys::job(id),
                keys::ONE,
                "SET #state = :state, #run_at = :t, #gsi1sk = :sk, #last_error = :e REMOVE #locked_until",
            )
            .value(":state", s("pending"))
            .value(":t", n(t.millis()))
            .value(":sk", s(keys::at_then(t.millis(), id))),
            None => {
                // The dead list is ordered by creation, which only the item knows.
                let Some(job) = self.job_item(id).await? else {
                    return Ok(());
                };
                let created = get_n(&job, "created_at").unwrap_or_default();
                Write::update(
                    &self.t.jobs,
                    &keys::job(id),
                    keys::ONE,
                    "SET #state = :state, #gsi1pk = :dead, #gsi1sk = :sk, #last_error = :e REMOVE #locked_until",
                )
                .value(":state", s("dead"))
                .value(":dead", s(keys::DEAD))
                .value(":sk", s(keys::at_then(created, id)))
            }
        };
        w = w
            .cond("#attempts = :a AND #state = :running")
            .value(":a", n(i64::from(attempt)))
            .value(":running", s("running"))
            .value(":e", s(error));
        // A failed condition: another worker holds the job now (fenced), or it is gone.
        self.db.write(w, false).await?.ok();
        Ok(())
    }

    async fn purge_stale(&self, now: Timestamp) -> StoreResult<u64> {
        // Idempotency keys carry a `ttl` a day after their use (posts module): DynamoDB
        // deletes them, so they are not counted here.
        let dead = self.purge_dead_jobs(now.millis() - DEAD_KEPT_MS).await?;
        let sign_ins = self.purge_stale_sign_ins(now).await?;
        Ok(dead + sign_ins)
    }

    async fn dead_jobs(&self, limit: u32) -> StoreResult<Vec<Job>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = Query::new(&self.t.jobs, "#gsi1pk = :dead")
            .index("gsi1")
            .value(":dead", s(keys::DEAD))
            .backward()
            .page_size(limit);
        self.db
            .query_all(&q, Some(limit as usize))
            .await?
            .iter()
            .map(|i| rows::job(&Rec(i)))
            .collect()
    }
}
